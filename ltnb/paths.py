"""Where the repository, the data and the run store live."""
from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The checkout holding the package (an editable install), else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()
