"""Run keys do not move: every config the chapters built before the method registry keeps its key."""
import json
from pathlib import Path

import pytest

from ltnb.runs.train import RunConfig

FIXTURE = json.loads((Path(__file__).parent / "data" / "chapter_runs.json").read_text())


def config_of(fields: dict) -> RunConfig:
    return RunConfig(**{**fields, "extra": tuple(tuple(kv) for kv in fields["extra"])})


def test_every_recorded_chapter_config_keeps_its_key():
    moved = [key for key, fields in FIXTURE["configs"].items() if config_of(fields).key != key]
    assert not moved, f"{len(moved)} of {len(FIXTURE['configs'])} run keys moved, e.g. {moved[:3]}"


@pytest.mark.parametrize("preset", ["smoke", "cpu", "paper"])
def test_the_fixture_covers_every_chapter(preset):
    chapters = {s["chapter"] for s in FIXTURE["sets"] if s["preset"] == preset}
    assert chapters == {"baselines", "gcl", "marr", "angular", "lgla", "whitening", "leaderboard"}


def with_dependencies(cfgs) -> set[str]:
    """The keys of ``cfgs`` and of every run they start from (parents, scoring runs)."""
    keys, todo = set(), list(cfgs)
    while todo:
        c = todo.pop()
        if c.key not in keys:
            keys.add(c.key)
            todo.extend(c.dependencies())
    return keys


@pytest.mark.parametrize("case", FIXTURE["sets"], ids=lambda s: f"{s['preset']}-{s['chapter']}-{s['params']}")
def test_the_chapters_build_the_same_runs_through_the_registry(case):
    """Every chapter, at the parameters of the fixture, asks for exactly the runs it asked for before."""
    from ltnb.chapters import plan_for

    plan = plan_for(case["chapter"], case["preset"], dataset="fmnist", **case["params"])
    added = {c.key for name in ADDED_SINCE for g in [plan.groups.get(name)] if g for cs in g.rows.values() for c in cs}
    trained = with_dependencies(plan.configs())
    optional = {c.key for c in plan.configs(optional=True)} - trained
    assert set(case["trained"]) <= trained and trained - set(case["trained"]) <= added
    assert optional - added == set(case["read_if_stored"])


# groups added after the fixture was taken: their runs are new, every run before them keeps its key
ADDED_SINCE = ("paper vs code", "balanced reference", "budget", "paper's factors", "imb 1000", "imb 500", "Table 7, paper's backbones", "Figure 7, the rest", "Figure 6, the paper's fractions",
               # the leaderboard's further seeds, read where recorded (seeds "auto"), never trained by the chapter
               "imb 100: more seeds", "imb 50: more seeds", "imb 10: more seeds", "paper vs code: more seeds")
