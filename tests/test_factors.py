"""The papers' imbalance factors: the shared helper on hand-made inputs, and each chapter's group of runs at the
other factors, which must be the very runs the chapter's own plan builds at that factor (same keys)."""
from types import SimpleNamespace

import pytest

from ltnb.chapters import factors
from ltnb.chapters import BOOK, Plan, module, plan_for


def run(**metrics):
    return SimpleNamespace(metrics=metrics)


def test_ordered_and_others_are_descending_and_distinct():
    assert factors.ordered([50, 200, 100, 50.0]) == [200.0, 100.0, 50.0]
    assert factors.ordered([50, 200], imb=10) == [200.0, 50.0, 10.0]
    assert factors.others((200, 100, 50), 100.0) == [200.0, 50.0]
    assert factors.others((100, 50), 20) == [100.0, 50.0]


def test_the_table_has_one_column_group_per_factor_with_data_in_the_given_order():
    cols = {200.0: {"A": [run(accuracy=0.5, few=0.1)], "B": [run(accuracy=0.6, few=0.2)]},
            100.0: {"A": [run(accuracy=0.7, few=0.3), run(accuracy=0.8, few=0.5)]},
            50.0: None}
    paper = {200.0: {"A": "61.2"}}.get
    df = factors.table(cols, paper=paper)
    assert list(df.columns) == [("imb 200", "accuracy"), ("imb 200", "few"), ("imb 200", "paper"),
                                ("imb 100", "accuracy"), ("imb 100", "few")]  # no paper numbers at 100: no column
    assert list(df.index) == ["A", "B"]
    assert df.loc["A", ("imb 200", "accuracy")] == "50.00"
    assert df.loc["A", ("imb 100", "accuracy")] == "75.00 ± 7.07"  # two seeds: mean ± std
    assert df.loc["B", ("imb 100", "accuracy")] == "–"  # a row the factor does not have
    assert df.loc["B", ("imb 200", "paper")] == "–" and df.loc["A", ("imb 200", "paper")] == "61.2"
    assert factors.missing(cols) == [50.0]


def test_an_empty_split_reads_a_dash_a_split_empty_everywhere_is_left_out_and_no_factor_gives_an_empty_table():
    df = factors.table({10.0: {"A": [run(accuracy=0.5, few=float("nan"))], "B": [run(accuracy=0.5, few=0.2)]}})
    assert df.loc["A", ("imb 10", "few")] == "–"
    df = factors.table({10.0: {"A": [run(accuracy=0.5, few=float("nan"))]}}, paper=lambda f: {"A": "1"})
    assert list(df.columns) == [("imb 10", "accuracy"), ("imb 10", "paper")]
    assert factors.table({10.0: None}).shape[1] == 0


def test_the_stamp_names_the_shown_factors_in_place_of_the_chapters():
    ctx = SimpleNamespace(imb=100.0, stamp="fmnist-LT imb 100 · preset cpu · seed 0 · cpu")
    assert factors.stamp(ctx, {200.0: {}, 100.0: {}, 50.0: None}) == "fmnist-LT imb 200, 100 · preset cpu · seed 0 · cpu"


def test_add_group_holds_the_other_factors_rows_as_optional_and_recorded():
    plan = Plan()
    factors.add_group(plan, (200, 100, 50), 100.0, lambda f: {"A": [f"cfg at {f:g}"]},
                      derived_at=lambda f: {"A": ("features",)})
    g = plan.groups[factors.GROUP]
    assert g.optional and g.record and g.tier == 1
    # the chapter's own factor too: the same runs as its main table (one preset for the whole factor table)
    assert g.rows == {(200.0, "A"): ["cfg at 200"], (100.0, "A"): ["cfg at 100"], (50.0, "A"): ["cfg at 50"]}
    assert g.derived == {(200.0, "A"): ("features",), (100.0, "A"): ("features",), (50.0, "A"): ("features",)}
    mine = Plan()
    factors.add_group(mine, (200, 100), 100.0, lambda f: {"A": [f"cfg at {f:g}"]}, own=False)
    assert list(mine.groups[factors.GROUP].rows) == [(200.0, "A")]
    empty = Plan()
    factors.add_group(empty, (100,), 100.0, lambda f: {"A": []})
    assert factors.GROUP not in empty.groups  # every factor is the chapter's own: no group


