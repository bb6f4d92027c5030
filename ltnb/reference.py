"""Numbers the five papers report on CIFAR-10-LT / CIFAR-100-LT, as plain data.

Every row of every CIFAR table of the five papers is transcribed here, one
:class:`Reported` record per cell: the paper's own methods, the baselines it
compares against and its CIFAR ablations.  ImageNet-LT, iNaturalist and Places
tables are left out.  Values are written exactly as printed (top-1 accuracy in %),
cells printed as ``-`` are skipped, and a table that splits classes into
head/mid/tail (or many/medium/few) gives one record per split.

``key`` links a row to the book's canonical method names (``'ce'``, ``'ldam_drw'``,
``'gcl'``, ...).  It is set only where the printed row is unambiguously that
method; in hyper-parameter sweeps only the configuration the paper reports as its
method carries the key, the other settings keep ``key=None`` (their ``setting``
says what changed).  Use :func:`reported` to filter the records and
:func:`literature` to collect what all papers report for one method and setting.

Sources: the PDF-extracted texts in ``shared/papers`` (see its README); where the
extraction was ambiguous the record's ``note`` says how it was read.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

PAPERS = {
    'angular': ('Leveraging Angular Information Between Feature and Classifier for '
                'Long-tailed Learning: A Prediction Reformulation Approach '
                '(Haoxuan Wang, Junchi Yan; Shanghai Jiao Tong University; preprint, '
                'venue not printed in the text)'),
    'marr': ('Margin Rectification for Long-Tailed Visual Recognition '
             '(anonymous authors; manuscript under double-blind review)'),
    'lgla': ('Local and Global Logit Adjustments for Long-Tailed Learning '
             '(Yingfan Tao, Jingna Sun, Hao Yang, Li Chen, Xu Wang, Wenming Yang, '
             'Daniel Du, Min Zheng; ICCV 2023)'),
    'gcl': ('Long-tailed Visual Recognition via Gaussian Clouded Logit Adjustment '
            '(Mengke Li, Yiu-ming Cheung, Yang Lu; CVPR 2022)'),
    'whitening': ('You Only Need End-to-End Training for Long-Tailed Recognition '
                  '(Zhiwei Zhang; preprint, venue not printed in the text)'),
}

DATASETS = ('cifar10', 'cifar100')
SPLITS = ('overall', 'many', 'medium', 'few', 'head', 'mid', 'tail')


@dataclass(frozen=True)
class Reported:
    """One number printed in one cell of a paper's CIFAR table."""

    paper: str        # chapter name: 'angular' | 'marr' | 'lgla' | 'gcl' | 'whitening'
    table: str        # e.g. 'Table 2'
    method: str       # method name as printed in the paper's table
    dataset: str      # 'cifar10' | 'cifar100'
    imb: int          # imbalance factor, e.g. 100
    value: float      # number as printed (accuracy in %, unless metric says otherwise)
    split: str = 'overall'   # 'overall' | 'many' | 'medium' | 'few' | 'head' | 'mid' | 'tail'
    metric: str = 'top1'     # 'top1' or e.g. 'params'
    key: str | None = None   # canonical book key when the row is one of the book's methods
    setting: str = ''        # extra setting info, e.g. 'stage 1', 's=0.24, sine F'
    note: str = ''           # e.g. '* quoted from the original paper', extraction caveats


C10, C100 = 'cifar10', 'cifar100'
_ = None  # a cell printed as '-'


def _table(paper, table, cols, rows, setting='', note=''):
    """Expand a compact table into records.

    ``cols`` lists one ``(dataset, imb)``, ``(dataset, imb, split)`` or
    ``(dataset, imb, split, column_setting)`` per value column; ``rows`` lists
    ``(method, key, values)`` or ``(method, key, values, {'setting': .., 'note': ..})``.
    A row's setting/note replaces the table-wide one; a column setting is appended.
    """
    out = []
    for row in rows:
        method, key, values = row[:3]
        extra = row[3] if len(row) > 3 else {}
        if len(values) != len(cols):
            raise AssertionError(f'{paper} {table} {method}: {len(values)} values for {len(cols)} columns')
        for col, value in zip(cols, values):
            if value is None:
                continue
            dataset, imb = col[0], col[1]
            split = col[2] if len(col) > 2 else 'overall'
            row_setting = extra.get('setting', setting)
            if len(col) > 3 and col[3]:
                row_setting = f'{row_setting}, {col[3]}' if row_setting else col[3]
            out.append(Reported(paper=paper, table=table, method=method, dataset=dataset,
                                imb=imb, value=float(value), split=split,
                                metric=extra.get('metric', 'top1'), key=key,
                                setting=row_setting, note=extra.get('note', note)))
    return out


