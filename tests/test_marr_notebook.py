"""The MARR chapter under papermill with the smoke preset: the user's command, every table and figure."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_users_command_runs_the_marr_chapter(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LTNB_PRESET"}
    env.update(LTNB_RUNS=str(tmp_path / "runs"), LTNB_PROGRESS="0")
    out = tmp_path / "out.ipynb"
    r = subprocess.run([BIN / "papermill", "notebooks/marr.ipynb", str(out), "-p", "imb", "200",
                        "-p", "preset", "smoke"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    outs = [o for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outs if o["output_type"] == "error"]
    text = "".join("".join(o.get("text", "")) for o in outs if o["output_type"] == "stream")
    assert "ltnb · fmnist-LT imb 200 · preset smoke · seed 0" in text.splitlines()[0]
    html = "".join("".join(o["data"]["text/html"]) for o in outs if "text/html" in o.get("data", {}))
    for caption in ("Table 2 (measured)", "Table 2, the paper's other rows", "Table 6: accuracy (%) and trainable",
                    "Table 7: MARR fitted on the imb 200 training set"):
        assert caption in html
    for row in ("Softmax (CE)", "LDAM-DRW", "Balanced Softmax", "DisAlign", "Decouple-cRT", "Decouple-LWS", "MARR",
                "LADE", "CE backbone trained at imb 200", "CE backbone trained at imb 50"):
        assert f">{row}<" in html
    assert ">81.1<" in html and ">47.4<" in html and ">54.5<" in html  # the paper's Tables 2, 6, 7 beside
    for params in (">pK + K<", ">2K<", ">170<", ">20<", ">36<"):  # Table 6: formula and count (p = 16, K = 10)
        assert params in html
    assert "preset smoke" in html  # the tables carry the stamp
    assert len([o for o in outs if "image/png" in o.get("data", {})]) == 5
    # MARR reused the CE backbone at 200 and trained one more at 50, nothing else at stage 1
    stage1 = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/config.json")]
    ce = sorted(c["imb"] for c in stage1 if c["stage2"] is None and c["loss"] == "ce")
    assert ce == [50.0, 200.0]
