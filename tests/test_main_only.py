"""Presets recorded for the main tables only (``long`` and the other budgets past cpu): a chapter run at one shows
its main tables there and every other group at cpu, and no table or figure mixes presets."""
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ltnb import record
from ltnb.chapters import BOOK, MAIN_ONLY, SWEEPS_AT, Plan, moved, plan_for
from ltnb.chapters import door
from ltnb.config import RunConfig
from ltnb.presets import PRESETS, Context


def ctx_at(preset):
    return Context("fmnist", 100.0, PRESETS[preset], (0, 1), torch.device("cpu"))


@pytest.mark.parametrize("chapter", BOOK)
def test_under_long_the_main_tables_stay_and_every_other_group_moves_to_cpu(chapter):
    long, cpu = plan_for(chapter, "long", dataset="fmnist"), plan_for(chapter, "cpu", dataset="fmnist")
    assert set(long.groups) == set(cpu.groups)
    for name, g in long.groups.items():
        if g.own_presets:  # the budget axis names its presets row by row
            continue
        want = "long" if g.main else SWEEPS_AT
        assert long.preset_of(name, "long") == want, name  # one preset per group, raises if mixed
        if not g.main:  # the very runs the chapter shows at cpu: nothing new to record for them
            assert [c.key for cs in g.rows.values() for c in cs] == \
                   [c.key for cs in cpu.groups[name].rows.values() for c in cs], name
    assert any(g.main for g in long.groups.values())


def test_the_cpu_preset_moves_nothing():
    for chapter in BOOK:
        plan = plan_for(chapter, "cpu", dataset="fmnist")
        assert moved(plan, ctx_at("cpu")) == []
        assert {plan.preset_of(n, "cpu") for n, g in plan.groups.items() if not g.own_presets} == {"cpu"}


def test_a_group_at_another_preset_gives_its_own_context_and_stamp():
    ctx = ctx_at("long")
    plan = Plan()
    plan.add("main", {"CE": [RunConfig(preset="long")]})
    plan.add("sweep", {"CE": [RunConfig(preset="cpu")]}, tier=3)
    assert plan.context(ctx, "main") is ctx
    at = plan.context(ctx, "sweep")
    assert at.preset.name == "cpu" and "preset cpu" in at.stamp and at.seeds == ctx.seeds
    assert moved(plan, ctx) == ["sweep"]


def test_a_group_that_mixes_presets_is_refused():
    plan = Plan()
    plan.add("mixed", {"a": [RunConfig(preset="long")], "b": [RunConfig(preset="cpu")]})
    with pytest.raises(ValueError, match="mixes presets"):
        plan.preset_of("mixed", "long")
    plan.add("budget", {"a": [RunConfig(preset="long")], "b": [RunConfig(preset="cpu")]}, tier=3, optional=True,
             record=True, own_presets=True)
    plan.preset_of("budget", "long")  # the budget axis may


def test_long_records_the_main_tables_and_nothing_else_at_long():
    items = record.book_items("long", "fmnist")
    at_long = [it for it in items if it.config.preset == "long"]
    assert at_long and all(it.tier == 1 or "budget" in it.where for it in at_long)
    mains = set()
    for chapter, values in record.chapters.recorded_calls("long"):
        plan = plan_for(chapter, "long", dataset="fmnist", **values)
        mains |= {d.key for g in plan.groups.values() if g.main for cs in g.rows.values() for c in cs
                  for d in record.with_dependencies(c)}
    budget40 = {c.key for cs in plan_for("leaderboard", "cpu", dataset="fmnist").groups["budget"].rows.values()
                for c in cs if c.preset == "long"}
    assert {it.key for it in at_long} <= mains | budget40
    # the default factor only (not GCL's recorded call at 200); 1: the balanced reference
    assert {it.config.imb for it in at_long} == {100.0, 1.0}
    # the ablations and sweeps of long's plan are the cpu preset's runs
    cpu = {it.key for it in record.book_items("cpu", "fmnist")}
    others = {it.key for it in items if it.config.preset not in ("long",) + tuple(MAIN_ONLY)}
    assert others <= cpu | {it.key for it in record.optional_items("cpu", "fmnist")}


def test_moving_a_run_to_cpu_keeps_everything_but_the_preset():
    c = RunConfig(preset="long", loss="ldam", drw=True, stage2="crt", extra=(("sampler2", "cben"),))
    moved_c = replace(c, preset="cpu")
    assert moved_c.parent.preset == "cpu" and moved_c.loss == c.loss and moved_c.extra == c.extra
    assert moved_c.key != c.key


