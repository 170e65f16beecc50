"""Small file helpers shared by every layer: atomic writes and JSON Lines."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step, on error it is removed.

    Readers never see a half-written file, and a crash leaves the previous file (or none) in place.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: PathLike, payload: Any, indent: int | None = 2) -> Path:
    """Write ``payload`` as JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(payload, indent=indent) + "\n")


def dumps_jsonl(rows: Sequence[Mapping[str, Any]]) -> str:
    """JSON Lines text of ``rows``: one compact object per line, each line ending in a newline."""
    return "".join(json.dumps(dict(row)) + "\n" for row in rows)


def write_jsonl(path: PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as JSON Lines atomically; a file that already holds exactly these rows is left untouched."""
    text = dumps_jsonl(rows)
    target = Path(path)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return target
    return atomic_write_text(target, text)


def iter_jsonl(
    path: PathLike, key: str | None = None, fix: str = "one JSON object per line"
) -> Iterator[tuple[int, Any, str]]:
    """``(line number, parsed value, line)`` of each non-blank line of a JSON Lines file (UTF-8), in file order.

    The value may be any JSON value; callers check its shape and name the line number in their own message.

    Raises:
        ValueError: a line that is not valid JSON, as one line naming ``key`` (the YAML key or option the file came
            from, when given), the file and line number, and ``fix``.
    """
    prefix = f"{key}: " if key else ""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{prefix}{path}:{number} is not valid JSON ({err.msg}); {fix}") from None
            yield number, value, line.rstrip("\n")


def read_jsonl(path: PathLike, key: str | None = None, fix: str = "one JSON object per line") -> list[dict[str, Any]]:
    """Read a JSON Lines file (UTF-8) into a list of dicts; blank lines are skipped.

    Raises:
        ValueError: a line that is not valid JSON or not an object, as one line naming ``key`` (the YAML key or
            option the file came from, when given), the file and line number, and ``fix``.
    """
    prefix = f"{key}: " if key else ""
    rows: list[dict[str, Any]] = []
    for number, row, _ in iter_jsonl(path, key, fix):
        if not isinstance(row, dict):
            raise ValueError(f"{prefix}{path}:{number}: expected a JSON object, got {type(row).__name__}; {fix}")
        rows.append(row)
    return rows
