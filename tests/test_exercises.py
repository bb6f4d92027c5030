"""The exercises at the end of each chapter: valid parameters, a command that says them, a cost from make plan."""
import shlex

import pytest

from ltnb import chapters, exercises as X, params as Pm


def test_every_chapter_of_the_papers_has_three_or_four_exercises():
    assert set(X.EXERCISES) == set(chapters.BOOK) - {"leaderboard"}
    assert all(3 <= len(v) <= 4 for v in X.EXERCISES.values())
    for exs in X.EXERCISES.values():
        assert all(ex.title and ex.params and len(ex.look) > 30 for ex in exs)


@pytest.mark.parametrize("chapter", sorted(X.EXERCISES))
def test_an_exercise_command_reads_back_as_its_parameters(chapter):
    """The command's -p values, read as papermill hands them over (text), give the exercise's parameters."""
    spec = chapters.module(chapter).PARAMETERS
    for ex in X.EXERCISES[chapter]:
        words = shlex.split(X.command(chapter, ex.params))
        assert words[:3] == ["papermill", f"notebooks/{chapter}.ipynb", "out.ipynb"]
        given = dict(zip(words[4::3], words[5::3]))
        assert words[3::3] == ["-p"] * len(ex.params) and set(given) == set(ex.params)
        assert {k: v for k, v in Pm.read(spec, given).items() if k in ex.params} == \
            {k: Pm.read(spec, ex.params)[k] for k in ex.params}


def test_an_exercise_costs_what_make_plan_estimates_for_its_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path))
    n, secs = X.cost("gcl", {"noise_mul": 0.0})  # a new stage 1 and its stage-2 runs: minutes, not seconds
    assert n >= 2 and secs > 60
    assert X.cost("baselines", {"tau": 2.0}) == (0, 0.0)  # post hoc on recorded runs: nothing trains
