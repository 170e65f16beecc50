"""The results JSON layout (``results_<ts>.json``) and its validator (typed form: :mod:`axolotl_agl.drift.results`).

Results JSON, ``schema_version`` 1 (rates are fractions in [0, 1]; an *estimate* is
``{"value", "lo", "hi", "n"}`` and a *difference* is ``{"value", "lo", "hi", "n", "paired"}``, value ``model - base``;
all numbers are null when ``n == 0``)::

    schema_version  int (== SCHEMA_VERSION)
    kind            "axolotl_agl.drift"
    created_at      ISO-8601 UTC time;  timestamp: the <ts> of the file names
    config          run settings: base_model, models [{name, model_path, adapter_path}], max_new_tokens,
                    limit_per_set, batch_size, n_bootstrap, confidence, seed, task_items, task_seed, device, dtype,
                    system_prompt, judge {...}, extra_judges [{...}], store_prompts
    environment     versions {python, torch, transformers, peft, numpy, axolotl, axolotl_agl}, platform,
                    git_commit (or null), git_dirty (or null)
    counts          prompt_sets {set: {safe, unsafe, total}}, task_items, models
    base            name of the reference model (its drift entries are null)
    models          {name: {model_path, adapter_path, is_base,
                            sets {set: {metrics {metric: estimate}, drift {metric: difference} | null,
                                        judges {judge: {metrics, drift}}, by_category {cat: {label: {n, refusals,
                                        compliances}}}}},
                            task {accuracy: estimate, drift: difference | null} | null}}
    files           {results, samples, markdown, plot (null if not drawn)}: file names inside out_dir

``config.store_prompts`` (bool, absent = false in files written before it existed) tells whether the samples
file holds third-party prompt text (:mod:`axolotl_agl.drift.samples`).

Metric names: ``refusal_rate_unsafe`` (higher is better), ``over_refusal_safe`` (lower), ``compliance_rate_unsafe``
(lower), ``compliance_rate_safe`` (higher); see :mod:`axolotl_agl.drift.metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from axolotl_agl.drift.metrics import METRIC_NAMES

__all__ = ["RESULTS_KIND", "SCHEMA_VERSION", "SchemaError", "validate_results"]

SCHEMA_VERSION = 1
RESULTS_KIND = "axolotl_agl.drift"

_TOP_KEYS = (
    "schema_version",
    "kind",
    "created_at",
    "timestamp",
    "config",
    "environment",
    "counts",
    "base",
    "models",
    "files",
)


class SchemaError(ValueError):
    """A results file does not follow the schema (or has another ``schema_version``)."""


def _check_interval(where: str, value: Any, difference: bool) -> None:
    keys = {"value", "lo", "hi", "n"} | ({"paired"} if difference else set())
    if not isinstance(value, Mapping) or set(value) != keys:
        raise SchemaError(f"{where}: expected keys {sorted(keys)}, got {value!r}")
    numbers = [value["value"], value["lo"], value["hi"]]
    if any(v is not None and not isinstance(v, (int, float)) for v in numbers):
        raise SchemaError(f"{where}: value/lo/hi must be numbers or null")
    if value["value"] is not None and value["lo"] is not None and not value["lo"] <= value["hi"]:
        raise SchemaError(f"{where}: lo > hi")


def _check_metric_block(where: str, block: Any, difference: bool) -> None:
    if block is None and difference:
        return
    if not isinstance(block, Mapping):
        raise SchemaError(f"{where}: expected an object")
    for name, value in block.items():
        if name not in METRIC_NAMES:
            raise SchemaError(f"{where}: unknown metric {name!r}")
        _check_interval(f"{where}.{name}", value, difference)


def validate_results(data: Mapping[str, Any]) -> None:
    """Check that ``data`` follows results schema ``SCHEMA_VERSION``.

    Raises:
        SchemaError: on another schema version, a missing key, an unknown metric or a malformed interval.
    """
    if not isinstance(data, Mapping):
        raise SchemaError("results must be a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaError(f"schema_version {version!r} is not supported (this code reads {SCHEMA_VERSION})")
    missing = [k for k in _TOP_KEYS if k not in data]
    if missing:
        raise SchemaError(f"missing keys: {missing}")
    if data["kind"] != RESULTS_KIND:
        raise SchemaError(f"kind must be {RESULTS_KIND!r}, got {data['kind']!r}")
    models = data["models"]
    if not isinstance(models, Mapping) or data["base"] not in models:
        raise SchemaError(f"base {data['base']!r} is not one of the models")
    for name, model in models.items():
        for key in ("model_path", "adapter_path", "is_base", "sets", "task"):
            if key not in model:
                raise SchemaError(f"models.{name}: missing {key!r}")
        for set_name, result in model["sets"].items():
            where = f"models.{name}.sets.{set_name}"
            for key in ("metrics", "drift", "judges", "by_category"):
                if key not in result:
                    raise SchemaError(f"{where}: missing {key!r}")
            _check_metric_block(f"{where}.metrics", result["metrics"], difference=False)
            _check_metric_block(f"{where}.drift", result["drift"], difference=True)
            for judge, block in result["judges"].items():
                _check_metric_block(f"{where}.judges.{judge}.metrics", block.get("metrics"), difference=False)
                _check_metric_block(f"{where}.judges.{judge}.drift", block.get("drift"), difference=True)
        if model["task"] is not None:
            _check_interval(f"models.{name}.task.accuracy", model["task"].get("accuracy"), difference=False)
            if model["task"].get("drift") is not None:
                _check_interval(f"models.{name}.task.drift", model["task"]["drift"], difference=True)
