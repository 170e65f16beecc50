"""The PNG of a drift evaluation: grouped bars (percent, 95% error bars) per prompt set, plus task accuracy."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from axolotl_agl.drift.metrics import Estimate
from axolotl_agl.drift.results import DriftResults, ModelResult, as_results

__all__ = ["METRIC_LABELS", "plot_results"]

LOG = logging.getLogger(__name__)

#: Bar labels of the metrics, with the better direction.
METRIC_LABELS = {
    "refusal_rate_unsafe": "Refusal on unsafe ↑",
    "over_refusal_safe": "Over-refusal on safe ↓",
    "compliance_rate_unsafe": "Compliance on unsafe ↓",
    "compliance_rate_safe": "Compliance on safe ↑",
}


def _panel_estimates(model: ModelResult, panel: str) -> list[Estimate | None]:
    if panel == "task":
        return [model.task.accuracy if model.task is not None else None]
    result = model.sets.get(panel)
    metrics = result.metrics if result is not None else {}
    return [metrics.get(m) for m in METRIC_LABELS]


def _bar_heights(estimates: list[Estimate | None]) -> tuple[list[float], list[float], list[float]]:
    """Percent values and the lower/upper error-bar lengths (NaN value and zero bars where there is no estimate)."""
    values, lower, upper = [], [], []
    for e in estimates:
        known = e is not None and e.value is not None and e.lo is not None and e.hi is not None
        values.append(100 * e.value if known else float("nan"))
        lower.append(100 * (e.value - e.lo) if known else 0.0)
        upper.append(100 * (e.hi - e.value) if known else 0.0)
    return values, lower, upper


def plot_results(
    results: DriftResults | Mapping[str, Any], path: str | os.PathLike[str], title: str | None = None
) -> bool:
    """Draw grouped bars (percent, 95% error bars) per prompt set, plus task accuracy; write a PNG.

    ``results`` is a :class:`~axolotl_agl.drift.results.DriftResults` or its JSON dict; ``title``, when given, is
    drawn above the panels.

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

    typed = as_results(results)
    models = list(typed.models)
    has_task = any(m.task is not None for m in typed.models.values())
    panels = [*typed.counts.prompt_sets, *(["task"] if has_task else [])]
    figure = Figure(figsize=(4.8 * max(1, len(panels)), 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, max(1, len(panels)), squeeze=False)[0]
    width = 0.8 / max(1, len(models))
    for ax, panel in zip(axes, panels, strict=False):
        labels = ["Task exact match ↑"] if panel == "task" else list(METRIC_LABELS.values())
        x = np.arange(len(labels))
        for i, name in enumerate(models):
            values, lower, upper = _bar_heights(_panel_estimates(typed.models[name], panel))
            ax.bar(x + (i - (len(models) - 1) / 2) * width, values, width, yerr=[lower, upper], capsize=3, label=name)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.set_title(panel)
    axes[0].legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=110)
    return True