def _hmto(dataset, imbs):
    """Head/Mid/Tail/Overall columns for each imbalance factor (angular Table 1)."""
    return [(dataset, imb, split) for imb in imbs for split in ('head', 'mid', 'tail', 'overall')]


_R = []

# --------------------------------------------------------------------------- angular
_ANG_T1_NOTE = ('MiSLAS rows are the authors\' re-implementation; head/mid/tail = class indices '
                '[0,3)/[3,7)/[7,10) on CIFAR-10, [0,36)/[36,71)/[71,100) on CIFAR-100; '
                'mean of 3 seeds')
_MISLAS_S1 = {'setting': 'ResNet-32, stage 1',
              'note': 'first (mixup representation-learning) stage of MiSLAS, re-implemented; '
                      'no canonical key'}
_R += _table('angular', 'Table 1', _hmto(C10, (100, 50, 10)), [
    ('MiSLAS_S1', _, [95.27, 72.96, 44.77, 71.19, 94.94, 78.43, 59.83, 77.81,
                      95.58, 85.48, 84.28, 88.15], _MISLAS_S1),
    ('L2A_S1', 'l2a', [93.56, 77.66, 62.71, 77.94, 94.09, 80.36, 73.42, 82.40,
                       94.29, 86.30, 87.78, 89.14], {'setting': 'ResNet-32, stage 1'}),
    ('MiSLAS_S2', 'mislas', [91.32, 80.18, 72.01, 81.07, 91.60, 82.81, 81.02, 84.91,
                             92.99, 87.35, 90.73, 90.06], {'setting': 'ResNet-32, stage 2'}),
    ('L2A_S2', 'l2a', [85.42, 79.83, 81.89, 82.13, 88.94, 82.23, 85.94, 85.36,
                       91.23, 87.10, 92.09, 89.84], {'setting': 'ResNet-32, stage 2'}),
], note=_ANG_T1_NOTE)
_R += _table('angular', 'Table 1', _hmto(C100, (100, 50, 10)), [
    ('MiSLAS_S1', _, [68.00, 36.51, 5.55, 38.87, 69.35, 44.04, 12.09, 43.89,
                      71.88, 58.61, 38.99, 57.70], _MISLAS_S1),
    ('L2A_S1', 'l2a', [67.06, 38.14, 8.07, 39.83, 68.33, 43.97, 15.90, 44.60,
                       70.86, 59.66, 40.59, 58.16], {'setting': 'ResNet-32, stage 1'}),
    ('MiSLAS_S2', 'mislas', [62.39, 47.50, 24.00, 46.05, 62.20, 53.37, 35.10, 51.25,
                             66.11, 62.26, 55.15, 61.58], {'setting': 'ResNet-32, stage 2'}),
    ('L2A_S2', 'l2a', [59.56, 44.89, 27.79, 45.21, 60.25, 48.06, 37.38, 49.35,
                       65.81, 61.60, 55.72, 61.41], {'setting': 'ResNet-32, stage 2'}),
], note=_ANG_T1_NOTE)

