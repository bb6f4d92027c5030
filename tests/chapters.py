"""Run a chapter under papermill, as its user would, and read back what it showed."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def chapter_env(runs_dir, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LTNB_PRESET"}
    env.update(LTNB_RUNS=str(runs_dir), LTNB_PROGRESS="0", **extra)
    return env


def run_chapter(name: str, out_dir, runs_dir, *params: str, env=None):
    """``papermill notebooks/NAME.ipynb out.ipynb -p KEY VALUE ...``; returns (result, outputs, stdout text, html).
    ``env``: more environment variables (``LTNB_RECORDED``, say)."""
    out = Path(out_dir) / f"{name}.ipynb"
    args = [BIN / "papermill", f"notebooks/{name}.ipynb", str(out)]
    for key, value in zip(params[::2], params[1::2]):
        args += ["-p", key, value]
    r = subprocess.run(args, cwd=ROOT, env=chapter_env(runs_dir, **(env or {})), capture_output=True, text=True)
    if r.returncode != 0:
        return r, [], "", ""
    cells = json.loads(out.read_text())["cells"]
    outs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    text = "".join("".join(o.get("text", "")) for o in outs if o["output_type"] == "stream")
    html = "".join("".join(o["data"]["text/html"]) for o in outs if "text/html" in o.get("data", {}))
    return r, outs, text, html


def figures(outs) -> int:
    return len([o for o in outs if "image/png" in o.get("data", {})])


def errors(outs) -> list:
    return [o for o in outs if o["output_type"] == "error"]
