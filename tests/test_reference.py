"""Checks of the transcribed CIFAR numbers in ltnb.reference."""
import pytest

from ltnb.reference import (DATASETS, KEYS, PAPERS, REPORTED, SPLITS, Reported, literature,
                            reported)


def _one(**kw):
    df = reported(**kw)
    assert len(df) == 1, df
    return df.iloc[0]


@pytest.mark.parametrize('kw, value', [
    # GCL Table 1: GCL on CIFAR-10-LT, imbalance 100
    (dict(paper='gcl', table='Table 1', method='GCL', dataset='cifar10', imb=100), 82.68),
    # GCL Table 1: CE loss on CIFAR-100-LT, imbalance 50 (printed with one decimal)
    (dict(paper='gcl', table='Table 1', method='CE loss', dataset='cifar100', imb=50), 43.9),
    # MARR Table 2: MARR on CIFAR-100-LT, imbalance 200
    (dict(paper='marr', table='Table 2', method='MARR', dataset='cifar100', imb=200), 47.4),
    # MARR Table 2: Softmax on CIFAR-10-LT, imbalance 100
    (dict(paper='marr', table='Table 2', method='Softmax', dataset='cifar10', imb=100), 78.7),
    # angular Table 1: L2A_S1 tail accuracy on CIFAR10-LT, beta=100
    (dict(paper='angular', table='Table 1', method='L2A_S1', dataset='cifar10', imb=100,
          split='tail'), 62.71),
    # angular Table 1: MiSLAS_S2 head accuracy on CIFAR100-LT, beta=10
    (dict(paper='angular', table='Table 1', method='MiSLAS_S2', dataset='cifar100', imb=10,
          split='head'), 66.11),
    # angular Table 2: ATL_all on CIFAR100-LT
    (dict(paper='angular', table='Table 2', method='ATL_all', dataset='cifar100', imb=100), 47.11),
    # LGLA Table 1 (CIFAR-100 columns come first): NCL on CIFAR-10-LT IF=50
    (dict(paper='lgla', table='Table 1', method='NCL', dataset='cifar10', imb=50), 87.3),
    (dict(paper='lgla', table='Table 1', method='Ours (GC)', dataset='cifar100', imb=100), 57.2),
    # LGLA Table 5: CLA + AAW
    (dict(paper='lgla', table='Table 5', method='CLA + AAW', dataset='cifar100', imb=100), 57.15),
    # whitening Table 1: CW & LDAM on CIFAR-10-LT at imbalance 1000
    (dict(paper='whitening', table='Table 1', method='Ours (w/CW & LDAM)', dataset='cifar10',
          imb=1000), 62.8),
    # whitening Table 2: BET & LDAM & CW on CIFAR-100-LT at 10
    (dict(paper='whitening', table='Table 2', method='Ours (w/BET & LDAM & CW)',
          dataset='cifar100', imb=10), 60.0),
])
def test_specific_cells(kw, value):
    assert _one(**kw)['value'] == value


def test_gcl_ablation_rows():
    t3 = reported(paper='gcl', table=3)
    assert sorted(t3['value']) == [79.21, 80.80, 82.31, 82.68]
    t5 = reported(paper='gcl', table='Table 5')
    assert dict(zip(t5['method'], t5['value']))['GCL (w/o RT)'] == 80.52


def test_records_are_valid():
    assert len(REPORTED) > 400
    assert set(PAPERS) == {'angular', 'marr', 'lgla', 'gcl', 'whitening'}
    for r in REPORTED:
        assert isinstance(r, Reported)
        assert r.paper in PAPERS, r
        assert r.dataset in DATASETS, r
        assert r.split in SPLITS, r
        assert isinstance(r.imb, int) and r.imb >= 1, r
        assert r.table.startswith('Table '), r
        assert r.method, r
        if r.metric == 'top1':
            assert 0 < r.value <= 100, r
        assert r.key is None or r.key in KEYS


def test_every_paper_has_records():
    for paper in PAPERS:
        assert len(reported(paper=paper)) > 0, paper


def test_no_duplicate_cells():
    cells = [(r.paper, r.table, r.method, r.dataset, r.imb, r.split, r.metric, r.setting)
             for r in REPORTED]
    assert len(cells) == len(set(cells))


def test_split_rows_add_up_to_the_table():
    # angular Table 1 has head/mid/tail/overall for 4 methods x 3 imbalances x 2 datasets
    df = reported(paper='angular', table='Table 1')
    assert len(df) == 4 * 4 * 3 * 2
    assert set(df['split']) == {'head', 'mid', 'tail', 'overall'}


def test_reported_filters():
    df = reported(paper='marr', dataset='cifar10', imb=200)
    assert len(df) > 0
    assert set(df['paper']) == {'marr'} and set(df['dataset']) == {'cifar10'}
    assert set(df['imb']) == {200}
    assert list(df.columns) == ['paper', 'table', 'method', 'dataset', 'imb', 'value', 'split',
                                'metric', 'key', 'setting', 'note']
    # aliases for dataset and table spelling
    assert len(reported(paper='marr', dataset='CIFAR-10-LT', imb=200)) == len(df)
    assert reported(paper='gcl', table=1).equals(reported(paper='gcl', table='Table 1'))
    assert set(reported(key='ce')['key']) == {'ce'}
    assert set(reported(split='few')['split']) <= {'few'}
    assert len(reported()) == len(REPORTED)


@pytest.mark.parametrize('kw', [dict(dataset='imagenet'), dict(dataset='cifar1000'),
                                dict(paper='nope'), dict(split='all')])
def test_reported_rejects_unknown_values(kw):
    with pytest.raises(ValueError):
        reported(**kw)


def test_literature_ldam_drw():
    df = literature('ldam_drw', 'cifar10', 100)
    assert list(df.columns)[:4] == ['paper', 'table', 'method', 'value']
    assert len(df) >= 2 and df['paper'].nunique() >= 2
    assert dict(zip(df['paper'], df['value'])) == {'lgla': 77.0, 'gcl': 77.03}


def test_literature_other_methods():
    ce = literature('ce', 'cifar100', 100)
    assert set(ce['paper']) == {'marr', 'gcl', 'whitening'}
    assert literature('gcl', 'cifar10', 100)['value'].eq(82.68).all()
    assert len(literature('marr', 'cifar10', 50)) == 0
    with pytest.raises(ValueError):
        literature('not_a_method', 'cifar10', 100)
    with pytest.raises(ValueError):
        literature('ce', 'imagenet', 100)
