"""The whitening chapter under papermill with the smoke preset: the user's command, every table and figure."""
import json

import pytest
from chapters import errors, figures, run_chapter

from ltnb.runs.train import RunConfig

ROWS = ("CE", "LDAM-DRW", "CW", "CW & LDAM", "BET", "BET & CW", "BET & LDAM", "BET & LDAM & CW")


@pytest.mark.slow
def test_users_command_runs_the_whitening_chapter(tmp_path):
    r, outs, text, html = run_chapter("whitening", tmp_path, tmp_path / "runs", "imb", "200", "preset", "smoke")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    assert "ltnb · fmnist-LT imb 200 · preset smoke · seed 0" in text.splitlines()[0]
    assert "B3RS: G = 1, r_0 = 0.05, α = 2" in text and "BET: T = 60, T2 = 10" in text  # Table 6's CIFAR-10 row
    for caption in ("Table 1 (measured)", "Table 1, the paper's other rows"):
        assert caption in html
    for row in ROWS + ("CB-CE", "MW-Net", "BBN"):
        assert f">{row}<" in html
    for printed in (">66.4<", ">73.0<", ">70.8<", ">76.1<", ">69.2<", ">70.5<", ">69.7<", ">69.6<"):
        assert printed in html  # the paper's Table 1 at 200, row by row, beside the measured ones
    assert "preset smoke" in html  # the tables carry the stamp
    # B3RS shares; Figure 2; Figure 3; Figures 5 and 6; Figure 7; Figure 11; Figure 8
    assert figures(outs) == 7
    stage1 = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/config.json")]
    assert all(c["stage2"] is None for c in stage1) and len(stage1) == 9
    extras = [dict(c["extra"]) for c in stage1]
    assert sum(e.get("whiten", False) for e in extras) == 4
    assert sum(c["sampler"] == "bet" for c in stage1) == 4
    assert sorted(c["imb"] for c in stage1) == [1.0] + [200.0] * 8
    balanced = [e for c, e in zip(stage1, extras) if c["imb"] == 1.0]
    assert balanced == [{"per_class": 1344}]  # as many images as the imb-200 set (13,444)
    # CE and LDAM-DRW are exactly the baselines chapter's configs: the same keys, the same stored runs
    base = dict(dataset="fmnist", imb=200, preset="smoke")
    for cfg in (RunConfig(**base), RunConfig(**base, loss="ldam", drw=True)):
        assert (tmp_path / "runs" / cfg.key).is_dir()


@pytest.mark.slow
def test_bad_epsilon_fails_early(tmp_path):
    r, *_ = run_chapter("whitening", tmp_path, tmp_path / "runs", "epsilon", "-0.1", "preset", "smoke")
    assert r.returncode != 0 and "parameter epsilon=-0.1: must be a number > 0" in r.stderr + r.stdout
    assert not (tmp_path / "runs").exists()  # nothing was trained