_R += _table('angular', 'Table 2', [(C10, 100), (C100, 100)], [
    ('Focal Loss', 'focal', [70.3, 38.4]),
    ('L2RW', _, [74.1, 40.2]),
    ('CB Loss', _, [74.5, 39.6], {'note': 'class-balanced loss (Cui et al. 2019); loss variant not stated'}),
    ('RCBM-CE', _, [76.4, 43.3]),
    ('BBN', 'bbn', [79.8, 42.5]),
    ('TSC', _, [79.7, 43.8]),
    ('TDE', 'tde', [80.6, 44.1]),
    ('MiSLAS_S1', _, [71.19, 38.87], {'setting': 'ResNet-32, stage 1',
                                      'note': 're-implemented; MiSLAS first stage, no canonical key'}),
    ('MiSLAS_S2', 'mislas', [81.07, 46.05], {'setting': 'ResNet-32, stage 2', 'note': 're-implemented'}),
    ('L2A_S1', 'l2a', [77.94, 39.83], {'setting': 'ResNet-32, stage 1'}),
    ('L2A_S2', 'l2a', [82.13, 45.21], {'setting': 'ResNet-32, stage 2'}),
    ('ABS', 'abs', [82.01, 43.88]),
    ('ATL_AEM', 'atl_aem', [78.23, 40.77]),
    ('ATL_ALAS', 'atl_alas', [82.35, 46.54]),
    ('ATL_all', 'atl', [82.60, 47.11]),
], setting='ResNet-32')

_S = (0, 0.04, 0.08, 0.12, 0.16, 0.20, 0.24, 0.28, 0.32)
_ANG_T5_NOTE = ('imbalance factor not printed; 100 inferred (s=0.24 / s=0.20 equal ABS in '
                'Table 2, beta=100)')
for _ds, _form, _best, _vals in (
        (C10, 'sine', 0.24, [76.78, 77.90, 79.18, 80.39, 81.56, 81.67, 82.01, 81.43, 80.41]),
        (C100, 'linear', 0.20, [39.83, 41.14, 42.46, 42.97, 43.65, 43.88, 42.92, 41.22, 38.59])):
    for _s, _v in zip(_S, _vals):
        _note = _ANG_T5_NOTE
        if _s == 0:
            _note += '; s=0 means no re-weighting (L2A_S1 in Tables 1/2 prints 77.94 / 39.83)'
        _R += _table('angular', 'Table 5', [(_ds, 100)], [
            ('ABS', 'abs' if _s == _best else _, [_v],
             {'setting': f'ResNet-32, s={_s:g}, {_form} F', 'note': _note})])

_TAU = (0.25, 0.50, 0.75, 1.00, 1.25)
for _form, _vals in (('linear', [46.31, 46.52, 46.50, 46.18, 45.85]),
                     ('concave', [46.01, 46.29, 46.54, 46.38, 45.93])):
    for _t, _v in zip(_TAU, _vals):
        _R += _table('angular', 'Table 6', [(C100, 100)], [
            ('ATL_ALAS', 'atl_alas' if (_form, _t) == ('concave', 0.75) else _, [_v],
             {'setting': f'ResNet-32, tau={_t:.2f}, {_form} f',
              'note': (f'table rows are labelled only "{_form.capitalize()}"; imbalance factor not '
                       'printed, 100 inferred (concave tau=0.75 equals ATL_ALAS in Table 2)')})])

# --------------------------------------------------------------------------- marr
_R += _table('marr', 'Table 2', [(C10, 100), (C10, 200), (C100, 100), (C100, 200)], [
    ('Softmax', 'ce', [78.7, 74.4, 45.3, 41.0],
     {'setting': 'ResNet-32, standard training (CE, instance-balanced sampling)'}),
    ('Class Balanced Sampling (CBS)', _, [77.8, 68.3, 42.6, 37.8]),
    ('Class Balanced Weighting (CBW)', _, [78.6, 72.5, 42.3, 36.7]),
    ('Class Balanced Loss', _, [78.2, 72.6, 44.6, 39.9]),
    ('Focal Loss', 'focal', [77.1, 71.8, 43.8, 40.2]),
    ('LADE', 'lade', [81.8, 76.9, 45.4, 43.6]),
    ('LDAM', 'ldam', [78.9, 73.6, 46.1, 41.3],
     {'setting': 'ResNet-32', 'note': 'printed as "LDAM"; whether DRW was used is not stated'}),
    ('Equalization Loss', _, [78.5, 74.6, 47.4, 43.3]),
    ('Balanced Softmax', 'balanced_softmax', [83.1, 79.0, 50.3, 45.9]),
    ('DisAlign', 'disalign', [78.0, 71.2, 49.1, 43.6],
     {'setting': 'ResNet-32, same standard pre-trained model as MARR',
      'note': 'differs from the DisAlign paper (authors: different pre-trained model)'}),
    ('Decouple-cRT', 'crt', [82.0, 76.6, 50.0, 44.5],
     {'setting': 'ResNet-32, same standard pre-trained model as MARR'}),
    ('Decouple-LWS', 'lws', [83.7, 78.1, 50.5, 45.3],
     {'setting': 'ResNet-32, same standard pre-trained model as MARR'}),
    ('BBN', 'bbn', [79.8, _, 42.6, _]),
    ('Hybrid-SC', 'hybrid_sc', [81.4, _, 46.7, _]),
    ('MARR', 'marr', [85.3, 81.1, 50.8, 47.4]),
], setting='ResNet-32')

