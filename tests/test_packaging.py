"""pyproject.toml and environment.yml pin the same versions; every notebook pair is in sync."""
import re
import tomllib
from pathlib import Path

import jupytext
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    out = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([^\s;]+)\s*", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_yml_pins_match_pyproject():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(proj["dependencies"]) + [d for ds in proj["optional-dependencies"].values() for d in ds]
    py = _pins(deps)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = _pins(pip)
    assert py and py == conda
    assert all("==" in d for d in deps), "every dependency is pinned"


def test_notebook_pairs_are_in_sync_and_runnable_by_papermill():
    pys = sorted((ROOT / "notebooks").glob("*.py"))
    assert pys
    for py in pys:
        ipynb = py.with_suffix(".ipynb")
        assert ipynb.is_file(), f"{py.name} has no paired .ipynb (run jupytext --sync)"
        src, pair = jupytext.read(py), jupytext.read(ipynb)
        assert [c.source for c in src.cells] == [c.source for c in pair.cells], f"{py.name}: run jupytext --sync"
        assert pair.metadata["kernelspec"]["name"] == "python3", "papermill needs a kernelspec"
        tagged = [c for c in pair.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and tagged[0].cell_type == "code"
        outputs = [o for c in pair.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert outputs, f"{ipynb.name}: commit it with its outputs (python -m ltnb.book executes it in place)"
        assert not [o for o in outputs if o.get("output_type") == "error"], f"{ipynb.name} carries an error"
        for c in pair.cells:
            code = [line for line in c.source.splitlines() if line.strip()] if c.cell_type == "code" else []
            assert not code or not all(line.startswith("#") for line in code), \
                f"{ipynb.name}: a code cell is all comments (a broken '# %%' marker?): {code[0][:80]}"
            if "figure" in c.metadata.get("mystnb", {}):  # the caption belongs to one figure, not to a table beside it
                shown = [o for o in c.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result")]
                assert len(shown) <= 1 and all("image/png" in o["data"] for o in shown), \
                    f"{ipynb.name}: a captioned cell shows {len(shown)} outputs: one figure per captioned cell"
        warned = [o for o in outputs if o.get("name") == "stderr" and "Warning" in "".join(o.get("text", ""))]
        assert not warned, f"{ipynb.name} shows a reader a warning: {''.join(warned[0]['text'])[:300]}"
        assert "papermill" not in pair.metadata, f"{ipynb.name}: strip papermill's timings (python -m ltnb.book does)"


def test_toc_lists_every_chapter():
    toc = (ROOT / "_toc.yml").read_text()
    for py in (ROOT / "notebooks").glob("*.py"):
        assert f"notebooks/{py.stem}" in toc


def test_a_plain_pip_install_carries_every_module(tmp_path):
    """``pip install .`` (not editable) installs the subpackages too, not only ltnb's top-level modules."""
    import shutil
    import subprocess
    import sys

    src = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT / "ltnb", src / "ltnb", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--no-index", "--target", str(tmp_path / "site"), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    want = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ltnb").rglob("*.py")}
    got = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site" / "ltnb").rglob("*.py")}
    assert want <= got, sorted(want - got)
