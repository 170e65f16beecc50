"""Prompt sets for DriftCheck: the built-in DriftCheck-mini, XSTest, user files and (online) hub datasets.

A prompt set is a list of rows ``{"id": str, "prompt": str, "label": "safe"|"unsafe", "category": str}``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "PromptColumns",
    "PromptRow",
    "default_prompt_sets",
    "load_hub_prompts",
    "load_prompt_file",
    "normalize_label",
    "rows_from_records",
    "subsample_prompts",
]

PathLike = str | os.PathLike[str]
PromptRow = dict[str, str]


@dataclass(frozen=True)
class PromptColumns:
    """Which column of a record holds each part of a prompt row.

    ``category`` / ``id`` None (or a column a record lacks) gives category ``"uncategorized"`` / id
    ``"<source>-<index>"``.
    """

    prompt: str = "prompt"
    label: str = "label"
    category: str | None = "category"
    id: str | None = "id"


_UNSAFE = {"unsafe", "harmful", "harm", "toxic", "1", "true", "yes", "jailbreak", "malicious", "refuse"}
_SAFE = {"safe", "benign", "harmless", "0", "false", "no", "unharmful", "comply"}


def normalize_label(value: Any) -> str:
    """Map a label value to ``"safe"``/``"unsafe"`` (accepts e.g. harmful/benign, 1/0, true/false).

    Raises:
        ValueError: for any other value.
    """
    text = str(value).strip().lower()
    if text in _UNSAFE:
        return "unsafe"
    if text in _SAFE:
        return "safe"
    raise ValueError(f"cannot read {value!r} as a safe/unsafe label")


def rows_from_records(
    records: Iterable[Mapping[str, Any]], source: str, columns: PromptColumns = PromptColumns()
) -> list[PromptRow]:
    """Turn records (dicts) into prompt rows, reading the parts from ``columns`` (see :class:`PromptColumns`).

    Raises:
        ValueError: if a record lacks the prompt or label column, or a label is unreadable (the record is named).
    """
    rows: list[PromptRow] = []
    for index, record in enumerate(records):
        where = f"{source}: record {index}"
        if columns.prompt not in record or record[columns.prompt] in (None, ""):
            raise ValueError(f"{where}: no prompt in column {columns.prompt!r} (columns: {sorted(record)})")
        if columns.label not in record:
            raise ValueError(f"{where}: no label column {columns.label!r} (columns: {sorted(record)})")
        try:
            label = normalize_label(record[columns.label])
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        category = record.get(columns.category) if columns.category else None
        row_id = record.get(columns.id) if columns.id else None
        rows.append(
            {
                "id": str(row_id) if row_id not in (None, "") else f"{source}-{index}",
                "prompt": str(record[columns.prompt]),
                "label": label,
                "category": str(category) if category not in (None, "") else "uncategorized",
            }
        )
    return rows


def load_prompt_file(path: PathLike, columns: PromptColumns = PromptColumns()) -> list[PromptRow]:
    """Read a user prompt file: ``.csv``/``.tsv``, ``.jsonl`` or ``.json`` (a list of objects).

    See :func:`rows_from_records` for the column mapping.
    """
    file_path = Path(path)
    suffix = file_path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with open(file_path, encoding="utf-8", newline="") as handle:
            records: list[Mapping[str, Any]] = list(csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ","))
    elif suffix == ".jsonl":
        from axolotl_agl.utils.io import read_jsonl

        records = read_jsonl(file_path)
    elif suffix == ".json":
        with open(file_path, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, list):
            raise ValueError(f"{file_path}: expected a JSON list of objects")
        records = data
    else:
        raise ValueError(f"{file_path}: unsupported prompt file type {suffix!r} (use .csv, .tsv, .jsonl or .json)")
    return rows_from_records(records, file_path.stem, columns)


def load_hub_prompts(
    name: str, split: str = "test", subset: str | None = None, columns: PromptColumns = PromptColumns()
) -> list[PromptRow]:
    """Load prompts from a Hugging Face hub dataset (needs network access, or a warm ``datasets`` cache)."""
    from datasets import load_dataset

    dataset = load_dataset(name, subset, split=split)
    return rows_from_records(dataset, name.replace("/", "__"), columns)


def default_prompt_sets(xstest: PathLike | None = None, driftcheck: bool = True) -> dict[str, list[PromptRow]]:
    """The default sets: ``driftcheck_mini`` (shipped) and ``xstest`` when a path to its CSV is given."""
    from axolotl_agl.data import load_driftcheck_mini, load_xstest

    sets: dict[str, list[PromptRow]] = {}
    if driftcheck:
        sets["driftcheck_mini"] = load_driftcheck_mini()
    if xstest is not None:
        sets["xstest"] = load_xstest(xstest)
    return sets


def _evenly_spaced(rows: list[PromptRow], k: int) -> list[PromptRow]:
    if k >= len(rows):
        return list(rows)
    return [rows[(i * len(rows)) // k] for i in range(k)]


def subsample_prompts(rows: list[PromptRow], limit: int | None) -> list[PromptRow]:
    """A deterministic, label-stratified subset of at most ``limit`` rows (every k-th row of each label).

    Each label keeps its share of ``limit`` (at least one row per label when ``limit`` allows), so a small limit
    still measures both refusal and over-refusal. Rows keep their file order. ``None`` keeps everything.
    """
    if limit is None or limit >= len(rows):
        return list(rows)
    if limit <= 0:
        return []
    by_label: dict[str, list[PromptRow]] = {}
    for row in rows:
        by_label.setdefault(row["label"], []).append(row)
    labels = sorted(by_label)
    shares = {lab: max(1, round(limit * len(by_label[lab]) / len(rows))) for lab in labels}
    while sum(shares.values()) > limit:
        largest = max(labels, key=lambda lab: shares[lab])
        shares[largest] -= 1
    chosen = {id(r) for lab in labels for r in _evenly_spaced(by_label[lab], shares[lab])}
    return [row for row in rows if id(row) in chosen]
