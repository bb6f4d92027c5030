"""The chapters under papermill with the smoke preset, the README's command, and the book build."""
import shutil
import subprocess

import pytest
from chapters import BIN, ROOT, chapter_env, errors, figures, run_chapter


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.mark.slow
def test_readme_command_runs_the_baselines_chapter(store, tmp_path):
    r, outs, text, html = run_chapter("baselines", tmp_path, store, "imb", "50", "preset", "smoke")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    assert "ltnb · fmnist-LT imb 50 · preset smoke · seed 0" in text.splitlines()[0]
    for method in ("CE + mixup", "LDAM-DRW", "Balanced Softmax", "cRT", "LWS", "τ-norm"):
        assert f">{method}<" in html
    assert "preset smoke" in html  # the table carries the stamp
    assert figures(outs) == 5


@pytest.mark.slow
def test_readme_command_runs_the_gcl_chapter(store, tmp_path):
    r, outs, text, html = run_chapter("gcl", tmp_path, store, "imb", "200", "preset", "smoke")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    for caption in ("Table 1 (measured)", "Table 3: cloud-size", "Table 4: sampler", "Table 5: re-training"):
        assert caption in html
    for row in ("CE + mixup + cRT", "GCL (stage 1 only)", "GCL + CBEN + cRT", "pow. diff. (e:1/4)", "CBEN + LWS"):
        assert f">{row}<" in html
    assert "82.68" in html  # the paper's GCL number, beside the measured one
    assert figures(outs) == 4


@pytest.mark.slow
@pytest.mark.parametrize("param, value, message", [("imb", "0.5", "imb must be >= 1"),
                                                   ("dataset", "mnist", "unknown dataset")])
def test_bad_parameters_fail_early(store, tmp_path, param, value, message):
    r, *_ = run_chapter("baselines", tmp_path, store, param, value, "preset", "smoke")
    assert r.returncode != 0 and message in r.stderr + r.stdout


@pytest.mark.slow
def test_book_builds(store, tmp_path):
    """The book with every chapter executed (smoke preset via LTNB_PRESET) into a temporary folder."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", "_build", ".git", "data", ".ltnb-runs", "results"))
    r = subprocess.run([BIN / "jupyter-book", "build", "--all", str(src)], cwd=src,
                       env=chapter_env(store, LTNB_PRESET="smoke"), capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    html = (src / "_build" / "html" / "notebooks" / "baselines.html").read_text()
    assert "Chapter 0" in html and "preset smoke" in html and "<table" in html
    assert html.count("<img") >= 5
    intro = (src / "_build" / "html" / "book" / "intro.html").read_text()
    assert "Cao" in intro  # the bibliography resolved
