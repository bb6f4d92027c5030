"""Where the repository, the data and the run store live."""
from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parents[1]  # where the package lies: resolved once (a page asks thousands of times)
_CHECKOUT = (_HERE / "pyproject.toml").is_file()


def repo_root() -> Path:
    """The checkout holding the package (an editable install), else the working directory."""
    return _HERE if _CHECKOUT else Path.cwd()


def configured_dir(explicit, env_var: str, default: str) -> Path:
    """``explicit`` if given, else ``$env_var`` if set, else ``default`` inside the repository."""
    if explicit is not None:
        return Path(explicit)
    value = os.environ.get(env_var)
    return Path(value) if value else repo_root() / default