_R += _table('marr', 'Table 6', [(C100, 200)], [
    ('Decouple-cRT', 'crt', [44.5], {'setting': 'ResNet-32; #Param. = pK + K'}),
    ('Decouple-LWS', 'lws', [45.3], {'setting': 'ResNet-32; #Param. = K'}),
    ('DisAlign', 'disalign', [43.6], {'setting': 'ResNet-32; #Param. = p + 2K'}),
    ('MARR', 'marr', [47.4], {'setting': 'ResNet-32; #Param. = 2K'}),
], note=('column "CIFAR-100-LT" is CIFAR-100-LT(200) per the text; parameter counts are '
         'printed only as formulas (p = feature dim, K = classes), so no params records'))

_MARR_T7 = ('table caption: "Top-1 accuracy on CIFAR-100-LT(200) with different standard '
            'pre-trained models"; Table 2 prints 47.4 for MARR on CIFAR-100-LT(200)')
_R += _table('marr', 'Table 7', [(C100, 200)], [
    ('MARR', 'marr', [47.1], {'setting': 'ResNet-32, standard pre-trained on CIFAR-100-LT(200)'}),
    ('MARR', _, [50.7], {'setting': 'ResNet-32, standard pre-trained on CIFAR-100-LT(100)'}),
    ('MARR', _, [54.5], {'setting': 'ResNet-32, standard pre-trained on CIFAR-100-LT(50)'}),
], note=_MARR_T7)

# --------------------------------------------------------------------------- lgla
_R += _table('lgla', 'Table 1', [(C100, 100), (C100, 50), (C10, 100), (C10, 50)], [
    ('CB Focal loss', 'cb_focal', [38.7, 46.2, 74.6, 79.3]),
    ('LDAM+DRW', 'ldam_drw', [42.0, 45.1, 77.0, 79.3]),
    ('LDAM+DAP', _, [44.1, 49.2, 80.0, 82.2]),
    ('LDAM+M2m', _, [43.5, _, 79.1, _]),
    ('BBN', 'bbn', [39.4, 47.0, 79.8, 82.2]),
    ('LFME', _, [42.3, _, _, _]),
    ('CAM', _, [47.8, 51.7, 80.0, 83.6]),
    ('RIDE', 'ride', [49.1, _, _, _]),
    ('Logit Adj.', 'logit_adjustment', [43.9, _, 77.7, _]),
    ('LADE', 'lade', [45.4, 50.5, _, _]),
    ('MiSLAS', 'mislas', [47.0, 52.3, 82.1, 85.7]),
    ('Hybrid-SC', 'hybrid_sc', [46.7, 51.9, 81.4, 85.4]),
    ('DiVE', _, [45.4, 51.3, _, _]),
    ('SSD', _, [46.0, 50.5, _, _]),
    ('ACE', _, [49.6, 51.9, 81.4, 84.9]),
    ('PaCo', 'paco', [52.0, 56.0, _, _]),
    ('ResLT', _, [49.7, 54.5, _, _]),
    ('NCL', 'ncl', [54.2, 58.2, 85.5, 87.3]),
    ('Ours', 'lgla', [56.5, 60.6, 87.8, 90.2],
     {'setting': 'ResNet-32, 3 experts, RandAugment'}),
    ('Ours (GC)', 'lgla', [57.2, 61.6, 87.5, 89.8],
     {'setting': 'ResNet-32, 3 experts, group convolution, RandAugment'}),
], setting='ResNet-32', note='columns printed in the order CIFAR-100-LT then CIFAR-10-LT')

