"""The chapters under papermill with the smoke preset, the README's command, and the book build."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def _env(store, **extra):
    env = {k: v for k, v in os.environ.items() if k != "LTNB_PRESET"}
    env.update(LTNB_RUNS=str(store), LTNB_PROGRESS="0", **extra)
    return env


def _outputs(nb_path):
    nb = json.loads(Path(nb_path).read_text())
    outs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return outs


@pytest.mark.slow
def test_readme_command_runs_the_baselines_chapter(store, tmp_path):
    out = tmp_path / "out.ipynb"
    r = subprocess.run([BIN / "papermill", "notebooks/baselines.ipynb", str(out), "-p", "imb", "50",
                        "-p", "preset", "smoke"], cwd=ROOT, env=_env(store), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    outs = _outputs(out)
    assert not [o for o in outs if o["output_type"] == "error"]
    text = "".join("".join(o.get("text", "")) for o in outs if o["output_type"] == "stream")
    assert "ltnb · fmnist-LT imb 50 · preset smoke · seed 0" in text.splitlines()[0]
    html = "".join("".join(o["data"]["text/html"]) for o in outs if "text/html" in o.get("data", {}))
    for method in ("CE + mixup", "LDAM-DRW", "Balanced Softmax", "cRT", "LWS", "τ-norm"):
        assert f">{method}<" in html
    assert "preset smoke" in html  # the table carries the stamp
    pngs = [o for o in outs if "image/png" in o.get("data", {})]
    assert len(pngs) == 5


@pytest.mark.slow
def test_readme_command_runs_the_gcl_chapter(store, tmp_path):
    out = tmp_path / "gcl.ipynb"
    r = subprocess.run([BIN / "papermill", "notebooks/gcl.ipynb", str(out), "-p", "imb", "200",
                        "-p", "preset", "smoke"], cwd=ROOT, env=_env(store), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    outs = _outputs(out)
    assert not [o for o in outs if o["output_type"] == "error"]
    html = "".join("".join(o["data"]["text/html"]) for o in outs if "text/html" in o.get("data", {}))
    for caption in ("Table 1 (measured)", "Table 3: cloud-size", "Table 4: sampler", "Table 5: re-training"):
        assert caption in html
    for row in ("CE + mixup + cRT", "GCL (stage 1 only)", "GCL + CBEN + cRT", "pow. diff. (e:1/4)", "CBEN + LWS"):
        assert f">{row}<" in html
    assert "82.68" in html  # the paper's GCL number, beside the measured one
    assert len([o for o in outs if "image/png" in o.get("data", {})]) == 4


@pytest.mark.slow
@pytest.mark.parametrize("param, value, message", [("imb", "0.5", "imb must be >= 1"),
                                                   ("dataset", "mnist", "unknown dataset")])
def test_bad_parameters_fail_early(store, tmp_path, param, value, message):
    r = subprocess.run([BIN / "papermill", "notebooks/baselines.ipynb", str(tmp_path / "o.ipynb"), "-p", param, value,
                        "-p", "preset", "smoke"], cwd=ROOT, env=_env(store), capture_output=True, text=True)
    assert r.returncode != 0 and message in r.stderr + r.stdout


@pytest.mark.slow
def test_book_builds(store, tmp_path):
    """The book with every chapter executed (smoke preset via LTNB_PRESET) into a temporary folder."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", "_build", ".git", "data", ".ltnb-runs", "results"))
    r = subprocess.run([BIN / "jupyter-book", "build", "--all", str(src)], cwd=src,
                       env=_env(store, LTNB_PRESET="smoke"), capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    html = (src / "_build" / "html" / "notebooks" / "baselines.html").read_text()
    assert "Chapter 0" in html and "preset smoke" in html and "<table" in html
    assert html.count("<img") >= 5
    intro = (src / "_build" / "html" / "book" / "intro.html").read_text()
    assert "Cao" in intro  # the bibliography resolved
