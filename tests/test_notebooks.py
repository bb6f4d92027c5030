"""The chapters under papermill with the smoke preset, the README's command, and the book build."""
import json
import os
import re
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
    assert figures(outs) == 5  # every captioned figure of the chapter, Fig. 1 (four classes) among them


@pytest.mark.slow
@pytest.mark.parametrize("param, value, message", [("imb", "0.5", "parameter imb=0.5: must be a number >= 1"),
                                                   ("dataset", "mnist", "parameter dataset='mnist': must be one of")])
def test_bad_parameters_fail_early(store, tmp_path, param, value, message):
    r, *_ = run_chapter("baselines", tmp_path, store, param, value, "preset", "smoke")
    assert r.returncode != 0 and message in r.stderr + r.stdout


@pytest.mark.slow
def test_users_command_runs_the_lgla_chapter(store, tmp_path):
    # in the module's store, so that the book build below reuses these smoke runs
    r, outs, text, html = run_chapter("lgla", tmp_path, store, "imb", "100", "preset", "smoke")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not errors(outs)
    assert "ltnb · fmnist-LT imb 100 · preset smoke · seed 0" in text.splitlines()[0]
    assert "LGLA: K = 3 experts (GC, one grouped convolution), τ = 3" in text
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
    stored = [json.loads(p.read_text()) for p in store.glob("*/config.json")]
    stored = [c for c in stored if c["imb"] == 100.0 and c["stage2"] is None]
    multi = sorted((c["loss"], dict(c["extra"])["experts"], dict(c["extra"])["expert_type"])
                   for c in stored if c["head"] == "experts")
    assert multi == [("balanced_softmax", 3, "gc"), ("cla", 2, "gc"), ("cla", 2, "ic"), ("cla", 3, "gc")]
    assert {"balanced_softmax", "ce", "ldam"} <= {c["loss"] for c in stored if c["head"] != "experts"}


@pytest.mark.slow
def test_a_bad_lgla_expert_type_fails_before_training(store, tmp_path):
    # the other LGLA parameters go through the same check (tests/test_lgla.py covers each case)
    before = sorted(store.iterdir())
    r, *_ = run_chapter("lgla", tmp_path, store, "expert_type", "dense", "preset", "smoke")
    assert r.returncode != 0 and "parameter expert_type='dense': must be one of 'gc', 'ic'" in r.stderr + r.stdout
    assert sorted(store.iterdir()) == before  # nothing was trained


