"""Where a drift evaluation ran: package versions, platform and git commit; and the UTC timestamps of its files."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from axolotl_agl.drift.results import Environment

__all__ = ["collect_environment", "make_timestamp"]


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def collect_environment() -> Environment:
    """Package versions, platform and the git commit of the axolotl_agl checkout (null when not in git)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return Environment(
        versions={
            "python": platform.python_version(),
            "torch": _version("torch"),
            "transformers": _version("transformers"),
            "peft": _version("peft"),
            "numpy": _version("numpy"),
            "axolotl": _version("axolotl"),
            "axolotl_agl": _version("axolotl-agl"),
        },
        platform=platform.platform(),
        git_commit=commit,
        git_dirty=None if status is None else bool(status),
    )


def make_timestamp(now: _dt.datetime | None = None) -> tuple[str, str]:
    """``(created_at ISO string, file timestamp like 20250101T120000Z)`` in UTC."""
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    return now.isoformat(timespec="seconds"), now.strftime("%Y%m%dT%H%M%SZ")
