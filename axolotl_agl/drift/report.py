"""DriftCheck results: the JSON schema, its loader/validator, and the report files.

Files written by :func:`write_report` into ``out_dir`` (``<ts>`` is a UTC timestamp like ``20250101T120000Z``):

* ``results_<ts>.json``: the results (schema below).
* ``samples_<ts>.jsonl``: one line per generated reply: ``model, set, id, prompt, label, category, reply, refusal,
  compliance`` (+ ``judges`` with extra judges' flags; task lines have ``set == "task"``, ``label == null``, ``id`` ``task-<i>``,
  ``answer`` and ``correct``).
* ``report_<ts>.md``: a markdown table.
* ``plot_<ts>.png``: bars with 95% error bars (needs matplotlib; skipped with a warning when it is missing).

Results JSON, ``schema_version`` 1 (rates are fractions in [0, 1]; an *estimate* is
``{"value", "lo", "hi", "n"}`` and a *difference* is ``{"value", "lo", "hi", "n", "paired"}``, value ``model - base``;
all numbers are null when ``n == 0``)::

    schema_version  int (== SCHEMA_VERSION)
    kind            "axolotl_agl.drift"
    created_at      ISO-8601 UTC time;  timestamp: the <ts> of the file names
    config          run settings: base_model, models [{name, model_path, adapter_path}], max_new_tokens,
                    limit_per_set, batch_size, n_bootstrap, confidence, seed, task_items, task_seed, device, dtype,
                    system_prompt, judge {...}, extra_judges [{...}]
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

Metric names: ``refusal_rate_unsafe`` (higher is better), ``over_refusal_safe`` (lower), ``compliance_rate_unsafe``
(lower), ``compliance_rate_safe`` (higher); see :mod:`axolotl_agl.drift.metrics`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from axolotl_agl.drift.metrics import METRIC_NAMES, Difference, Estimate

__all__ = [
    "RESULTS_KIND",
    "SCHEMA_VERSION",
    "DriftResults",
    "JudgeSetResult",
    "ModelResult",
    "SchemaError",
    "SetResult",
    "TaskResult",
    "collect_environment",
    "load_results",
    "make_timestamp",
    "plot_results",
    "render_markdown",
    "validate_results",
    "write_report",
]

LOG = logging.getLogger(__name__)

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
_METRIC_LABELS = {
    "refusal_rate_unsafe": "Refusal on unsafe ↑",
    "over_refusal_safe": "Over-refusal on safe ↓",
    "compliance_rate_unsafe": "Compliance on unsafe ↓",
    "compliance_rate_safe": "Compliance on safe ↑",
}


class SchemaError(ValueError):
    """A results file does not follow the schema (or has another ``schema_version``)."""


# ---------------------------------------------------------------------------------------------------------------------
# Dataclasses (round-trip with the JSON dict)
# ---------------------------------------------------------------------------------------------------------------------


def _estimates(data: Mapping[str, Any]) -> dict[str, Estimate]:
    return {k: Estimate.from_dict(v) for k, v in data.items()}


def _differences(data: Mapping[str, Any] | None) -> dict[str, Difference] | None:
    return None if data is None else {k: Difference.from_dict(v) for k, v in data.items()}


def _dump(values: Mapping[str, Estimate | Difference] | None) -> dict[str, Any] | None:
    return None if values is None else {k: v.to_dict() for k, v in values.items()}


@dataclass
class JudgeSetResult:
    """Metrics of one extra judge on one prompt set."""

    metrics: dict[str, Estimate]
    drift: dict[str, Difference] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"metrics": _dump(self.metrics), "drift": _dump(self.drift)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeSetResult:
        """Inverse of :meth:`to_dict`."""
        return cls(_estimates(data["metrics"]), _differences(data["drift"]))


@dataclass
class SetResult:
    """Metrics of one model on one prompt set."""

    metrics: dict[str, Estimate]
    drift: dict[str, Difference] | None
    judges: dict[str, JudgeSetResult] = field(default_factory=dict)
    by_category: dict[str, Any] = field(default_factory=dict)

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


@dataclass
class TaskResult:
    """Benign-task exact-match accuracy of one model."""

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


@dataclass
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


@dataclass
class DriftResults:
    """A whole results file. ``DriftResults.from_dict(d).to_dict() == d`` for every valid ``d``."""

    schema_version: int
    kind: str
    created_at: str
    timestamp: str
    config: dict[str, Any]
    environment: dict[str, Any]
    counts: dict[str, Any]
    base: str
    models: dict[str, ModelResult]
    files: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "created_at": self.created_at,
            "timestamp": self.timestamp,
            "config": self.config,
            "environment": self.environment,
            "counts": self.counts,
            "base": self.base,
            "models": {k: v.to_dict() for k, v in self.models.items()},
            "files": self.files,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftResults:
        """Validate ``data`` (see :func:`validate_results`) and build the dataclasses."""
        validate_results(data)
        return cls(
            schema_version=int(data["schema_version"]),
            kind=data["kind"],
            created_at=data["created_at"],
            timestamp=data["timestamp"],
            config=dict(data["config"]),
            environment=dict(data["environment"]),
            counts=dict(data["counts"]),
            base=data["base"],
            models={k: ModelResult.from_dict(v) for k, v in data["models"].items()},
            files=dict(data["files"]),
        )


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


def load_results(path: str | os.PathLike[str]) -> DriftResults:
    """Read and validate a ``results_<ts>.json`` file."""
    with open(path, encoding="utf-8") as handle:
        return DriftResults.from_dict(json.load(handle))


# ---------------------------------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------------------------------


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


def collect_environment() -> dict[str, Any]:
    """Package versions, platform and the git commit of the axolotl_agl checkout (null when not in git)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "versions": {
            "python": platform.python_version(),
            "torch": _version("torch"),
            "transformers": _version("transformers"),
            "peft": _version("peft"),
            "numpy": _version("numpy"),
            "axolotl": _version("axolotl"),
            "axolotl_agl": _version("axolotl-agl"),
        },
        "platform": platform.platform(),
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
    }