@pytest.mark.slow
def test_book_builds(store, tmp_path):
    """make book's driver on a copy of the repository: every chapter of _toc.yml executed once (smoke preset via
    LTNB_PRESET, into the module's store), then rendered without executing again."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", "_build", ".git", "data", ".ltnb-runs", "results",
                                                          "kernel-ipc-*"))  # a killed kernel leaves its sockets
    (src / "notebooks" / "stray.ipynb").write_bytes((src / "notebooks" / "baselines.ipynb").read_bytes())
    r = subprocess.run([BIN / "python", "-m", "ltnb.book", "--root", str(src)], cwd=src,
                       env=chapter_env(store, LTNB_PRESET="smoke", LTNB_RECORDED=str(tmp_path / "no-recordings")),
                       capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "runs read from recordings" in r.stdout.splitlines()[-1]
    assert [line.split(":")[0] for line in r.stdout.splitlines() if line.startswith("== ")] == [
        "== baselines", "== gcl", "== marr", "== angular", "== lgla", "== whitening", "== leaderboard", "== performance",
        "== claims"]
    html = (src / "_build" / "html" / "notebooks" / "baselines.html").read_text()
    assert "Chapter 0" in html and "preset smoke" in html and "<table" in html
    assert html.count("<img") >= 5
    lgla = (src / "_build" / "html" / "notebooks" / "lgla.html").read_text()
    assert "Table 5: ablation" in lgla and lgla.count("<img") >= 6
    intro = (src / "_build" / "html" / "book" / "intro.html").read_text()
    assert "Cao" in intro  # the bibliography resolved
    assert not (src / "_build" / "html" / "notebooks" / "stray.html").exists()  # only what _toc.yml lists
    for page in sorted((src / "_build" / "html").rglob("*.html")):
        problems = reader_problems(page.read_text())
        assert not problems, f"{page.name}: {problems}"
    assert (src / "_build" / "html" / "_static" / "mathjax" / "tex-chtml.js").is_file()  # maths offline
    executed = json.loads((src / "notebooks" / "baselines.ipynb").read_text())
    assert any(c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code")  # outputs kept in place
    assert "papermill" not in executed["metadata"]  # and no timings that change at every build


def reader_problems(html: str) -> list[str]:
    """What a reader of a built page would trip on: anything fetched from a network (scripts, styles,
    images; thebe's launch constant loads nothing), TeX left raw outside the math MathJax typesets,
    a traceback, a 'nan' in a table cell, a figure without a caption."""
    problems = []
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
        for url in re.findall(rf'<{tag}\b[^>]*\b{attr}="([^"]+)"', html):
            if re.match(r"(https?:)?//", url) and not (tag == "link" and "stylesheet" not in url and url.endswith("/")):
                problems.append(f"{tag} from the network: {url}")
    text = re.sub(r'<(span|div) class="math[^"]*">.*?</\1>', "", html, flags=re.S)  # what MathJax typesets
    text = re.sub(r"<(script|style|pre|code)\b.*?</\1>", "", text, flags=re.S)
    for raw in re.findall(r"\\\(|\$\$|(?<![\w$])\$[^$<>\s][^$<>]{0,60}\$(?![\w$])", text):
        problems.append(f"raw TeX: {raw}")
    if "Traceback (most recent call last)" in html or 'class="ansi-red-fg"' in html:
        problems.append("a traceback")
    for table in re.findall(r"<table\b.*?</table>", html, flags=re.S):
        if re.search(r">\s*nan\s*<", table, flags=re.I):
            problems.append("nan in a table")
    for img in re.findall(r'<img\b[^>]*src="[^"]*_images/[^"]*"[^>]*>', html):
        if img not in "".join(re.findall(r"<figure\b.*?</figure>", html, flags=re.S)) or 'alt=""' in img:
            problems.append(f"a figure without a caption: {img[:80]}")
    for fig in re.findall(r"<figure\b.*?</figure>", html, flags=re.S):
        if "_images/" in fig and "<figcaption" not in fig:
            problems.append("a figure without a caption")
    return problems


def test_reader_problems_are_found():
    ok = '<div class="math notranslate">\\(x\\)</div><figure><img alt="a" src="../_images/a.png"/><figcaption>a</figcaption></figure>'
    assert reader_problems(ok) == []
    assert reader_problems('<script src="https://cdn.example/x.js"></script>')
    assert reader_problems("<p>the margin $\\Delta_y$ grows</p>")
    assert reader_problems("<table><td>nan</td></table>")
    assert reader_problems('<img src="../_images/b.png"/>')
    assert reader_problems("<pre>Traceback (most recent call last)</pre>")


def test_book_kernels_run_numpy_blas_on_one_thread_unless_the_user_set_it(monkeypatch, tmp_path):
    """ltnb.book.execute starts each kernel with OPENBLAS_NUM_THREADS=1 (its threads stall beside a background
    recorder), and leaves a value the user set alone."""
    import papermill

    from ltnb import book

    seen = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: seen.append(os.environ.get("OPENBLAS_NUM_THREADS")))
    monkeypatch.setattr(book, "strip", lambda path: None)
    nb = tmp_path / "x.ipynb"
    nb.write_text("{}")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    book.execute(nb, tmp_path)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    book.execute(nb, tmp_path)
    assert seen == ["1", "3"]
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    book.execute(nb, tmp_path)
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # set for the kernel only
