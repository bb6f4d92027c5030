"""Where the repository, the data and the run store live."""
from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The checkout holding the package (an editable install), else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def configured_dir(explicit, env_var: str, default: str) -> Path:
    """``explicit`` if given, else ``$env_var`` if set, else ``default`` inside the repository."""
    if explicit is not None:
        return Path(explicit)
    value = os.environ.get(env_var)
    return Path(value) if value else repo_root() / default
