"""The angular chapter under papermill with the smoke preset: the user's command, every table and figure."""
import json

import pytest
from chapters import errors, figures, run_chapter


@pytest.mark.slow
def test_users_command_runs_the_angular_chapter(tmp_path):
    r, outs, text, html = run_chapter("angular", tmp_path, tmp_path / "runs", "imb", "100", "preset", "smoke")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    assert "ltnb · fmnist-LT imb 100 · preset smoke · seed 0" in text.splitlines()[0]
    assert "ABS: s = 0.25, sine F · ALAS: τ = 0.75, concave f" in text
    for caption in ("Table 1 (measured)", "Table 2 (measured)", "Table 2, the paper's other rows",
                    "Table 5: ABS accuracy (%) against s", "Table 6: ALAS accuracy (%) against τ",
                    "Figure 6 data: accuracy (%) after pruning"):
        assert caption in html
    for row in ("MiSLAS_S1", "L2A_S1", "MiSLAS_S2", "L2A_S2", "ABS", "ATL_AEM", "ATL_ALAS", "ATL_all", "TDE",
                "AVH, 0.5 pruned", "EL2N, 0.5 pruned", "class-wise random, 0.5 pruned", "nothing pruned (CE)"):
        assert f">{row}<" in html
    # the paper beside: Table 1 (CIFAR-10-LT at 100), Table 2, Table 5 (s = 0.24), Table 6 (concave, tau = 0.75)
    for number in ("95.27 / 72.96 / 44.77 / 71.19", ">82.60<", ">47.11<", ">82.01<", ">46.54<"):
        assert number in html
    assert html.count("preset smoke") == 7 + html.count("ltnb-claims")  # every table (Table 1 at the factors too), verdict box
    assert figures(outs) == 6
    nb = json.loads((tmp_path / "angular.ipynb").read_text())
    notes = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "Table 4 (ViT-S and ViT-B on ImageNet-LT)" in notes  # the static notes: a markdown cell
    stored = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/config.json")]
    stage1 = [c for c in stored if c["stage2"] is None]
    knobs = [dict(c["extra"]) for c in stage1]
    assert sorted(c["loss"] + ("+mixup" if c["mixup_alpha"] else "") for c, k in zip(stage1, knobs) if not k) == \
        ["aem+mixup", "ce", "ce+mixup"]
    assert sorted(k["seed"] for k in ({**kk, "seed": c["seed"]} for c, kk in zip(stage1, knobs)) if "stop_epoch" in k) == [0, 1]
    assert sorted(k["prune"] for k in knobs if "prune" in k) == ["avh", "classwise", "el2n", "random"]
    stage2 = [c for c in stored if c["stage2"]]
    assert sorted(c["stage2"] for c in stage2).count("alas") == 11  # ATL_ALAS within Table 6's ten, and ATL_all
    assert [c["loss"] for c in stage2 if c["stage2"] == "mislas"] == ["ce"]
    assert all(dict(c["extra"])["shift_bn"] is True for c in stage2)


@pytest.mark.slow
def test_a_bad_parameter_fails_before_any_training(tmp_path):
    # a list given as text, as papermill -p passes it, is read; a fraction of 1 is refused
    r, *_ = run_chapter("angular", tmp_path, tmp_path / "runs", "prune_fractions", "[0.3, 1.0]", "preset", "smoke")
    assert r.returncode != 0
    assert "parameter prune_fractions=[0.3, 1.0]: must be 'auto' or a list of fractions above 0 and below 1" in r.stderr
    assert not (tmp_path / "runs").exists()  # nothing was trained
