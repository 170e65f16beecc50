"""The markdown report of a drift evaluation: one table row per model and prompt set (percent, 95% intervals)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from axolotl_agl.drift.metrics import Difference, Estimate
from axolotl_agl.drift.results import DriftResults, as_results

__all__ = ["format_percent", "render_markdown"]


def format_percent(estimate: Estimate | Difference | None, signed: bool = False) -> str:
    """``"12.5 [3.1, 25.0]"`` (percent with its interval); ``"–"`` when there is no estimate."""
    if estimate is None or estimate.value is None or estimate.lo is None or estimate.hi is None:
        return "–"
    sign = "+" if signed else ""
    value, lo, hi = (100.0 * x for x in (estimate.value, estimate.lo, estimate.hi))
    return f"{value:{sign}.1f} [{lo:{sign}.1f}, {hi:{sign}.1f}]"


def _header(results: DriftResults) -> list[str]:
    config = results.config
    return [
        f"# DriftCheck results ({results.created_at})",
        "",
        f"Base model: `{config.base_model}`; judge: `{config.judge.get('name')}`; "
        f"greedy, {config.max_new_tokens} new tokens; {config.n_bootstrap} bootstrap resamples.",
        "Percent with 95% percentile-bootstrap intervals; Δ is model − base on the same prompts (paired).",
        "Read refusal beside over-refusal and substantive compliance: a drop in refusal with no rise in compliance "
        "is a change of format, and a drop in both refusal and over-refusal is non-selective erosion.",
    ]


def _set_rows(results: DriftResults) -> list[str]:
    lines = [
        "| Model | Set | n unsafe/safe | Refusal on unsafe ↑ | Over-refusal on safe ↓ | Compliance on unsafe ↓ "
        "| Δ refusal | Δ over-refusal | Δ compliance on unsafe |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, model in results.models.items():
        for set_name, result in model.sets.items():
            metrics, drift = result.metrics, result.drift or {}
            counts = results.counts.prompt_sets.get(set_name)
            n = f"{counts.unsafe}/{counts.safe}" if counts else "?/?"
            cells = [format_percent(metrics.get(m)) for m in _SHOWN]
            cells += [format_percent(drift.get(m), signed=True) for m in _SHOWN]
            lines.append(f"| {name} | {set_name} | {n} | " + " | ".join(cells) + " |")
    return lines


_SHOWN = ("refusal_rate_unsafe", "over_refusal_safe", "compliance_rate_unsafe")


def _task_rows(results: DriftResults) -> list[str]:
    rows = [(name, model.task) for name, model in results.models.items() if model.task is not None]
    if not rows:
        return []
    lines = ["", "| Model | Task exact match ↑ | Δ task |", "|---|---|---|"]
    return lines + [f"| {n} | {format_percent(t.accuracy)} | {format_percent(t.drift, True)} |" for n, t in rows]


def _judge_rows(results: DriftResults) -> list[str]:
    rows = [
        (name, set_name, judge, block.metrics)
        for name, model in results.models.items()
        for set_name, result in model.sets.items()
        for judge, block in result.judges.items()
    ]
    if not rows:
        return []
    lines = ["", "| Model | Set | Judge | Refusal on unsafe | Over-refusal on safe |", "|---|---|---|---|---|"]
    return lines + [
        f"| {n} | {s} | {j} | {format_percent(m.get('refusal_rate_unsafe'))} "
        f"| {format_percent(m.get('over_refusal_safe'))} |"
        for n, s, j, m in rows
    ]


def render_markdown(results: DriftResults | Mapping[str, Any]) -> str:
    """A markdown report: one row per model and prompt set (percent, 95% bootstrap interval in brackets).

    ``results`` is a :class:`~axolotl_agl.drift.results.DriftResults` or its JSON dict.
    """
    typed = as_results(results)
    lines = [*_header(typed), "", *_set_rows(typed), *_task_rows(typed), *_judge_rows(typed)]
    return "\n".join(lines) + "\n"
