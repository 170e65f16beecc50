"""Fitting a forgetting curve: loss on what the model knew before, as a function of fine-tuning tokens.

A run's forgetting records give points ``(D_i, L_i)``: ``D`` = supervised training tokens seen so far
(0 before the first step), ``L`` = mean per-token loss (nats) on a fixed evaluation set. Three candidate
curves, each with three parameters — a start value ``L0``, an amplitude ``A`` and one shape parameter:

==========================  ==================================  =========================================
form                        ``L(D)``                            shape parameter
==========================  ==================================  =========================================
``power_law``               ``L0 + A·D^β``                      ``beta`` > 0 (the scaling exponent)
``logarithmic``             ``L0 + A·log(1 + D/D0)``            ``D0`` > 0 (tokens where growth turns log)
``saturating_exponential``  ``L0 + A·(1 − exp(−D/τ))``          ``tau`` > 0 (tokens to ~63% of the rise)
==========================  ==================================  =========================================

Every form equals ``L0`` at ``D = 0``, so the step-0 evaluation is an ordinary data point that pins ``L0``.

**Fit (least squares, no weights).** For a fixed shape parameter each form is linear in ``(L0, A)``, which
then has a closed-form least-squares solution; what remains is a one-dimensional search of the residual sum
of squares over the shape parameter (its *profile*): a log-spaced grid, then golden-section search between
the grid neighbours of the best grid point. Tokens are divided by their maximum first, so the numbers stay
well scaled; reported parameters are in the original units (``A`` of the power law is per ``token^β``).

**Uncertainty.** Residual bootstrap (seeded): fitted values plus residuals drawn with replacement
(centred, scaled by ``sqrt(n/(n−3))`` for the three fitted parameters), refitted; percentile intervals.
This assumes independent residuals; evaluations of one run on the same examples are correlated in time,
which makes the intervals too narrow when the curve does not follow the form.

**Selection.** Each form is fitted again on all but the last ``h`` points (by ``D``; default ``h = ⌊n/4⌋``,
at least 1) and scored by the root-mean-square error of its predictions on those ``h`` points: the question
a scaling law answers is extrapolation to more tokens. The form with the lowest held-out error is selected
(ties: the order above).

Only numpy is used. Everything here is a pure function of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

__all__ = [
    "FORMS",
    "MIN_POINTS",
    "CurveFit",
    "ForgettingFit",
    "check_curve",
    "fit_curve",
    "fit_forgetting_curve",
    "holdout_rmse",
    "predict_curve",
]

FORMS: tuple[str, ...] = ("power_law", "logarithmic", "saturating_exponential")
#: 3 parameters + 1 degree of freedom for the residuals + 1 held-out point.
MIN_POINTS = 5

_SHAPE_NAME = {"power_law": "beta", "logarithmic": "D0", "saturating_exponential": "tau"}
_FORMULA = {
    "power_law": "L0 + A*D^beta",
    "logarithmic": "L0 + A*log(1 + D/D0)",
    "saturating_exponential": "L0 + A*(1 - exp(-D/tau))",
}
_GRID_POINTS = 241
_GOLDEN_ITERATIONS = 70
_BETA_RANGE = (1e-3, 4.0)
#: log/exp time scales searched from 1e-3 x the smallest positive D to 1e3 x the largest.
_SCALE_SPAN = 1e3


# ------------------------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------------------------


def check_curve(tokens: Sequence[float], losses: Sequence[float], what: str = "loss") -> tuple[np.ndarray, np.ndarray]:
    """Validate one curve and return ``(D, L)`` as float64 arrays sorted by ``D``.

    Raises:
        ValueError: lengths differ, fewer than :data:`MIN_POINTS` points, a non-finite or negative token count, a
            non-finite loss, or fewer than 4 distinct token counts (the message names the offending point).
    """
    d = np.asarray(list(tokens), dtype=np.float64)
    y = np.asarray(list(losses), dtype=np.float64)
    if d.ndim != 1 or y.ndim != 1 or d.shape != y.shape:
        raise ValueError(f"tokens and {what} must be 1-D of the same length, got {d.shape} and {y.shape}")
    if d.size < MIN_POINTS:
        raise ValueError(
            f"a forgetting curve needs at least {MIN_POINTS} points (3 parameters, 1 residual degree of freedom, "
            f"1 held-out point), got {d.size}; evaluate more often (alignguard.forgetting.eval_steps) or train longer"
        )
    for name, values in (("tokens", d), (what, y)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(
                f"{name} has non-finite values (NaN/Inf) at points {bad[:5].tolist()} "
                f"(values {values[bad[:5]].tolist()}); drop those records or fix the run that produced them"
            )
    negative = np.flatnonzero(d < 0)
    if negative.size:
        raise ValueError(f"tokens must be >= 0, got {d[negative[:5]].tolist()} at points {negative[:5].tolist()}")
    if np.unique(d).size < 4:
        raise ValueError(f"a forgetting curve needs at least 4 distinct token counts, got {np.unique(d).tolist()}")
    order = np.argsort(d, kind="stable")
    return d[order], y[order]


# ------------------------------------------------------------------------------------------------------------------
# Forms
# ------------------------------------------------------------------------------------------------------------------


def _basis(form: str, shape: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The column multiplying ``A`` for scaled tokens ``u`` (broadcast against ``shape``)."""
    if form == "power_law":
        return np.power(u, shape)
    if form == "logarithmic":
        return np.log1p(u / shape)
    if form == "saturating_exponential":
        return -np.expm1(-u / shape)
    raise ValueError(f"unknown form {form!r}; choose from {', '.join(FORMS)}")