# ------------------------------------------------------------------ a chapter at long, rendered

def _recordings_at_long(tmp_path, chapter):
    """A recordings folder holding the cpu recordings, and the chapter's main-table runs at long made of them (the
    cpu numbers under long's keys: only the plumbing is under test here, the numbers mean nothing)."""
    import json
    import shutil

    from ltnb import store

    root = tmp_path / "recorded"
    root.mkdir()
    (root / "cpu").symlink_to(store.recorded_root() / "cpu")
    plan = plan_for(chapter, "long", dataset="fmnist")
    for g in plan.groups.values():
        if not g.main or g.optional:
            continue
        for cs in g.rows.values():
            for c in cs:
                for d in record.with_dependencies(c):
                    src = store.recorded_path(replace(d, preset="cpu"))
                    dst = root / "long" / d.key
                    if dst.exists():
                        continue
                    shutil.copytree(src, dst)
                    (dst / "config.json").write_text(json.dumps(d.describe(), indent=1, default=str))
    return root


@pytest.mark.slow
@pytest.mark.parametrize("chapter, moved_captions", [
    ("marr", ("Table 7: MARR fitted",)),
    ("angular", ("Table 6: ALAS accuracy", "Figure 6 data: accuracy (%) after pruning")),
    ("lgla", ("Table 4: RandAugment on and off",)),
    ("leaderboard", ("Paper as written against the official code",)),
])
def test_a_chapter_at_long_shows_its_main_tables_at_long_and_the_rest_at_cpu(tmp_path, chapter, moved_captions):
    from chapters import errors, run_chapter

    rec = _recordings_at_long(tmp_path, chapter)
    r, outs, text, html = run_chapter(chapter, tmp_path, tmp_path / "runs", "preset", "auto",
                                      env={"LTNB_RECORDED": str(rec)})
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    assert "preset long (auto: its runs are recorded at long; not all yet at paper)" in text
    assert "0 to train here" in html and "recorded for the main tables only" in html
    assert not list((tmp_path / "runs").glob("*/config.json"))  # nothing trained
    main_caption = {"marr": "Table 2 (measured)", "angular": "Table 1 (measured)", "lgla": "Table 1 (measured)",
                    "leaderboard": "Leaderboard, fmnist-LT at imbalance 100"}[chapter]
    assert f"{main_caption}" in html
    for caption in moved_captions:  # each moved table's caption is followed by a stamp at cpu
        tail = html[html.index(caption):][:400]
        assert "preset cpu" in tail and "preset long" not in tail, tail
    head = html[html.index(main_caption):][:400]
    assert "preset long" in head, head


def test_a_claim_recorded_only_at_cpu_is_read_there_in_the_chapters_cpu_section(monkeypatch):
    """At long, LGLA's 'Ours (IC) beats LDAM-DRW' has no IC run (an ablation's row, recorded at cpu): the headline
    box says where its verdict is, and the chapter's section at cpu shows it (show_moved), stamped cpu: no box
    mixes presets."""
    from ltnb import claims, report
    from ltnb.claims import evidence
    from ltnb.stats import Verdict

    a, b = claims.by_id("lgla-13"), claims.by_id("lgla-11")
    recorded_at = {("lgla-13", "cpu"), ("lgla-11", "long"), ("lgla-11", "cpu")}
    monkeypatch.setattr(evidence, "evaluate", lambda c, s: Verdict(
        "holds" if (c.id, s.preset) in recorded_at else "not recorded", "n"))
    monkeypatch.setattr(evidence, "_AT", {})  # verdicts_at's cache: read through the stand-in evaluate
    shown = []
    monkeypatch.setattr(report, "verdict_box", lambda rows, stamp, **kw: shown.append((rows, stamp)))
    ctx = Context("fmnist", 100.0, PRESETS["long"], (0,), torch.device("cpu"))
    here, there = evidence._split_at_sweeps([(a, Verdict("not recorded", "")), (b, Verdict("holds", "n"))],
                                            evidence.Setting.of(ctx))
    assert [c.id for c, _ in here] == ["lgla-11"] and [c.id for c, _ in there] == ["lgla-13"]
    evidence.show(ctx, "lgla", "Table 1")
    head = {c.id: v for rows, stamp in shown for c, v in rows}
    assert all("preset long" in stamp for _, stamp in shown)
    assert head["lgla-13"].verdict == "not recorded" and "in the section at cpu below" in head["lgla-13"].number
    shown.clear()
    evidence.show_moved(ctx, "lgla")
    assert [c.id for rows, _ in shown for c, _ in rows] == ["lgla-13"] and "preset cpu" in shown[0][1]
    shown.clear()
    evidence.show_moved(ctx, "lgla")  # shown once
    assert shown == []
    cpu = replace(ctx, preset=PRESETS["cpu"])  # at cpu nothing moves
    assert evidence._split_at_sweeps([(a, Verdict("not recorded", ""))], evidence.Setting.of(cpu))[1] == []