_R += _table('lgla', 'Table 4', [(C100, 100, 'overall', 'w/o RandAugment'),
                                 (C100, 100, 'overall', 'w/ RandAugment')], [
    ('Softmax', _, [41.88, 47.97], {'note': 'three-expert model trained with Softmax (cf. Table 5)'}),
    ('BALMS', _, [47.97, 55.24], {'note': 'three-expert BALMS model (Table 5), not single-model BALMS'}),
    ('NCL', 'ncl', [49.22, 54.42]),
    ('Ours (GC)', 'lgla', [49.58, 57.15], {'setting': 'ResNet-32, 3 experts, group convolution'}),
], setting='ResNet-32, 3 experts')

_LGLA_T5 = ('checkmark columns are garbled in the extraction (rows 4 and 5 read identical); '
            'rows identified from the text: Softmax, BALMS, CLA, BALMS+AAW (55.24 -> 56.51), '
            'CLA+AAW (56.53 -> 57.15); row 3 prints checks under BALMS and CLA')
_R += _table('lgla', 'Table 5', [(C100, 100, 'overall', 'w/ RandAugment')], [
    ('Softmax', _, [47.97]),
    ('BALMS', _, [55.24]),
    ('CLA', _, [56.53]),
    ('BALMS + AAW', _, [56.51]),
    ('CLA + AAW', 'lgla', [57.15]),
], setting='ResNet-32, 3 experts', note=_LGLA_T5)

# --------------------------------------------------------------------------- gcl
_QUOTED = '* quoted from the original paper'
_R += _table('gcl', 'Table 1', [(C10, 200), (C10, 100), (C10, 50), (C100, 200), (C100, 100), (C100, 50)], [
    ('CE loss', 'ce', [65.68, 70.70, 74.81, 34.84, 38.43, 43.9]),
    ('CE loss + mixup', 'ce_mixup', [65.84, 72.96, 79.48, 35.84, 40.01, 45.16]),
    ('LDAM-DRW', 'ldam_drw', [73.52, 77.03, 81.03, 38.91, 42.04, 47.62]),
    ('De-confound-TDE', 'tde', [_, 80.60, 83.60, _, 44.15, 50.31], {'note': _QUOTED}),
    ('CE loss + mixup + cRT', 'ce_mixup_crt', [73.06, 79.15, 84.21, 41.73, 45.12, 50.86]),
    ('BBN', 'bbn', [73.47, 79.82, 81.18, 37.21, 42.56, 47.02]),
    ('Contrastive learning', 'hybrid_sc', [_, 81.40, 85.36, _, 46.72, 51.87],
     {'note': _QUOTED + '; ref [30] = Hybrid-SC (Wang et al., CVPR 2021)'}),
    ('MisLAS', 'mislas', [77.31, 82.06, 85.16, 42.33, 47.50, 52.62]),
    ('GCL', 'gcl', [79.03, 82.68, 85.46, 44.88, 48.71, 53.55]),
], setting='ResNet-32', note='re-implemented with the official code')

_R += _table('gcl', 'Table 3', [(C10, 100)], [
    ('GCL (cos.)', _, [79.21], {'setting': 'ResNet-32, cloud size cos(n_j/n_max * pi/2), CBEN + cRT'}),
    ('GCL (pow. diff. e:1/3)', _, [80.80],
     {'setting': 'ResNet-32, cloud size n_max^(1/3) - n_j^(1/3), CBEN + cRT'}),
    ('GCL (pow. diff. e:1/4)', _, [82.31],
     {'setting': 'ResNet-32, cloud size n_max^(1/4) - n_j^(1/4), CBEN + cRT'}),
    ('GCL (log. diff.)', 'gcl', [82.68], {'setting': 'ResNet-32, cloud size log n_max - log n_j, CBEN + cRT'}),
], note='cloud-size adjustment strategy ablation; row labels are the strategy (AS) column')

