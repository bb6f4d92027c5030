"""Run keys do not move: every config the chapters built before the method registry keeps its key."""
import json
from pathlib import Path

import pytest

from ltnb.runs import RunConfig

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
