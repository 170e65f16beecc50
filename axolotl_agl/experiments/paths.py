"""Where the experiment tooling keeps its files: passed in, or taken from the environment / working directory.

Nothing here depends on where the package is installed, so ``python -m axolotl_agl.experiments.demo`` works from a
wheel as well as from a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Package data of the experiments (the aligned-base recipe, the self-distilled ordinary instructions).
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DATA_DIR = Path(__file__).resolve().parent / "data"


def default_cache_dir() -> Path:
    """``$AGL_CACHE_DIR`` when set, else ``.cache`` in the current working directory."""
    env = os.environ.get("AGL_CACHE_DIR")
    return Path(env).expanduser() if env else Path.cwd() / ".cache"


def find_xstest() -> Path | None:
    """XSTest's CSV: ``$AGL_XSTEST`` when set, else ``../shared/data/xstest_prompts.csv`` beside the working
    directory when it exists (the layout of this project's checkout and CI), else None (XSTest is not shipped)."""
    return _shared_file("AGL_XSTEST", "xstest_prompts.csv")


def find_alpaca() -> Path | None:
    """Ordinary instructions for over-refusal (Alpaca, ``{"instruction": ...}`` JSON Lines): ``$AGL_ALPACA`` when
    set, else ``../shared/data/alpaca_3k.jsonl`` beside the working directory when it exists, else None."""
    return _shared_file("AGL_ALPACA", "alpaca_3k.jsonl")


def _shared_file(env_name: str, file_name: str) -> Path | None:
    env = os.environ.get(env_name)
    if env:
        return Path(env).expanduser()
    path = Path.cwd().parent / "shared" / "data" / file_name
    return path if path.is_file() else None