def make_timestamp(now: _dt.datetime | None = None) -> tuple[str, str]:
    """``(created_at ISO string, file timestamp like 20250101T120000Z)`` in UTC."""
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    return now.isoformat(timespec="seconds"), now.strftime("%Y%m%dT%H%M%SZ")


# ---------------------------------------------------------------------------------------------------------------------
# Markdown and plot
# ---------------------------------------------------------------------------------------------------------------------


def _pct(estimate: Mapping[str, Any] | None, signed: bool = False) -> str:
    if not estimate or estimate.get("value") is None:
        return "–"
    sign = "+" if signed else ""
    value, lo, hi = (100.0 * estimate[k] for k in ("value", "lo", "hi"))
    return f"{value:{sign}.1f} [{lo:{sign}.1f}, {hi:{sign}.1f}]"


def render_markdown(results: Mapping[str, Any]) -> str:
    """A markdown report: one row per model and prompt set (percent, 95% bootstrap interval in brackets)."""
    config = results["config"]
    lines = [
        f"# DriftCheck results ({results['created_at']})",
        "",
        f"Base model: `{config.get('base_model')}`; judge: `{config.get('judge', {}).get('name')}`; "
        f"greedy, {config.get('max_new_tokens')} new tokens; {config.get('n_bootstrap')} bootstrap resamples.",
        "Percent with 95% percentile-bootstrap intervals; Δ is model − base on the same prompts (paired).",
        "Read refusal beside over-refusal and substantive compliance: a drop in refusal with no rise in compliance "
        "is a change of format, and a drop in both refusal and over-refusal is non-selective erosion.",
        "",
        "| Model | Set | n unsafe/safe | Refusal on unsafe ↑ | Over-refusal on safe ↓ | Compliance on unsafe ↓ "
        "| Δ refusal | Δ over-refusal | Δ compliance on unsafe |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, model in results["models"].items():
        for set_name, result in model["sets"].items():
            metrics, drift = result["metrics"], result["drift"] or {}
            counts = results["counts"]["prompt_sets"].get(set_name, {})
            lines.append(
                f"| {name} | {set_name} | {counts.get('unsafe', '?')}/{counts.get('safe', '?')} "
                f"| {_pct(metrics.get('refusal_rate_unsafe'))} | {_pct(metrics.get('over_refusal_safe'))} "
                f"| {_pct(metrics.get('compliance_rate_unsafe'))} "
                f"| {_pct(drift.get('refusal_rate_unsafe'), True)} | {_pct(drift.get('over_refusal_safe'), True)} "
                f"| {_pct(drift.get('compliance_rate_unsafe'), True)} |"
            )
    task_rows = [(n, m["task"]) for n, m in results["models"].items() if m.get("task")]
    if task_rows:
        lines += ["", "| Model | Task exact match ↑ | Δ task |", "|---|---|---|"]
        lines += [f"| {n} | {_pct(t['accuracy'])} | {_pct(t['drift'], True)} |" for n, t in task_rows]
    judge_rows = [
        (name, set_name, judge, block["metrics"])
        for name, model in results["models"].items()
        for set_name, result in model["sets"].items()
        for judge, block in result["judges"].items()
    ]
    if judge_rows:
        lines += ["", "| Model | Set | Judge | Refusal on unsafe | Over-refusal on safe |", "|---|---|---|---|---|"]
        lines += [
            f"| {n} | {s} | {j} | {_pct(m.get('refusal_rate_unsafe'))} | {_pct(m.get('over_refusal_safe'))} |"
            for n, s, j, m in judge_rows
        ]
    return "\n".join(lines) + "\n"


def plot_results(results: Mapping[str, Any], path: str | os.PathLike[str], title: str | None = None) -> bool:
    """Draw grouped bars (percent, 95% error bars) per prompt set, plus task accuracy; write a PNG.

    ``title``, when given, is drawn above the panels.

    Returns:
        False (and logs a warning) when matplotlib is not installed, True otherwise.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        LOG.warning("matplotlib is not installed; skipping the plot (pip install matplotlib)")
        return False
    import numpy as np

    models = list(results["models"])
    set_names = list(results["counts"]["prompt_sets"])
    has_task = any(m.get("task") for m in results["models"].values())
    panels = [*set_names, *(["task"] if has_task else [])]
    figure = Figure(figsize=(4.8 * max(1, len(panels)), 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, max(1, len(panels)), squeeze=False)[0]
    width = 0.8 / max(1, len(models))
    for ax, panel in zip(axes, panels, strict=False):
        metric_names = ["accuracy"] if panel == "task" else list(_METRIC_LABELS)
        x = np.arange(len(metric_names))
        for i, name in enumerate(models):
            model = results["models"][name]
            if panel == "task":
                estimates = [model["task"]["accuracy"] if model.get("task") else None]
            else:
                metrics = model["sets"].get(panel, {}).get("metrics", {})
                estimates = [metrics.get(m) for m in metric_names]
            values = [100 * e["value"] if e and e["value"] is not None else np.nan for e in estimates]
            lower = [100 * (e["value"] - e["lo"]) if e and e["value"] is not None else 0 for e in estimates]
            upper = [100 * (e["hi"] - e["value"]) if e and e["value"] is not None else 0 for e in estimates]
            ax.bar(x + (i - (len(models) - 1) / 2) * width, values, width, yerr=[lower, upper], capsize=3, label=name)
        ax.set_xticks(x)
        ax.set_xticklabels(
            ["Task exact match ↑"] if panel == "task" else [_METRIC_LABELS[m] for m in metric_names],
            rotation=20,
            ha="right",
            fontsize=8,
        )
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.set_title(panel)
    axes[0].legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=110)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------------


def _unique_stem(out_dir: Path, timestamp: str) -> str:
    stem, suffix = timestamp, 1
    while (out_dir / f"results_{stem}.json").exists():
        suffix += 1
        stem = f"{timestamp}-{suffix}"
    return stem


def write_report(
    results: dict[str, Any], samples: Sequence[Mapping[str, Any]], out_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write results JSON, samples JSONL, markdown and PNG into ``out_dir``; fills ``results["files"]``.

    Returns:
        ``{"results", "samples", "markdown", "plot"?}`` paths of the files written.
    """
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stem = _unique_stem(directory, results["timestamp"])
    paths = {
        "results": directory / f"results_{stem}.json",
        "samples": directory / f"samples_{stem}.jsonl",
        "markdown": directory / f"report_{stem}.md",
        "plot": directory / f"plot_{stem}.png",
    }
    with open(paths["samples"], "w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(render_markdown(results), encoding="utf-8")
    if not plot_results(results, paths["plot"]):
        del paths["plot"]
    results["files"] = {k: (paths[k].name if k in paths else None) for k in ("results", "samples", "markdown", "plot")}
    validate_results(results)
    with open(paths["results"], "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    return paths
