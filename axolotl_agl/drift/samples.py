"""The per-reply samples of a drift evaluation (``samples_<ts>.jsonl``), and which prompt text they may hold.

One line per generated reply, keys in this order: ``model, set, id, prompt, label, category, reply, refusal,
compliance`` (+ ``judges`` with the extra judges' flags). Task lines have ``set == "task"``, ``label == null``,
``id`` ``task-<i>``, ``answer`` and ``correct`` instead of the judgements.

**Prompt text.** Results files must not carry third-party prompt text (XSTest, a user's file, a hub dataset): a
line keeps ``prompt`` only when the prompt is project-written (a DriftCheck-mini row with its shipped text, or a
generated task item); for every other prompt the line has no ``prompt`` key and names the prompt by ``set``, ``id``,
``label`` and ``category`` only. ``store_prompts=True`` (CLI ``--store-prompts``) keeps every prompt's text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from axolotl_agl.utils.io import read_jsonl, write_jsonl

__all__ = ["Sample", "is_project_prompt", "read_samples", "stored_prompt", "write_samples"]


@lru_cache(maxsize=1)
def _driftcheck_texts() -> dict[str, str]:
    from axolotl_agl.data import load_driftcheck_mini

    return {row["id"]: row["prompt"] for row in load_driftcheck_mini()}


def is_project_prompt(row: Mapping[str, Any]) -> bool:
    """True if ``row`` (``{"id", "prompt", ...}``) is a DriftCheck-mini prompt with exactly its shipped text."""
    return _driftcheck_texts().get(str(row.get("id"))) == row.get("prompt")


def stored_prompt(row: Mapping[str, Any], store_prompts: bool) -> str | None:
    """The prompt text a samples line may hold for ``row``: its text if project-written or allowed, else None."""
    return row["prompt"] if store_prompts or is_project_prompt(row) else None


@dataclass(frozen=True)
class Sample:
    """One generated reply and its judgements (``prompt`` None = text not stored, see the module docstring)."""

    model: str
    set: str
    id: str
    label: str | None
    category: str
    reply: str
    prompt: str | None = None
    refusal: bool | None = None
    compliance: bool | None = None
    judges: dict[str, bool] | None = None
    answer: str | None = None
    correct: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSONL line (keys in the documented order; absent keys are left out)."""
        out: dict[str, Any] = {"model": self.model, "set": self.set, "id": self.id}
        if self.prompt is not None:
            out["prompt"] = self.prompt
        out.update(label=self.label, category=self.category, reply=self.reply)
        if self.answer is not None or self.correct is not None:
            out.update(answer=self.answer, correct=self.correct)
            return out
        out.update(refusal=self.refusal, compliance=self.compliance)
        if self.judges:
            out["judges"] = dict(self.judges)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        """Inverse of :meth:`to_dict`."""
        known = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def write_samples(path: str | os.PathLike[str], samples: Sequence[Sample]) -> Path:
    """Write ``samples`` as JSON Lines (atomically)."""
    return write_jsonl(path, [sample.to_dict() for sample in samples])


def read_samples(path: str | os.PathLike[str]) -> list[Sample]:
    """Read a ``samples_<ts>.jsonl`` file."""
    return [Sample.from_dict(row) for row in read_jsonl(path)]
