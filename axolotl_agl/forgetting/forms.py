"""The three candidate forgetting curves ``L(D)`` and the checks on a measured curve.

``D`` = supervised training tokens seen so far (0 before the first step), ``L`` = mean per-token loss (nats) on a
fixed evaluation set. Each form has three parameters: a start value ``L0``, an amplitude ``A`` and one shape
parameter:

==========================  ==================================  =========================================
form                        ``L(D)``                            shape parameter
==========================  ==================================  =========================================
``power_law``               ``L0 + A·D^β``                      ``beta`` > 0 (the scaling exponent)
``logarithmic``             ``L0 + A·log(1 + D/D0)``            ``D0`` > 0 (tokens where growth turns log)
``saturating_exponential``  ``L0 + A·(1 − exp(−D/τ))``          ``tau`` > 0 (tokens to ~63% of the rise)
==========================  ==================================  =========================================

Every form equals ``L0`` at ``D = 0``, so the step-0 evaluation is an ordinary data point that pins ``L0``.
For a fixed shape parameter every form is linear in ``(L0, A)``: ``L = L0 + A·basis(D)`` (:func:`basis`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["FORMS", "FORMULA", "MIN_POINTS", "SHAPE_NAME", "basis", "check_curve", "predict_curve"]

FORMS: tuple[str, ...] = ("power_law", "logarithmic", "saturating_exponential")
#: 3 parameters + 1 degree of freedom for the residuals + 1 held-out point.
MIN_POINTS = 5

#: Name of each form's shape parameter.
SHAPE_NAME = {"power_law": "beta", "logarithmic": "D0", "saturating_exponential": "tau"}
#: Each form's ``L(D)`` in words.
FORMULA = {
    "power_law": "L0 + A*D^beta",
    "logarithmic": "L0 + A*log(1 + D/D0)",
    "saturating_exponential": "L0 + A*(1 - exp(-D/tau))",
}


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


def basis(form: str, shape: np.ndarray, u: np.ndarray) -> np.ndarray:
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
    shape = params[SHAPE_NAME[form]] if form in SHAPE_NAME else None
    if shape is None:
        raise ValueError(f"unknown form {form!r}; choose from {', '.join(FORMS)}")
    return params["L0"] + params["A"] * basis(form, np.float64(shape), d)
