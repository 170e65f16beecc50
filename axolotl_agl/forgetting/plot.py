"""Plot forgetting curves: each run's measured points and its fitted curve (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from axolotl_agl.forgetting.fit import ForgettingFit

__all__ = ["describe_fit", "plot_forgetting_fits"]

_SHAPE_SYMBOL = {"beta": "β", "D0": "D0", "tau": "τ"}


def describe_fit(fit: ForgettingFit) -> str:
    """One line for a legend: the selected form, its shape parameter and R², e.g. ``power_law β=0.41 R²=0.98``."""
    best = fit.best
    shape = next(key for key in best.params if key not in ("L0", "A"))
    r2 = f" R²={best.r2:.3f}" if best.r2 is not None else ""
    return f"{best.form} {_SHAPE_SYMBOL[shape]}={best.params[shape]:.3g}{r2}"


def plot_forgetting_fits(
    fits: Mapping[str, ForgettingFit], path: str | os.PathLike[str], title: str | None = None
) -> Path:
    """Draw every run's points and its selected fitted curve on one axis (loss vs training tokens); write a PNG.

    When another form was selected, the power law ``L0 + A·D^β`` is drawn dotted too.

    Args:
        fits: label -> fit (e.g. from :func:`~axolotl_agl.forgetting.records.fit_run_dir`); all should share a metric.
        path: where to write the PNG (parent directories are created).
        title: plot title; default names the metric.

    Returns:
        ``path`` as a ``Path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not fits:
        raise ValueError("plot_forgetting_fits needs at least one fit")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(7.0, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    metrics = sorted({fit.metric for fit in fits.values()})
    for index, (label, fit) in enumerate(fits.items()):
        colour = f"C{index % 10}"
        ax.plot(fit.tokens, fit.losses, "o", color=colour, markersize=4, label=f"{label} (measured)")
        grid = np.linspace(0.0, max(fit.tokens), 200)
        ax.plot(grid, fit.best.predict(grid), "-", color=colour, label=f"{label}: {describe_fit(fit)}")
        power = fit.fits.get("power_law")
        if power is not None and fit.selected != "power_law":
            beta = power.params["beta"]
            ax.plot(
                grid, power.predict(grid), ":", color=colour, label=f"{label}: power_law β={beta:.3g} (not selected)"
            )
    ax.set_xlabel("supervised training tokens D")
    ax.set_ylabel(f"{' / '.join(metrics)} (nats per token)")
    ax.set_title(title or f"Forgetting curve: {' / '.join(metrics)}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out)
    return out
