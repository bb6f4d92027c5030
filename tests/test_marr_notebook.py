"""The MARR chapter under papermill with the smoke preset: the user's command, every table and figure."""
import json

import pytest
from chapters import errors, figures, run_chapter


@pytest.mark.slow
def test_users_command_runs_the_marr_chapter(tmp_path):
    r, outs, text, html = run_chapter("marr", tmp_path, tmp_path / "runs", "imb", "200", "preset", "smoke")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    assert "ltnb · fmnist-LT imb 200 · preset smoke · seed 0" in text.splitlines()[0]
    html = "".join("".join(o["data"]["text/html"]) for o in outs if "text/html" in o.get("data", {}))
    for caption in ("Table 2 (measured)", "Table 2, the paper's other rows", "Table 6: accuracy (%) and trainable",
                    "Table 7: MARR fitted on the imb 200 training set"):
        assert caption in html
    for row in ("Softmax (CE)", "LDAM-DRW", "Balanced Softmax", "DisAlign", "Decouple-cRT", "Decouple-LWS", "MARR",
                "LADE", "CE backbone trained at imb 200", "CE backbone trained at imb 50"):
        assert f">{row}<" in html
    assert ">81.1<" in html and ">47.4<" in html  # the paper's Tables 2 and 6 beside
    assert ">47.1 (200)<" in html and ">54.5 (50)<" in html  # Table 7 like for like: the backbone at the fit's factor
    for params in (">pK + K<", ">2K<", ">170<", ">20<", ">36<"):  # Table 6: formula and count (p = 16, K = 10)
        assert params in html
    assert "preset smoke" in html  # the tables carry the stamp
    assert figures(outs) == 5
    # MARR reused the CE backbone at 200 and trained one more at 50, and the balanced reference (imb 1, as many images
    # as the set at 200), nothing else at stage 1
    stage1 = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/config.json")]
    ce = sorted(c["imb"] for c in stage1 if c["stage2"] is None and c["loss"] == "ce")
    assert ce == [1.0, 50.0, 200.0]
