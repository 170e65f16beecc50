"""DriftCheck: does a fine-tune erode a model's refusals? (evaluation code, separate from training).

Modules: ``judge`` (refusal and substantive-compliance judges), ``generate`` (model loading, greedy chat
generation), ``prompts`` (prompt sets), ``metrics`` (rates, drift, bootstrap intervals), ``report`` (results schema
and files), ``run`` (:func:`evaluate_drift`), ``cli`` (click commands). Names below are imported lazily, so importing
this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ClassifierJudge",
    "PatternRefusalJudge",
    "SCHEMA_VERSION",
    "evaluate_drift",
    "is_refusal",
    "load_results",
    "substantive_compliance",
]

_WHERE = {
    "ClassifierJudge": "judge",
    "PatternRefusalJudge": "judge",
    "is_refusal": "judge",
    "substantive_compliance": "judge",
    "SCHEMA_VERSION": "report",
    "load_results": "report",
    "evaluate_drift": "run",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"axolotl_agl.drift.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'axolotl_agl.drift' has no attribute {name!r}")
