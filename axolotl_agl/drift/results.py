"""DriftCheck results as typed, frozen dataclasses; ``to_dict``/``from_dict`` convert to and from the JSON file.

The one in-memory form of a drift evaluation: :func:`~axolotl_agl.drift.run.run_drift` builds a
:class:`DriftResults`, the report renders it, the CLI prints it and :func:`load_results` reads it back from a
``results_<ts>.json``. The JSON layout (``schema_version`` 1) is documented and checked in
:mod:`axolotl_agl.drift.schema`; ``DriftResults.from_dict(d).to_dict() == d`` for every file this code writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from axolotl_agl.drift.generate import ModelSpec
from axolotl_agl.drift.metrics import Difference, Estimate
from axolotl_agl.drift.schema import RESULTS_KIND, SCHEMA_VERSION, SchemaError, validate_results

__all__ = [
    "CONFIDENCE",
    "CategoryCounts",
    "Counts",
    "DriftResults",
    "Environment",
    "JudgeSetResult",
    "ModelResult",
    "ReportFiles",
    "RunConfig",
    "SetCounts",
    "SetResult",
    "TaskResult",
    "load_results",
]

#: Coverage of every interval in the results.
CONFIDENCE = 0.95

#: ``{category: {label: {"n", "refusals", "compliances"}}}`` (see :func:`~axolotl_agl.drift.metrics.category_breakdown`).
CategoryCounts = dict[str, dict[str, dict[str, int]]]


def _estimates(data: Mapping[str, Any]) -> dict[str, Estimate]:
    return {k: Estimate.from_dict(v) for k, v in data.items()}


def _differences(data: Mapping[str, Any] | None) -> dict[str, Difference] | None:
    return None if data is None else {k: Difference.from_dict(v) for k, v in data.items()}


def _dump(values: Mapping[str, Estimate | Difference] | None) -> dict[str, Any] | None:
    return None if values is None else {k: v.to_dict() for k, v in values.items()}


def _pick(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The fields of dataclass ``cls`` from ``data``; a missing field without a default is a :class:`SchemaError`."""
    if not isinstance(data, Mapping):
        raise SchemaError(f"{where}: expected an object, got {data!r}")
    values = {}
    for item in fields(cls):
        if item.name in data:
            values[item.name] = data[item.name]
        elif item.default is MISSING and item.default_factory is MISSING:
            raise SchemaError(f"{where}: missing {item.name!r}")
    return values


@dataclass(frozen=True)
class SetCounts:
    """Prompts of one set by label."""

    safe: int
    unsafe: int
    total: int

    @classmethod
    def of(cls, labels: list[str]) -> SetCounts:
        """Counts of a set whose prompts carry ``labels``."""
        return cls(safe=labels.count("safe"), unsafe=labels.count("unsafe"), total=len(labels))


@dataclass(frozen=True)
class Counts:
    """How much was evaluated: prompts per set, task items, models."""

    prompt_sets: dict[str, SetCounts]
    task_items: int
    models: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Counts:
        """Inverse of :meth:`to_dict`."""
        sets = {k: SetCounts(**_pick(SetCounts, v, f"counts.prompt_sets.{k}")) for k, v in data["prompt_sets"].items()}
        return cls(prompt_sets=sets, task_items=int(data["task_items"]), models=int(data["models"]))


@dataclass(frozen=True)
class Environment:
    """Where the results were made: package versions, platform, git commit of the checkout (or null)."""

    versions: dict[str, str | None]
    platform: str
    git_commit: str | None
    git_dirty: bool | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        """Inverse of :meth:`to_dict`."""
        return cls(**_pick(cls, data, "environment"))