def test_gather_reads_a_factor_only_when_all_its_rows_exist(monkeypatch):
    plan = Plan()
    factors.add_group(plan, (200, 100, 50), 100.0, lambda f: {"A": [f"a{f:g}"], "B": [f"b{f:g}"]})
    stored = {"a200": "run a200", "b200": "run b200", "a50": "run a50", "a100": "run a100", "b100": "run b100"}
    from ltnb import store

    monkeypatch.setattr(store, "load", lambda c: stored.get(c))
    cols = factors.gather(plan, 100.0, {"A": ["own"]})
    assert list(cols) == [200.0, 100.0, 50.0]
    assert cols[200.0] == {"A": ["run a200"], "B": ["run b200"]} and cols[50.0] is None  # b at 50 not recorded
    assert cols[100.0] == {"A": ["run a100"], "B": ["run b100"]}  # the group's own rows stand for the chapter's
    del stored["b100"]  # not recorded: the chapter's own runs stand in only when they are the group's runs
    assert factors.gather(plan, 100.0, {"A": ["own"]})[100.0] is None
    mine = SimpleNamespace(config=SimpleNamespace(key="a100"))
    assert factors.gather(plan, 100.0, {"A": [mine]})[100.0] == {"A": [mine]}
    assert list(factors.gather(plan, 100.0, {"B": [], "A": []})[200.0]) == ["B", "A"]  # the rows in own's order


# the group(s) of each chapter's plan that hold its main table at the chapter's own factor
MAIN = {"baselines": lambda f: ("stage 1", "stage 2"), "gcl": lambda f: ("Table 1",),
        "marr": lambda f: ("Table 2", "Table 2, other losses"), "lgla": lambda f: ("main",),
        "angular": lambda f: ("stage 1", "stage 2"), "whitening": lambda f: (f"imb {f:g}",)}


@pytest.mark.parametrize("chapter", sorted(MAIN))
def test_the_group_at_another_factor_is_the_chapters_own_plan_at_that_factor(chapter):
    plan = plan_for(chapter, "cpu", dataset="fmnist")
    group = plan.groups[factors.GROUP]
    shown = factors.ordered(module(chapter).PAPER_FACTORS)
    assert sorted({f for f, _ in group.rows}, reverse=True) == factors.ordered(shown, 100.0)
    for f in {f for f, _ in group.rows}:
        there = plan_for(chapter, "cpu", dataset="fmnist", imb=f)
        own = {row: [c.key for c in cfgs] for name in MAIN[chapter](f) for row, cfgs in there.groups[name].rows.items()}
        ours = {row: [c.key for c in cfgs] for (g, row), cfgs in group.rows.items() if g == f}
        assert ours.items() <= own.items()  # the same rows, the same runs
        if chapter != "angular":  # angular's Table 1 reads two rows of its two stages
            assert ours == own


def test_the_group_is_trained_by_the_recorder_only():
    from ltnb import record

    items = {it.key: it for it in record.book_items("cpu", "fmnist", [("gcl", {})])}
    plan = plan_for("gcl", "cpu", dataset="fmnist")
    other = {c.key for cfgs in plan.groups[factors.GROUP].rows.values() for c in cfgs}
    assert other <= set(items) and all(items[k].tier == 1 for k in other)
    own = {c.key for c in plan.configs()}
    # the chapter trains none of them but its own factor's, which are its main table's runs
    assert {c.key for (f, _), cfgs in plan.groups[factors.GROUP].rows.items() if f != 100.0 for c in cfgs}.isdisjoint(own)
    assert {c.key for (f, _), cfgs in plan.groups[factors.GROUP].rows.items() if f == 100.0 for c in cfgs} <= own


def test_every_chapter_but_the_leaderboard_declares_its_papers_factors():
    assert {c for c in BOOK if hasattr(module(c), "PAPER_FACTORS")} == set(MAIN)


def test_the_note_names_the_missing_factors_and_the_command_that_records_them(tmp_path, monkeypatch):
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "recorded"))  # nothing recorded
    ctx = SimpleNamespace(preset=SimpleNamespace(name="cpu"), dataset="fmnist", imb=100.0)
    plan = plan_for("gcl", "cpu", dataset="fmnist")
    cols = factors.gather(plan, 100.0, {"CE": []})
    assert factors.missing(cols) == [200.0, 50.0]
    text = factors.missing_note(plan, ctx, cols)
    assert text.startswith("Not recorded yet at imb 200, 50 (12 runs): `python -m ltnb.record --preset cpu")
    other = plan_for("gcl", "cpu", dataset="fmnist", seed=7)  # not the book's parameters: the recorder has none
    assert "not among the runs" in factors.missing_note(other, ctx, factors.gather(other, 100.0, {}))
    assert factors.missing_note(plan, ctx, {100.0: {}}) is None


def test_marrs_table_7_shows_the_papers_backbone_at_200_when_recorded():
    from ltnb.chapters.marr import BACKBONES

    plan = plan_for("marr", "cpu", dataset="fmnist")
    g = plan.groups[BACKBONES]
    assert list(g.rows) == [(200.0, "MARR")] and g.optional and g.record and g.tier == 3
    (cfg,) = g.rows[(200.0, "MARR")]
    assert cfg.imb == 100.0 and cfg.parent.imb == 200.0  # fitted on the chapter's set, through the 200 backbone
    assert BACKBONES not in plan_for("marr", "paper", dataset="fmnist").groups  # the paper preset trains it
