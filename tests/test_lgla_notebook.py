"""The LGLA chapter under papermill with the smoke preset: the user's command, every table and figure,
the runs its reduced sweep trains, and bad parameters failing before any training."""
import json

import pytest
from chapters import errors, figures, run_chapter


@pytest.mark.slow
def test_users_command_runs_the_lgla_chapter(tmp_path):
    r, outs, text, html = run_chapter("lgla", tmp_path, tmp_path / "runs", "imb", "100", "preset", "smoke")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    assert "ltnb · fmnist-LT imb 100 · preset smoke · seed 0" in text.splitlines()[0]
    assert "LGLA: K = 3 experts (gc), tau = 3" in text
    for caption in ("Table 1 (measured)", "Table 1, the paper's other rows", "Table 5: ablation, 3 experts (GC)",
                    "Table 4: RandAugment on and off"):
        assert caption in html
    for row in ("CE (one ResNet-32)", "LDAM-DRW (one ResNet-32)", "Balanced Softmax (one ResNet-32)",
                "BALMS (3 experts, GC)", "LGLA (GC)", "CLA + AAW", "NCL (quoted)"):
        assert f">{row}<" in html
    for number in (">87.5<", ">77<", ">57.15<", ">55.24<", ">49.58<"):  # the paper's Tables 1, 5, 4 beside
        assert number in html
    assert "preset smoke" in html  # the tables carry the stamp
    assert figures(outs) == 6  # groups and CLA table, Figs. 3, 5, 6, 7, 8
    assert "parameters at K = 2, width 0.25: IC 57,564, GC 57,564" in text
    # the reduced sweep: LGLA and BALMS at K = 3, LGLA at K = 2 in both expert types, three baselines
    stored = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/config.json")]
    multi = sorted((c["loss"], dict(c["extra"])["experts"], dict(c["extra"])["expert_type"])
                   for c in stored if c["head"] == "experts")
    assert multi == [("balanced_softmax", 3, "gc"), ("cla", 2, "gc"), ("cla", 2, "ic"), ("cla", 3, "gc")]
    assert sorted(c["loss"] for c in stored if c["head"] != "experts") == ["balanced_softmax", "ce", "ldam"]


@pytest.mark.slow
def test_a_bad_expert_type_fails_before_training(tmp_path):
    # the other parameters are checked by the same function (tests/test_lgla.py covers each case)
    r, *_ = run_chapter("lgla", tmp_path, tmp_path / "runs", "expert_type", "dense", "preset", "smoke")
    assert r.returncode != 0 and "unknown expert type 'dense'" in r.stderr + r.stdout
    assert not (tmp_path / "runs").exists()  # nothing was trained
