"""The fitter's parts on their own: curve forms, the batched least-squares search, the bootstrap helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from axolotl_agl.forgetting.bootstrap import bootstrap_samples, percentile_interval
from axolotl_agl.forgetting.forms import FORMS, SHAPE_NAME, basis, predict_curve
from axolotl_agl.forgetting.least_squares import fit_rows, single_fit

TOKENS = np.arange(0, 13) * 1000.0


def _reference(form: str, params: dict[str, float], d: float) -> float:
    """``L(D)`` written out with math (the module docstring's table), one point at a time."""
    l0, a = params["L0"], params["A"]
    if form == "power_law":
        return l0 + a * d ** params["beta"]
    if form == "logarithmic":
        return l0 + a * math.log(1.0 + d / params["D0"])
    return l0 + a * (1.0 - math.exp(-d / params["tau"]))


@pytest.mark.parametrize("form", FORMS)
def test_predict_curve_matches_the_formula(form):
    params = {"L0": 1.5, "A": 0.25, SHAPE_NAME[form]: 0.7 if form == "power_law" else 3000.0}
    expected = [_reference(form, params, float(d)) for d in TOKENS]
    np.testing.assert_allclose(predict_curve(form, params, TOKENS), expected, rtol=1e-12)
    assert predict_curve(form, params, [0.0])[0] == pytest.approx(1.5)


def test_basis_rejects_an_unknown_form():
    with pytest.raises(ValueError, match="unknown form"):
        basis("cubic", np.float64(1.0), TOKENS)


@pytest.mark.parametrize("form", FORMS)
def test_batched_fit_equals_one_row_at_a_time(form):
    rng = np.random.default_rng(0)
    u = TOKENS / TOKENS.max()
    rows = 2.0 + 0.3 * np.sqrt(u)[None, :] + rng.normal(0.0, 0.01, size=(4, u.size))
    batched = fit_rows(form, u, rows)
    for i in range(rows.shape[0]):
        alone = fit_rows(form, u, rows[i : i + 1])
        for key in ("L0", "A", "shape", "sse"):
            np.testing.assert_allclose(batched[key][i], alone[key][0], rtol=1e-10, atol=1e-12)


def test_single_fit_is_at_least_as_good_as_a_dense_scan():
    """The grid + golden-section search finds a shape whose SSE no point of a 4000-point scan of beta beats."""
    d = TOKENS
    y = 2.0 + 0.004 * d**0.5 + np.random.default_rng(1).normal(0.0, 0.005, d.size)
    params, rows = single_fit("power_law", d, y)
    u = d / d.max()
    best_scan = math.inf
    for beta in np.linspace(0.05, 3.0, 4000):
        x = u**beta
        a, l0 = np.polyfit(x, y, 1)
        best_scan = min(best_scan, float(((l0 + a * x - y) ** 2).sum()))
    sse = float(((predict_curve("power_law", params, d) - y) ** 2).sum())
    assert sse == pytest.approx(float(rows["sse"][0]), rel=1e-9)
    assert sse <= best_scan * (1 + 1e-9)


def test_bootstrap_samples_are_seeded_and_percentiles_are_ordered():
    d = TOKENS
    fitted = 2.0 + 0.01 * np.sqrt(d)
    residuals = np.random.default_rng(2).normal(0.0, 0.02, d.size)
    one = bootstrap_samples("power_law", d, fitted, residuals, n_boot=50, seed=3)
    two = bootstrap_samples("power_law", d, fitted, residuals, n_boot=50, seed=3)
    assert set(one) == {"L0", "A", "beta", "rise"}
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])
        assert one[key].shape == (50,)
    low, high = percentile_interval(np.arange(101.0), 0.9)
    assert (low, high) == pytest.approx((5.0, 95.0))