_R += _table('gcl', 'Table 4', [(C10, 100)], [
    ('GCL (IB, cRT)', _, [80.41], {'setting': 'ResNet-32, sampler IB, re-training cRT'}),
    ('GCL (CB, cRT)', _, [82.43], {'setting': 'ResNet-32, sampler CB, re-training cRT'}),
    ('GCL (EN, cRT)', _, [82.47], {'setting': 'ResNet-32, sampler EN, re-training cRT'}),
    ('GCL (CBEN, cRT)', 'gcl', [82.68], {'setting': 'ResNet-32, sampler CBEN, re-training cRT'}),
], note='re-sampling ablation; row labels are the Sam./RT columns')

_R += _table('gcl', 'Table 5', [(C10, 100)], [
    ('GCL (w/o RT)', _, [80.52], {'setting': 'ResNet-32, stage 1 only, no classifier re-training'}),
    ('GCL (CBEN, LWS)', _, [82.25], {'setting': 'ResNet-32, sampler CBEN, re-training LWS'}),
    ('GCL (CBEN, tau-nor.)', _, [82.16], {'setting': 'ResNet-32, sampler CBEN, re-training tau-norm'}),
    ('GCL (CBEN, cRT)', 'gcl', [82.68], {'setting': 'ResNet-32, sampler CBEN, re-training cRT'}),
], note='re-training ablation; row labels are the Sam./RT columns')

# --------------------------------------------------------------------------- whitening
_LDAM_W = {'note': 'printed as "LDAM" under end-to-end training; whether DRW was used is not stated'}
_R += _table('whitening', 'Table 1', [(C10, 1000), (C10, 500), (C10, 200), (C10, 100), (C10, 50), (C10, 10)], [
    ('CE', 'ce', [53.5, 59.5, 66.4, 71.2, 77.4, 86.8]),
    ('CB-CE', _, [_, _, 68.8, 72.7, 78.2, 86.9]),
    ('Focal', 'focal', [_, _, 65.3, 70.4, 76.8, 86.7]),
    ('MW-Net', _, [_, _, 67.2, 73.6, 79.1, 87.5]),
    ('LDAM', 'ldam', [60.9, 66.1, 73.0, 77.2, 81.6, 87.6], _LDAM_W),
    ('BBN', 'bbn', [_, _, _, 79.8, 82.2, 88.3]),
    ('Ours (w/CW)', 'cw', [57.8, 61.9, 70.8, 75.9, 79.9, 87.4]),
    ('Ours (w/CW & LDAM)', 'cw_ldam', [62.8, 68.5, 76.1, 79.8, 82.6, 87.9]),
    ('Ours (w/BET)', 'bet', [53.6, 59.7, 69.2, 76.0, 81.2, 89.1]),
    ('Ours (w/BET & CW)', 'bet_cw', [54.1, 60.3, 70.5, 77.3, 82.6, 89.0]),
    ('Ours (w/BET & LDAM)', 'bet_ldam', [52.8, 59.2, 69.7, 77.0, 81.8, 88.5]),
    ('Ours (w/BET & LDAM & CW)', 'bet_ldam_cw', [51.7, 58.6, 69.6, 77.4, 82.3, 88.4]),
], setting='ResNet-32')

_R += _table('whitening', 'Table 2', [(C100, 500), (C100, 200), (C100, 100), (C100, 50), (C100, 10)], [
    ('CE', 'ce', [30.1, 34.4, 38.6, 43.8, 56.7]),
    ('CB-CE', _, [_, 35.6, 38.8, 44.8, 57.6]),
    ('Focal', 'focal', [_, 35.6, 38.4, 44.3, 55.8]),
    ('MW-Net', _, [_, 36.6, 41.6, 45.7, 58.9]),
    ('LDAM', 'ldam', [33.2, 38.8, 42.8, 47.3, 57.5], _LDAM_W),
    ('Mixup', 'ce_mixup', [_, _, 39.5, 44.9, 59.1]),
    ('BBN', 'bbn', [_, _, 42.6, 47.0, 59.1]),
    ('Ours (w/CW)', 'cw', [30.7, 36.4, 40.0, 43.2, 57.7]),
    ('Ours (w/CW & LDAM)', 'cw_ldam', [32.6, 37.8, 43.2, 45.7, 58.5]),
    ('Ours (w/BET)', 'bet', [32.4, 36.2, 40.6, 45.2, 58.3]),
    ('Ours (w/BET & CW)', 'bet_cw', [33.7, 38.2, 41.8, 46.5, 59.1]),
    ('Ours (w/BET & LDAM)', 'bet_ldam', [33.4, 38.3, 42.5, 47.5, 59.3]),
    ('Ours (w/BET & LDAM & CW)', 'bet_ldam_cw', [34.7, 39.7, 43.4, 47.8, 60.0]),
], setting='ResNet-32')

