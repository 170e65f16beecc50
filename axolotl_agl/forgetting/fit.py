"""Fitting a forgetting curve: loss on what the model knew before, as a function of fine-tuning tokens.

A run's forgetting records give points ``(D_i, L_i)``: ``D`` = supervised training tokens seen so far
(0 before the first step), ``L`` = mean per-token loss (nats) on a fixed evaluation set. Three candidate
curves (:mod:`~axolotl_agl.forgetting.forms`: power law, logarithmic, saturating exponential), each with a start
value ``L0``, an amplitude ``A`` and one shape parameter.

**Fit (least squares, no weights)**: :mod:`~axolotl_agl.forgetting.least_squares` (closed form in ``(L0, A)``, a
1-D search over the shape parameter).

**Uncertainty**: :mod:`~axolotl_agl.forgetting.bootstrap` (residual bootstrap, seeded; percentile intervals).

**Selection.** Each form is fitted again on all but the last ``h`` points (by ``D``; default ``h = ⌊n/4⌋``,
at least 1) and scored by the root-mean-square error of its predictions on those ``h`` points: the question
a scaling law answers is extrapolation to more tokens. The form with the lowest held-out error is selected
(ties: the order of :data:`FORMS`).

Only numpy is used. Everything here is a pure function of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from axolotl_agl.forgetting.bootstrap import bootstrap_samples, percentile_interval
from axolotl_agl.forgetting.forms import FORMS, FORMULA, MIN_POINTS, check_curve, predict_curve
from axolotl_agl.forgetting.least_squares import single_fit

__all__ = [
    "FORMS",
    "MIN_POINTS",
    "CurveFit",
    "ForgettingFit",
    "check_curve",
    "default_holdout",
    "fit_curve",
    "fit_forgetting_curve",
    "holdout_rmse",
    "predict_curve",
]


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
    params, rows = single_fit(form, d, y)
    fitted = predict_curve(form, params, d)
    residuals = y - fitted
    sse = float(residuals @ residuals)
    sst = float(((y - y.mean()) ** 2).sum())
    d_max = float(d.max())
    rise = float(predict_curve(form, params, [d_max])[0] - params["L0"])
    intervals: dict[str, list[float]] = {}
    rise_interval = None
    if n_boot > 0:
        samples = bootstrap_samples(form, d, fitted, residuals, n_boot, seed)
        intervals = {key: percentile_interval(values, confidence) for key, values in samples.items() if key != "rise"}
        rise_interval = percentile_interval(samples["rise"], confidence)
    return CurveFit(
        form=form,
        formula=FORMULA[form],
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
    params, _ = single_fit(form, train_d, train_y)
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