def predict_curve(form: str, params: dict[str, float], tokens: Sequence[float] | np.ndarray) -> np.ndarray:
    """``L(D)`` of ``form`` with ``params`` (``L0``, ``A`` and the shape parameter) at ``tokens``."""
    d = np.asarray(tokens, dtype=np.float64)
    shape = params[_SHAPE_NAME[form]] if form in _SHAPE_NAME else None
    if shape is None:
        raise ValueError(f"unknown form {form!r}; choose from {', '.join(FORMS)}")
    return params["L0"] + params["A"] * _basis(form, np.float64(shape), d)


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
    return _linear_fit(_basis(form, np.exp(log_shape)[:, None], u[None, :]), y)[2]


def _grid_argmin(form: str, grid: np.ndarray, u: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the best grid point for each row of ``y`` (B, n), all rows against all grid points at once."""
    x = _basis(form, np.exp(grid)[:, None], u[None, :])  # (G, n)
    xc = x - x.mean(-1, keepdims=True)
    yc = y - y.mean(-1, keepdims=True)
    sxx = (xc * xc).sum(-1)  # (G,)
    sxy = yc @ xc.T  # (B, G)
    sse = (yc * yc).sum(-1)[:, None] - np.where(sxx > 0, sxy**2 / np.where(sxx > 0, sxx, 1.0), 0.0)
    return np.argmin(sse, axis=1)


def _fit_rows(form: str, u: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
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
    x = _basis(form, np.exp(log_shape)[:, None], u[None, :])
    l0, a, sse = _linear_fit(x, y)
    return {
        "L0": l0,
        "A": a,
        "shape": np.exp(log_shape),
        "sse": sse,
        "at_bound": (best == 0) | (best == grid.size - 1),
    }


def _to_original_units(form: str, rows: dict[str, np.ndarray], scale: float) -> dict[str, np.ndarray]:
    """Scaled-token parameters -> parameters of ``L(D)`` with ``D`` in tokens."""
    shape = rows["shape"]
    if form == "power_law":
        return {"L0": rows["L0"], "A": rows["A"] / np.power(scale, shape), "beta": shape}
    return {"L0": rows["L0"], "A": rows["A"], _SHAPE_NAME[form]: shape * scale}


# ------------------------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurveFit:
    """One fitted form.

    Attributes:
        form: ``power_law``, ``logarithmic`` or ``saturating_exponential``.
        formula: ``L(D)`` in words, e.g. ``"L0 + A*D^beta"``.
        params: ``L0``, ``A`` and the shape parameter (``beta``, ``D0`` or ``tau``), ``D`` in tokens.
        intervals: bootstrap percentile interval ``[low, high]`` per parameter (empty without bootstrap).
        rise: fitted ``L(D_max) − L0``: how much the loss grew over the observed tokens (comparable across forms
            and runs, unlike ``A``).
        rise_interval: bootstrap interval of ``rise`` (None without bootstrap).
        r2: in-sample ``1 − SSE/SST`` on all points (None when every loss is equal).
        rmse: in-sample root-mean-square error.
        holdout_rmse: error on the last points when fitted without them (None when not computed).
        at_bound: the shape parameter ended at the edge of its search range (the form fits poorly or the data are
            linear/flat; read the parameters with care).
        d_max: the largest token count in the data.
    """

    form: str
    formula: str
    params: dict[str, float]
    intervals: dict[str, list[float]]
    rise: float
    rise_interval: list[float] | None
    r2: float | None
    rmse: float
    holdout_rmse: float | None
    at_bound: bool
    d_max: float

    def predict(self, tokens: Sequence[float] | np.ndarray) -> np.ndarray:
        """Fitted loss at ``tokens``."""
        return predict_curve(self.form, self.params, tokens)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain floats and lists)."""
        return asdict(self)


@dataclass(frozen=True)
class ForgettingFit:
    """All candidate forms fitted to one curve, and the one selected by held-out error.

    Attributes:
        metric: which loss was fitted (e.g. ``general_loss``).
        tokens, losses: the data, sorted by tokens; ``steps`` the matching optimiser steps when known.
        selected: name of the selected form; :attr:`best` is its :class:`CurveFit`.
        fits: every candidate form's :class:`CurveFit`.
        holdout_points: ``h``, the number of last points held out for selection.
        n_boot, seed, confidence: bootstrap settings.
        selection_rule: the rule, in words.
    """

    metric: str
    tokens: list[float]
    losses: list[float]
    selected: str
    fits: dict[str, CurveFit]
    holdout_points: int
    n_boot: int
    seed: int
    confidence: float
    steps: list[int] | None = None
    selection_rule: str = field(
        default="lowest RMSE on the last holdout_points points (by tokens) when fitted on the others; "
        "ties broken in the order power_law, logarithmic, saturating_exponential"
    )

    @property
    def best(self) -> CurveFit:
        """The selected form's fit."""
        return self.fits[self.selected]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["fits"] = {name: fit.to_dict() for name, fit in self.fits.items()}
        return out


# ------------------------------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------------------------------


def _single_fit(form: str, d: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    scale = float(d.max())
    rows = _fit_rows(form, d / scale, y[None, :])
    params = {key: float(value[0]) for key, value in _to_original_units(form, rows, scale).items()}
    return params, rows


def fit_curve(
    tokens: Sequence[float],
    losses: Sequence[float],
    form: str = "power_law",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> CurveFit:
    """Least-squares fit of one form to ``(tokens, losses)`` with residual-bootstrap intervals.

    Args:
        tokens: supervised training tokens at each evaluation (0 allowed, no negatives).
        losses: the loss at each evaluation (nats per token).
        form: one of :data:`FORMS`.
        n_boot: bootstrap replicates (0 = no intervals).
        seed: bootstrap seed.
        confidence: interval coverage, e.g. 0.95.

    Raises:
        ValueError: bad inputs (see :func:`check_curve`), an unknown form, or a bad ``n_boot``/``confidence``.
    """
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; choose from {', '.join(FORMS)}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    d, y = check_curve(tokens, losses)
    params, rows = _single_fit(form, d, y)
    fitted = predict_curve(form, params, d)
    residuals = y - fitted
    sse = float(residuals @ residuals)
    sst = float(((y - y.mean()) ** 2).sum())
    d_max = float(d.max())
    rise = float(predict_curve(form, params, [d_max])[0] - params["L0"])
    intervals: dict[str, list[float]] = {}
    rise_interval = None
    if n_boot > 0:
        samples = _bootstrap(form, d, fitted, residuals, n_boot, seed)
        q = [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]
        intervals = {key: np.quantile(values, q).tolist() for key, values in samples.items() if key != "rise"}
        rise_interval = np.quantile(samples["rise"], q).tolist()
    return CurveFit(
        form=form,
        formula=_FORMULA[form],
        params=params,
        intervals=intervals,
        rise=rise,
        rise_interval=rise_interval,
        r2=1.0 - sse / sst if sst > 0 else None,
        rmse=math.sqrt(sse / d.size),
        holdout_rmse=None,
        at_bound=bool(rows["at_bound"][0]),
        d_max=d_max,
    )


def _bootstrap(
    form: str, d: np.ndarray, fitted: np.ndarray, residuals: np.ndarray, n_boot: int, seed: int
) -> dict[str, np.ndarray]:
    """Parameter (and rise) samples from ``n_boot`` residual-bootstrap refits, all replicates fitted together."""
    n = d.size
    centred = (residuals - residuals.mean()) * math.sqrt(n / (n - 3))
    rng = np.random.default_rng([seed, FORMS.index(form)])
    y = fitted[None, :] + centred[rng.integers(0, n, size=(n_boot, n))]
    scale = float(d.max())
    rows = _fit_rows(form, d / scale, y)
    samples = _to_original_units(form, rows, scale)
    samples["rise"] = rows["A"] * _basis(form, rows["shape"], np.float64(1.0))
    return samples


def holdout_rmse(tokens: Sequence[float], losses: Sequence[float], form: str, holdout: int) -> float:
    """RMSE of ``form`` on the last ``holdout`` points (by tokens) when fitted on the points before them.

    Raises:
        ValueError: fewer than 4 points would remain for the fit, or ``holdout`` < 1.
    """
    d, y = check_curve(tokens, losses)
    if holdout < 1 or d.size - holdout < 4:
        raise ValueError(
            f"holdout must be in [1, {d.size - 4}] for {d.size} points (at least 4 are fitted), got {holdout}"
        )
    train_d, train_y = d[:-holdout], y[:-holdout]
    if np.unique(train_d).size < 3:
        raise ValueError("the points left after the holdout need at least 3 distinct token counts")
    params, _ = _single_fit(form, train_d, train_y)
    error = predict_curve(form, params, d[-holdout:]) - y[-holdout:]
    return float(math.sqrt(float(np.mean(error * error))))


def default_holdout(n_points: int) -> int:
    """``max(1, n // 4)``, capped so that at least 4 points are fitted."""
    return max(1, min(n_points // 4, n_points - 4))


def fit_forgetting_curve(
    tokens: Sequence[float],
    losses: Sequence[float],
    forms: Sequence[str] = FORMS,
    holdout: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    metric: str = "loss",
    steps: Sequence[int] | None = None,
) -> ForgettingFit:
    """Fit every form in ``forms``, score each by held-out error, select the lowest (see the module docstring).

    Args:
        tokens, losses: the curve (any order; sorted by tokens here).
        forms: candidate forms (a subset of :data:`FORMS`, at least one).
        holdout: last points held out for selection (default :func:`default_holdout`).
        n_boot, seed, confidence: bootstrap settings for the intervals of every form.
        metric: name stored in the result (e.g. ``general_loss``).
        steps: optimiser step of each point, stored in the result (same order as ``tokens``).

    Raises:
        ValueError: bad inputs (message names the problem and the fix).
    """
    forms = list(forms)
    if not forms or any(form not in FORMS for form in forms):
        raise ValueError(f"forms must be a non-empty subset of {list(FORMS)}, got {forms}")
    d, y = check_curve(tokens, losses, what=metric)
    if steps is not None and len(steps) != d.size:
        raise ValueError(f"steps has {len(steps)} entries but the curve has {d.size} points")
    order = np.argsort(np.asarray(list(tokens), dtype=np.float64), kind="stable")
    h = default_holdout(d.size) if holdout is None else int(holdout)
    fits = {}
    for form in forms:
        fit = fit_curve(d, y, form, n_boot=n_boot, seed=seed, confidence=confidence)
        fits[form] = replace(fit, holdout_rmse=holdout_rmse(d, y, form, h))
    selected = min(forms, key=lambda name: (fits[name].holdout_rmse, FORMS.index(name)))
    return ForgettingFit(
        metric=metric,
        tokens=d.tolist(),
        losses=y.tolist(),
        selected=selected,
        fits=fits,
        holdout_points=h,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        steps=[int(steps[i]) for i in order] if steps is not None else None,
    )
