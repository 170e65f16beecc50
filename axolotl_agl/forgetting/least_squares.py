"""Least-squares fit of one curve form: closed form in ``(L0, A)``, a 1-D search over the shape parameter.

For a fixed shape parameter each form is linear in ``(L0, A)`` (:func:`~axolotl_agl.forgetting.forms.basis`),
which then has a closed-form least-squares solution; what remains is a one-dimensional search of the residual sum
of squares over the shape parameter (its *profile*): a log-spaced grid, then golden-section search between the
grid neighbours of the best grid point. Tokens are divided by their maximum first (``u = D / max D``), so the
numbers stay well scaled; :func:`to_original_units` gives the parameters for ``D`` in tokens (``A`` of the power
law is per ``token^β``).

Every function fits many curves at once: ``y`` is ``(B, n)``, one row per curve (the bootstrap refits all its
replicates in one call). Only numpy is used.
"""

from __future__ import annotations

import math

import numpy as np

from axolotl_agl.forgetting.forms import SHAPE_NAME, basis

__all__ = ["fit_rows", "single_fit", "to_original_units"]

_GRID_POINTS = 241
_GOLDEN_ITERATIONS = 70
_BETA_RANGE = (1e-3, 4.0)
#: log/exp time scales searched from 1e-3 x the smallest positive D to 1e3 x the largest.
_SCALE_SPAN = 1e3


def _log_shape_grid(form: str, u: np.ndarray) -> np.ndarray:
    if form == "power_law":
        low, high = _BETA_RANGE
    else:
        low, high = float(u[u > 0].min()) / _SCALE_SPAN, _SCALE_SPAN
    return np.linspace(math.log(low), math.log(high), _GRID_POINTS)


def _linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise least squares ``y ≈ L0 + A·x`` (last axis = points): ``(L0, A, sse)``."""
    xm, ym = x.mean(-1, keepdims=True), y.mean(-1, keepdims=True)
    xc, yc = x - xm, y - ym
    sxx = (xc * xc).sum(-1)
    slope = np.where(sxx > 0, (xc * yc).sum(-1) / np.where(sxx > 0, sxx, 1.0), 0.0)
    intercept = ym[..., 0] - slope * xm[..., 0]
    residual = yc - slope[..., None] * xc
    return intercept, slope, (residual * residual).sum(-1)


def _profile_sse(form: str, log_shape: np.ndarray, u: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Residual sum of squares of each row of ``y`` (B, n) at its own ``log_shape`` (B,)."""
    return _linear_fit(basis(form, np.exp(log_shape)[:, None], u[None, :]), y)[2]


def _grid_argmin(form: str, grid: np.ndarray, u: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the best grid point for each row of ``y`` (B, n), all rows against all grid points at once."""
    x = basis(form, np.exp(grid)[:, None], u[None, :])  # (G, n)
    xc = x - x.mean(-1, keepdims=True)
    yc = y - y.mean(-1, keepdims=True)
    sxx = (xc * xc).sum(-1)  # (G,)
    sxy = yc @ xc.T  # (B, G)
    sse = (yc * yc).sum(-1)[:, None] - np.where(sxx > 0, sxy**2 / np.where(sxx > 0, sxx, 1.0), 0.0)
    return np.argmin(sse, axis=1)


def fit_rows(form: str, u: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Least-squares fit of ``form`` to every row of ``y`` (B, n) on scaled tokens ``u``.

    Returns scaled-unit arrays ``L0``, ``A``, ``shape`` and ``sse`` (each (B,)) and ``at_bound`` (best grid point
    at the end of the grid).
    """
    grid = _log_shape_grid(form, u)
    best = _grid_argmin(form, grid, u, y)
    lo = grid[np.clip(best - 1, 0, grid.size - 1)]
    hi = grid[np.clip(best + 1, 0, grid.size - 1)]
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = hi - g * (hi - lo), lo + g * (hi - lo)
    fc, fd = _profile_sse(form, c, u, y), _profile_sse(form, d, u, y)
    for _ in range(_GOLDEN_ITERATIONS):
        left = fc < fd
        lo, hi = np.where(left, lo, c), np.where(left, d, hi)
        probe = np.where(left, hi - g * (hi - lo), lo + g * (hi - lo))
        fprobe = _profile_sse(form, probe, u, y)
        c, d = np.where(left, probe, d), np.where(left, c, probe)
        fc, fd = np.where(left, fprobe, fd), np.where(left, fc, fprobe)
    log_shape = (lo + hi) / 2.0
    x = basis(form, np.exp(log_shape)[:, None], u[None, :])
    l0, a, sse = _linear_fit(x, y)
    return {
        "L0": l0,
        "A": a,
        "shape": np.exp(log_shape),
        "sse": sse,
        "at_bound": (best == 0) | (best == grid.size - 1),
    }


def to_original_units(form: str, rows: dict[str, np.ndarray], scale: float) -> dict[str, np.ndarray]:
    """Scaled-token parameters -> parameters of ``L(D)`` with ``D`` in tokens."""
    shape = rows["shape"]
    if form == "power_law":
        return {"L0": rows["L0"], "A": rows["A"] / np.power(scale, shape), "beta": shape}
    return {"L0": rows["L0"], "A": rows["A"], SHAPE_NAME[form]: shape * scale}


def single_fit(form: str, d: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    scale = float(d.max())
    rows = fit_rows(form, d / scale, y[None, :])
    params = {key: float(value[0]) for key, value in to_original_units(form, rows, scale).items()}
    return params, rows
