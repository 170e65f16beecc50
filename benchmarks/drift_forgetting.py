"""Forgetting curves of the drift benchmark's LoRA and AlignGuard runs: per-seed and pooled fits, and a plot.

Each run trained with ``alignguard.forgetting`` wrote ``agl_forgetting.jsonl`` (loss on the base model's own
answers to general prompts, on the alignment set and on the task, against supervised training tokens).
The pooled fit puts every seed's points of one method on one curve (the step-0 points coincide, so the
curve is anchored at the common start); its bootstrap intervals are what the comparison in
``docs/results.md`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from axolotl_agl.forgetting import (
    curve_from_records,
    fit_forgetting_curve,
    plot_forgetting_fits,
    read_forgetting_records,
)

METRICS = ("general_loss", "alignment_loss")


def pooled_curve(runs: dict[int, Path], metric: str) -> tuple[list[float], list[float]]:
    """Every seed's ``(tokens, loss)`` points of ``metric``, concatenated."""
    tokens: list[float] = []
    losses: list[float] = []
    for run in runs.values():
        _, seed_tokens, seed_losses = curve_from_records(read_forgetting_records(run), metric)
        tokens += seed_tokens
        losses += seed_losses
    return tokens, losses


def summarise_fit(fit: Any) -> dict[str, Any]:
    """The selected form's parameters, intervals, rise over the observed tokens and R²."""
    best = fit.best
    return {
        "selected": fit.selected,
        "params": best.params,
        "intervals": best.intervals,
        "rise": best.rise,
        "rise_interval": best.rise_interval,
        "r2": best.r2,
        "power_law": fit.fits["power_law"].to_dict() if "power_law" in fit.fits else None,
    }


def fit_forgetting_curves(adapters: dict[str, dict[int, Path]], out_dir: Path, stamp: str) -> dict[str, Any]:
    """Per-seed and pooled fits of every method whose runs recorded a forgetting curve; PNG per metric."""
    recorded = {
        method: {seed: run for seed, run in runs.items() if (run / "agl_forgetting.jsonl").is_file()}
        for method, runs in adapters.items()
    }
    recorded = {method: runs for method, runs in recorded.items() if runs}
    out: dict[str, Any] = {"methods": sorted(recorded), "metrics": {}, "plots": {}}
    for metric in METRICS:
        pooled_fits = {}
        per_metric: dict[str, Any] = {}
        for method, runs in recorded.items():
            tokens, losses = pooled_curve(runs, metric)
            pooled_fits[method] = fit_forgetting_curve(tokens, losses, metric=metric)
            per_seed = {}
            for seed, run in runs.items():
                _, seed_tokens, seed_losses = curve_from_records(read_forgetting_records(run), metric)
                per_seed[seed] = summarise_fit(fit_forgetting_curve(seed_tokens, seed_losses, metric=metric))
            per_metric[method] = {"pooled": summarise_fit(pooled_fits[method]), "per_seed": per_seed}
        out["metrics"][metric] = per_metric
        if pooled_fits:
            out_dir.mkdir(parents=True, exist_ok=True)
            png = out_dir / f"forgetting_{metric}_{stamp}.png"
            plot_forgetting_fits(pooled_fits, png, title=f"Forgetting curve ({metric}), all seeds pooled")
            out["plots"][metric] = png.name
    return out
