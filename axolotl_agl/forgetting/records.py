"""The forgetting records a training run writes, and reading them back (no torch, no Axolotl).

``<output_dir>/agl_forgetting.jsonl``, one JSON object per evaluation::

    {"step": 10, "tokens_seen": 5120, "general_loss": 2.31, "alignment_loss": 1.87, "task_loss": 0.95,
     "seconds": 41.2, "eval_seconds": 3.1}

``step``: optimiser steps done; ``tokens_seen``: supervised training tokens (labels != -100) consumed so far,
summed over ranks; the three losses: mean per-token loss in nats (``null`` when that set is empty);
``seconds``: wall time since training began (this process, resumed runs restart it); ``eval_seconds``: the time
this evaluation took.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from axolotl_agl.forgetting.fit import ForgettingFit, fit_forgetting_curve
from axolotl_agl.utils.io import atomic_write_text, iter_jsonl

__all__ = [
    "METRICS",
    "RECORDS_FILE",
    "REFERENCE_FILE",
    "STATE_FILE",
    "append_record",
    "curve_from_records",
    "fit_run_dir",
    "read_forgetting_records",
    "resolve_run_dir",
    "truncate_records",
]

RECORDS_FILE = "agl_forgetting.jsonl"
#: The base model's greedy answers to the general prompts (written once per output_dir, reused on resume).
REFERENCE_FILE = "agl_forgetting_reference.jsonl"
#: Written into each checkpoint: the token count at that step, so a resumed run continues it.
STATE_FILE = "agl_forgetting_state.json"
METRICS: tuple[str, ...] = ("general_loss", "alignment_loss", "task_loss")
#: Axolotl's default ``output_dir`` when the YAML does not set one.
AXOLOTL_DEFAULT_OUTPUT_DIR = "./model-out"

PathLike = str | os.PathLike[str]


def resolve_run_dir(path: PathLike) -> Path:
    """The output directory of a run, given the directory itself, its records file, or its Axolotl YAML.

    A YAML's ``output_dir`` (default ``./model-out``) is resolved like Axolotl does, relative to the working
    directory; when it does not exist there, relative to the YAML's folder.

    Raises:
        FileNotFoundError: the path does not exist.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such run directory, records file or Axolotl YAML")
    if p.is_dir():
        return p
    if p.suffix.lower() not in (".yml", ".yaml"):
        return p.parent
    cfg = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    output_dir = Path(str(cfg.get("output_dir") or AXOLOTL_DEFAULT_OUTPUT_DIR) if isinstance(cfg, dict) else "")
    output_dir = output_dir.expanduser()
    if not output_dir.is_absolute() and not output_dir.exists():
        beside = p.resolve().parent / output_dir
        if beside.exists():
            return beside
    return output_dir


def read_forgetting_records(path: PathLike) -> list[dict[str, Any]]:
    """The records of one run (a run directory, its YAML, or the JSONL file), in file order.

    Raises:
        FileNotFoundError: no records file (the message says how to produce one).
        ValueError: a line is not a JSON object with a ``step`` and ``tokens_seen`` (names the line).
    """
    p = Path(path).expanduser()
    file = p if p.is_file() and p.suffix == ".jsonl" else resolve_run_dir(p) / RECORDS_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"{file}: no forgetting records. Train with the plugin listed and an `alignguard: {{forgetting: {{}}}}` "
            "block in the YAML (adapter: alignguard or lora), then point this at the run's output_dir"
        )
    records = []
    for number, row, line in iter_jsonl(file, fix="one record object per line"):
        if not isinstance(row, dict) or "step" not in row or "tokens_seen" not in row:
            raise ValueError(f"{file}:{number}: expected an object with 'step' and 'tokens_seen', got {line[:120]!r}")
        records.append(row)
    return records


def curve_from_records(
    records: Sequence[dict[str, Any]], metric: str = "general_loss"
) -> tuple[list[int], list[float], list[float]]:
    """``(steps, tokens, losses)`` of ``metric`` from a run's records; rows where it is null are left out.

    A step recorded twice (an evaluation repeated after a resume) keeps its last record.

    Raises:
        ValueError: unknown metric, or no record has a value for it.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    by_step: dict[int, dict[str, Any]] = {}
    for row in records:
        by_step[int(row["step"])] = row
    rows = [by_step[step] for step in sorted(by_step) if by_step[step].get(metric) is not None]
    if not rows:
        raise ValueError(f"no record has a value for {metric} (that evaluation set was empty in this run)")
    return [int(r["step"]) for r in rows], [float(r["tokens_seen"]) for r in rows], [float(r[metric]) for r in rows]


def fit_run_dir(
    run: PathLike,
    metric: str = "general_loss",
    n_boot: int = 1000,
    seed: int = 0,
    holdout: int | None = None,
    confidence: float = 0.95,
) -> ForgettingFit:
    """Read a run's records (directory, YAML or JSONL) and fit its ``metric`` curve with every form.

    See :func:`~axolotl_agl.forgetting.fit.fit_forgetting_curve` for the fit and the selection rule.
    """
    steps, tokens, losses = curve_from_records(read_forgetting_records(run), metric)
    return fit_forgetting_curve(
        tokens, losses, holdout=holdout, n_boot=n_boot, seed=seed, confidence=confidence, metric=metric, steps=steps
    )


def append_record(path: PathLike, record: dict[str, Any]) -> None:
    """Append one record (a JSON line) and flush it to disk."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def truncate_records(path: PathLike, last_step: int) -> int:
    """Keep only records with ``step <= last_step`` (a resumed run drops what the interrupted run wrote later).

    Returns the number of records dropped; a missing file drops nothing. Rewritten atomically.
    """
    p = Path(path)
    if not p.is_file():
        return 0
    lines = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [line for line in lines if int(json.loads(line).get("step", 0)) <= last_step]
    if len(kept) != len(lines):
        atomic_write_text(p, "".join(line + "\n" for line in kept))
    return len(lines) - len(kept)