def test_a_page_of_two_schedules_says_how_they_relate_computed_from_the_recordings():
    """Under long a chapter's second section opens by naming its schedule and relating it to the first: the level gap
    and the rank correlation of its main tables' runs at long against the same runs at cpu, read off the recordings."""
    import io
    from contextlib import redirect_stdout

    from ltnb import chapters

    with redirect_stdout(io.StringIO()):
        ctx, _, plan = door.start("baselines", preset="long", verbose=False)
    text = chapters.schedules(plan, ctx)
    assert "score +" in text and "Spearman's ρ = +" in text and "rows of its main tables recorded at both" in text
    assert "seeds a row" in text and "not a test" in text  # every recorded seed, and the reading says what it is
    opening = chapters.second_schedule(plan, ctx)
    assert opening.startswith("## At `cpu` (10 epochs): ") and "Everything below is at `cpu` (10 epochs" in opening
    assert text in opening
    with redirect_stdout(io.StringIO()):
        cpu, _, plan_cpu = door.start("baselines", preset="cpu", verbose=False)
    assert chapters.schedules(plan_cpu, cpu) == ""  # one schedule: nothing to relate
    assert "Everything below is at the chapter's own preset, `cpu`" in chapters.second_schedule(plan_cpu, cpu)


@pytest.mark.parametrize("chapter", [c for c in BOOK])
def test_no_section_of_a_committed_chapter_mixes_presets(chapter):
    """The executed notebook as the book renders it: every stamp (tables, verdict boxes) in the headline section names
    the chapter's preset, and every stamp after the section the chapter opens for its other schedule names one preset,
    cpu where the headline is a main-tables-only preset. The budget axis names its presets row by row (not a stamp)."""
    import json
    import re

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / f"{chapter}.ipynb").read_text())
    sections, current = {"head": [], "second": []}, None
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and src.startswith("## ") and current is None:
            current = "head"
        texts = ["".join(o.get("data", {}).get(k, "")) if isinstance(o.get("data", {}).get(k, ""), str) else
                 "".join(o["data"][k]) for o in cell.get("outputs", []) for k in ("text/html", "text/markdown")
                 if k in o.get("data", {})] + ["".join(o.get("text", "")) for o in cell.get("outputs", [])]
        if any("Everything below is at" in t for t in texts):
            current = "second"
        if cell["cell_type"] == "markdown" and re.match(r"## (What differs|Choices, and what differs)", src):
            current = "notes"
        if current in sections:
            sections[current] += re.findall(r"· preset (\w+) ·", " ".join(texts))
    assert sections["head"], f"{chapter}: no stamp in the headline section"
    head = set(sections["head"])
    assert len(head) == 1, f"{chapter}: the headline section mixes presets {sorted(head)}"
    second = set(sections["second"])
    want = {SWEEPS_AT} if head <= set(MAIN_ONLY) else head
    assert second <= want, f"{chapter}: the second section stamps {sorted(second)}, not {sorted(want)}"


def test_the_two_schedules_count_a_row_once_whatever_its_seeds():
    """A "more seeds" group's rows are seeds of the main table's rows: the leaderboard's 27-row table is 27 rows,
    never its rows times their seeds."""
    import io
    import re
    from contextlib import redirect_stdout

    from ltnb import chapters

    with redirect_stdout(io.StringIO()):
        ctx, _, plan = door.start("leaderboard", preset="long", verbose=False)
    table = len(plan.groups["imb 100"].rows)
    found = re.search(r"over the (\d+) rows of its main tables", chapters.schedules(plan, ctx))
    assert found and 3 <= int(found.group(1)) <= table
