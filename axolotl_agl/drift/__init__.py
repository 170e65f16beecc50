"""DriftCheck: does a fine-tune erode a model's refusals? (evaluation code, separate from training).

Modules, in the order a run uses them:

* ``prompts`` (prompt sets), ``generate`` (model loading, greedy chat generation);
* ``patterns`` (refusal/eager-prefix regexes), ``judge`` (the judge protocol, the pattern judge), ``classifier``
  (optional model-based judge);
* ``metrics`` (rates, differences, bootstrap intervals), ``settings`` (generation and scoring settings);
* ``evaluate`` (one model: prompts -> replies -> judgements -> estimates), ``document`` (all models -> differences
  vs the base -> typed results), ``run`` (:func:`run_drift`, :func:`evaluate_drift`);
* ``results`` (the typed results and :func:`load_results`), ``schema`` (the JSON layout and its validator),
  ``samples`` (per-reply lines; no third-party prompt text by default), ``environment`` (versions, timestamps),
  ``markdown``, ``plot``, ``report`` (writes the files);
* ``cli`` (click commands, options in groups).

Names below are imported lazily, so importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ClassifierJudge",
    "DriftResults",
    "PatternRefusalJudge",
    "SCHEMA_VERSION",
    "evaluate_drift",
    "is_refusal",
    "load_results",
    "run_drift",
    "substantive_compliance",
]

_WHERE = {
    "ClassifierJudge": "classifier",
    "PatternRefusalJudge": "judge",
    "is_refusal": "judge",
    "substantive_compliance": "judge",
    "SCHEMA_VERSION": "schema",
    "DriftResults": "results",
    "load_results": "results",
    "evaluate_drift": "run",
    "run_drift": "run",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"axolotl_agl.drift.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'axolotl_agl.drift' has no attribute {name!r}")