@dataclass(frozen=True)
class RunConfig:
    """The settings of the run (enough to repeat it).

    ``judge``/``extra_judges`` are the judges' own ``describe()`` dicts. ``store_prompts`` tells whether the samples
    file holds the text of third-party prompts (off by default: only their ids; files written before the option
    existed read as False).
    """

    base_model: str
    models: list[ModelSpec]
    max_new_tokens: int
    limit_per_set: int | None
    batch_size: int
    n_bootstrap: int
    confidence: float
    seed: int
    task_items: int
    task_seed: int
    device: str
    dtype: str
    system_prompt: str | None
    judge: dict[str, Any]
    extra_judges: list[dict[str, Any]]
    store_prompts: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = {item.name: getattr(self, item.name) for item in fields(self)}
        out["models"] = [spec.to_dict() for spec in self.models]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`."""
        values = _pick(cls, data, "config")
        values["models"] = [ModelSpec(m["name"], m["model_path"], m["adapter_path"]) for m in data["models"]]
        return cls(**values)


@dataclass(frozen=True)
class ReportFiles:
    """Names (inside the output directory) of the files written with the results; all None when none were."""

    results: str | None = None
    samples: str | None = None
    markdown: str | None = None
    plot: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class JudgeSetResult:
    """Metrics of one extra judge on one prompt set (``drift`` is None for the base model)."""

    metrics: dict[str, Estimate]
    drift: dict[str, Difference] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"metrics": _dump(self.metrics), "drift": _dump(self.drift)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeSetResult:
        """Inverse of :meth:`to_dict`."""
        return cls(_estimates(data["metrics"]), _differences(data["drift"]))


@dataclass(frozen=True)
class SetResult:
    """Metrics of one model on one prompt set; ``drift`` is ``model - base`` (None for the base model)."""

    metrics: dict[str, Estimate]
    drift: dict[str, Difference] | None
    judges: dict[str, JudgeSetResult] = field(default_factory=dict)
    by_category: CategoryCounts = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "metrics": _dump(self.metrics),
            "drift": _dump(self.drift),
            "judges": {k: v.to_dict() for k, v in self.judges.items()},
            "by_category": self.by_category,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SetResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            metrics=_estimates(data["metrics"]),
            drift=_differences(data["drift"]),
            judges={k: JudgeSetResult.from_dict(v) for k, v in data["judges"].items()},
            by_category=dict(data["by_category"]),
        )


@dataclass(frozen=True)
class TaskResult:
    """Benign-task exact-match accuracy of one model (``drift`` None for the base model)."""

    accuracy: Estimate
    drift: Difference | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"accuracy": self.accuracy.to_dict(), "drift": None if self.drift is None else self.drift.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskResult:
        """Inverse of :meth:`to_dict`."""
        drift = data["drift"]
        return cls(Estimate.from_dict(data["accuracy"]), None if drift is None else Difference.from_dict(drift))


@dataclass(frozen=True)
class ModelResult:
    """Everything measured for one model."""

    model_path: str
    adapter_path: str | None
    is_base: bool
    sets: dict[str, SetResult]
    task: TaskResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model_path": self.model_path,
            "adapter_path": self.adapter_path,
            "is_base": self.is_base,
            "sets": {k: v.to_dict() for k, v in self.sets.items()},
            "task": None if self.task is None else self.task.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            model_path=data["model_path"],
            adapter_path=data["adapter_path"],
            is_base=bool(data["is_base"]),
            sets={k: SetResult.from_dict(v) for k, v in data["sets"].items()},
            task=None if data["task"] is None else TaskResult.from_dict(data["task"]),
        )


@dataclass(frozen=True)
class DriftResults:
    """A whole drift evaluation: settings, environment, counts, and every model's results (the base first)."""

    created_at: str
    timestamp: str
    config: RunConfig
    environment: Environment
    counts: Counts
    base: str
    models: dict[str, ModelResult]
    files: ReportFiles = field(default_factory=ReportFiles)
    schema_version: int = SCHEMA_VERSION
    kind: str = RESULTS_KIND

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the layout of :mod:`axolotl_agl.drift.schema`)."""
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "created_at": self.created_at,
            "timestamp": self.timestamp,
            "config": self.config.to_dict(),
            "environment": self.environment.to_dict(),
            "counts": self.counts.to_dict(),
            "base": self.base,
            "models": {k: v.to_dict() for k, v in self.models.items()},
            "files": self.files.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftResults:
        """Validate ``data`` (:func:`~axolotl_agl.drift.schema.validate_results`) and build the dataclasses.

        Raises:
            SchemaError: when ``data`` does not follow the schema.
        """
        validate_results(data)
        return cls(
            schema_version=int(data["schema_version"]),
            kind=data["kind"],
            created_at=data["created_at"],
            timestamp=data["timestamp"],
            config=RunConfig.from_dict(data["config"]),
            environment=Environment.from_dict(data["environment"]),
            counts=Counts.from_dict(data["counts"]),
            base=data["base"],
            models={k: ModelResult.from_dict(v) for k, v in data["models"].items()},
            files=ReportFiles(**_pick(ReportFiles, data["files"], "files")),
        )


def as_results(results: DriftResults | Mapping[str, Any]) -> DriftResults:
    """``results`` itself, or the dataclasses of a results dict (as returned by ``evaluate_drift``)."""
    return results if isinstance(results, DriftResults) else DriftResults.from_dict(results)


def load_results(path: str | os.PathLike[str]) -> DriftResults:
    """Read and validate a ``results_<ts>.json`` file."""
    with open(path, encoding="utf-8") as handle:
        return DriftResults.from_dict(json.load(handle))