REPORTED: tuple[Reported, ...] = tuple(_R)
del _R

COLUMNS = tuple(f.name for f in fields(Reported))
KEYS = tuple(sorted({r.key for r in REPORTED if r.key is not None}))


# --------------------------------------------------------------------------- queries
def _norm_dataset(dataset):
    """'cifar10', 'CIFAR-10-LT', 'cifar10_lt' ... -> 'cifar10'; ValueError otherwise."""
    name = str(dataset).lower().replace('-', '').replace('_', '').replace(' ', '')
    if name.endswith('lt'):
        name = name[:-2]
    if name not in DATASETS:
        raise ValueError(f'unknown dataset {dataset!r}: reference numbers exist only for '
                         f'{DATASETS} (ImageNet-LT / iNaturalist / Places tables are not transcribed)')
    return name


def _norm_paper(paper):
    if paper not in PAPERS:
        raise ValueError(f'unknown paper {paper!r}: use one of the chapter names {tuple(PAPERS)}')
    return paper


def _norm_split(split):
    if split not in SPLITS:
        raise ValueError(f'unknown split {split!r}: use one of {SPLITS}')
    return split


def _norm_table(table):
    """2, '2' or 'table 2' -> 'Table 2'."""
    text = str(table).strip()
    if text.lower().startswith('table'):
        text = text[5:].strip()
    return f'Table {text}'


def _frame(records, columns=COLUMNS):
    import pandas as pd

    return pd.DataFrame([[getattr(r, c) for c in columns] for r in records], columns=list(columns))


def reported(paper=None, table=None, dataset=None, imb=None, key=None, method=None, split=None):
    """Records of :data:`REPORTED` matching every given field, as a DataFrame.

    ``None`` means no filter.  ``dataset`` accepts e.g. ``'cifar10'`` or ``'CIFAR-10-LT'``,
    ``table`` accepts ``2`` or ``'Table 2'``, ``method`` is matched case-insensitively
    against the printed name.  Raises ``ValueError`` for an unknown paper, dataset or split.
    """
    wanted = {}
    if paper is not None:
        wanted['paper'] = _norm_paper(paper)
    if table is not None:
        wanted['table'] = _norm_table(table)
    if dataset is not None:
        wanted['dataset'] = _norm_dataset(dataset)
    if imb is not None:
        wanted['imb'] = int(imb)
    if key is not None:
        wanted['key'] = key
    if split is not None:
        wanted['split'] = _norm_split(split)
    rows = [r for r in REPORTED
            if all(getattr(r, f) == v for f, v in wanted.items())
            and (method is None or r.method.lower() == str(method).lower())]
    return _frame(rows)


def literature(key: str, dataset: str, imb: int, split: str = 'overall'):
    """What every paper reports for the book's method ``key`` on ``dataset`` at ``imb``.

    Returns a DataFrame with columns ``paper, table, method, value, setting, note``
    (top-1 accuracy in %), empty when no paper prints that cell.  Raises ``ValueError``
    for a key no paper uses, an unknown dataset or an unknown split.
    """
    if key not in KEYS:
        raise ValueError(f'unknown method key {key!r}: keys with reported numbers are {KEYS}')
    ds = _norm_dataset(dataset)
    sp = _norm_split(split)
    rows = [r for r in REPORTED if r.key == key and r.dataset == ds and r.imb == int(imb)
            and r.split == sp and r.metric == 'top1']
    return _frame(rows, ('paper', 'table', 'method', 'value', 'setting', 'note'))
