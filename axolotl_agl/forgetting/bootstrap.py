"""Residual bootstrap of a fitted forgetting curve (seeded; all replicates refitted together).

Each replicate is ``fitted values + residuals drawn with replacement``; the residuals are centred and scaled by
``sqrt(n/(n−3))`` for the three fitted parameters, so their spread matches the error variance. Percentile
intervals of the refitted parameters are then read from the samples. This assumes independent residuals;
evaluations of one run on the same examples are correlated in time, which makes the intervals too narrow when the
curve does not follow the form.
"""

from __future__ import annotations

import math

import numpy as np

from axolotl_agl.forgetting.forms import FORMS, basis
from axolotl_agl.forgetting.least_squares import fit_rows, to_original_units

__all__ = ["bootstrap_samples", "percentile_interval"]


def bootstrap_samples(
    form: str, d: np.ndarray, fitted: np.ndarray, residuals: np.ndarray, n_boot: int, seed: int
) -> dict[str, np.ndarray]:
    """Parameter (and rise) samples from ``n_boot`` residual-bootstrap refits, all replicates fitted together."""
    n = d.size
    centred = (residuals - residuals.mean()) * math.sqrt(n / (n - 3))
    rng = np.random.default_rng([seed, FORMS.index(form)])
    y = fitted[None, :] + centred[rng.integers(0, n, size=(n_boot, n))]
    scale = float(d.max())
    rows = fit_rows(form, d / scale, y)
    samples = to_original_units(form, rows, scale)
    samples["rise"] = rows["A"] * basis(form, rows["shape"], np.float64(1.0))
    return samples


def percentile_interval(samples: np.ndarray, confidence: float) -> list[float]:
    """``[low, high]``: the central ``confidence`` percentile interval of ``samples``."""
    return np.quantile(samples, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]).tolist()
