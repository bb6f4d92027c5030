"""``python -m ltnb.book``: execute each chapter of ``_toc.yml`` once, in place, then render the book.

Each notebook listed in the table of contents runs under papermill with its default parameters
(``preset=auto`` reads the best recorded preset; see :func:`ltnb.chapters.door.open`) and keeps its
outputs, which is how the repository commits them; Jupyter Book then renders those outputs without
executing anything again. The last line counts the runs read from the recordings and trained.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from ltnb import store
from ltnb.claims import summary
from ltnb.paths import repo_root

VOLATILE_METADATA = ("papermill", "execution")
SUMMARIES = ("claims",)  # executed last: they read the runs the chapters read or trained


def toc_chapters(root: Path) -> list[str]:
    """The notebooks the table of contents lists (``notebooks/NAME`` entries), in order."""
    toc = (root / "_toc.yml").read_text()
    return [m for m in re.findall(r"file:\s*notebooks/([\w-]+)", toc)]


def strip(path: Path) -> None:
    """Drop what papermill adds that changes at every run (timings, paths), keeping the outputs."""
    nb = nbformat.read(path, as_version=4)
    for k in VOLATILE_METADATA:
        nb.metadata.pop(k, None)
    for cell in nb.cells:
        for k in VOLATILE_METADATA:
            cell.metadata.pop(k, None)
    nbformat.write(nb, path)


PROVENANCE = re.compile(r"(\d+) runs: (\d+) read from the recordings, (\d+) from the run store, (\d+) to train here")


def execute(path: Path, cwd: Path) -> dict:
    """Run one chapter in place under papermill; returns the counts its provenance box printed."""
    import papermill
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Unicode

    class LocalKernelManager(AsyncKernelManager):  # the kernel talks over local sockets: no TCP, no warning about it
        transport = Unicode("ipc")

    # numpy's OpenBLAS threads spin against any other busy process: beside two background recorders the Claims
    # page took 330 s in a kernel instead of 20 s (bootstraps of small covariances). The kernel inherits
    # this; a chapter's numpy work is small, and torch keeps its own threads.
    user_set = "OPENBLAS_NUM_THREADS" in os.environ
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        papermill.execute_notebook(str(path), str(path), cwd=str(cwd), progress_bar=False, log_output=False,
                                   kernel_name="python3", kernel_manager_class=LocalKernelManager)
    finally:
        if not user_set:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
    strip(path)
    text = path.read_text()
    m = PROVENANCE.search(text)
    return dict(zip(("runs", "recorded", "stored", "trained"), map(int, m.groups()))) if m else {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ltnb.book", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=None, help="the book's folder (default: the repository)")
    ap.add_argument("--no-execute", action="store_true", help="render the committed outputs as they are")
    ap.add_argument("--only", nargs="*", default=None, help="execute only these chapters")
    a = ap.parse_args(argv)
    root = (a.root or repo_root()).resolve()
    store_dir = store.store_root()
    before = {p.name for p in store_dir.iterdir()} if store_dir.is_dir() else set()
    totals = {"runs": 0, "recorded": 0, "stored": 0, "trained": 0}
    if not a.no_execute:
        names = toc_chapters(root)  # pages that read every chapter's runs (the Claims page) run after the chapters
        for name in [n for n in names if n not in SUMMARIES] + [n for n in names if n in SUMMARIES]:
            if a.only is not None and name not in a.only:
                continue
            t0 = time.time()
            counts = execute(root / "notebooks" / f"{name}.ipynb", root)
            for k in totals:
                totals[k] += counts.get(k, 0)
            print(f"== {name}: {counts.get('runs', 0)} runs ({counts.get('recorded', 0)} from the recordings), "
                  f"{time.time() - t0:.0f} s", flush=True)
        for path in summary.write(root):  # the overview pages' reproducibility summaries, counted from the verdicts
            print(f"wrote {path.relative_to(root)}", flush=True)
    r = subprocess.run([Path(sys.executable).parent / "jupyter-book", "build", "--all", str(root)], cwd=root)
    if r.returncode:
        return r.returncode
    after = {p.name for p in store_dir.iterdir()} if store_dir.is_dir() else set()
    trained = len({n for n in after - before if not n.startswith(".")})
    print(f"{totals['recorded']} runs read from recordings, {trained} trained "
          f"(chapters' runs counted per chapter: {totals['runs']}); book: {root / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
