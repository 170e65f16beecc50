"""Where the experiment tooling keeps its files: passed in, or taken from the environment / working directory.

Nothing here depends on where the package is installed, so ``python -m axolotl_agl.experiments.demo`` works from a
wheel as well as from a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Package data of the experiments (the aligned-base recipe).
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def default_cache_dir() -> Path:
    """``$AGL_CACHE_DIR`` when set, else ``.cache`` in the current working directory."""
    env = os.environ.get("AGL_CACHE_DIR")
    return Path(env).expanduser() if env else Path.cwd() / ".cache"


def find_xstest() -> Path | None:
    """XSTest's CSV: ``$AGL_XSTEST`` when set, else ``../shared/data/xstest_prompts.csv`` beside the working
    directory when it exists (the layout of this project's checkout and CI), else None (XSTest is not shipped)."""
    env = os.environ.get("AGL_XSTEST")
    if env:
        return Path(env).expanduser()
    path = Path.cwd().parent / "shared" / "data" / "xstest_prompts.csv"
    return path if path.is_file() else None
