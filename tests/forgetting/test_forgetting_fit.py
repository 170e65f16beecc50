"""The forgetting-curve fitter (``axolotl_agl.forgetting.fit``): recovery, intervals, selection, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from axolotl_agl.forgetting.fit import (
    FORMS,
    fit_curve,
    fit_forgetting_curve,
    holdout_rmse,
    predict_curve,
)

TOKENS = np.arange(0, 21) * 4000.0  # step 0 plus 20 evaluations
TRUTH = {
    "power_law": {"L0": 2.0, "A": 0.004, "beta": 0.5},
    "logarithmic": {"L0": 2.0, "A": 0.3, "D0": 5000.0},
    "saturating_exponential": {"L0": 2.0, "A": 0.8, "tau": 20000.0},
}


def _noisy(form: str, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return predict_curve(form, TRUTH[form], TOKENS) + rng.normal(0.0, sigma, TOKENS.size)


@pytest.mark.parametrize("form", FORMS)
def test_clean_data_is_recovered_exactly(form):
    fit = fit_curve(TOKENS, predict_curve(form, TRUTH[form], TOKENS), form, n_boot=0)
    for key, value in TRUTH[form].items():
        assert fit.params[key] == pytest.approx(value, rel=1e-6), key
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    assert fit.rmse < 1e-9
    assert fit.intervals == {} and fit.rise_interval is None


@pytest.mark.parametrize("form", FORMS)
def test_selection_picks_the_true_form_on_clean_data(form):
    result = fit_forgetting_curve(TOKENS, predict_curve(form, TRUTH[form], TOKENS), n_boot=0)
    assert result.selected == form
    others = [f.holdout_rmse for name, f in result.fits.items() if name != form]
    assert result.best.holdout_rmse < 1e-6 < min(others)


def test_power_law_recovered_from_noisy_data_with_intervals_covering_the_truth():
    fit = fit_curve(TOKENS, _noisy("power_law", 0.01, seed=3), "power_law", n_boot=1000, seed=0)
    for key, value in TRUTH["power_law"].items():
        low, high = fit.intervals[key]
        assert low <= value <= high, (key, value, low, high)
        assert low < fit.params[key] < high
    assert fit.params["beta"] == pytest.approx(0.5, abs=0.05)
    assert fit.params["L0"] == pytest.approx(2.0, abs=0.03)
    true_rise = TRUTH["power_law"]["A"] * TOKENS.max() ** 0.5
    assert fit.rise_interval[0] <= true_rise <= fit.rise_interval[1]
    assert fit.r2 > 0.99


@pytest.mark.parametrize("form", FORMS)
def test_bootstrap_intervals_cover_the_truth_at_about_the_nominal_rate(form):
    """Over 100 noisy data sets the 95% intervals cover each true parameter at least 85 times.

    (95 is nominal; the percentile residual bootstrap undercovers a little with 21 points, and 85 leaves room for
    that plus ~2 binomial standard deviations. A broken interval, e.g. one that ignores the noise, covers far less.)
    """
    covered = {key: 0 for key in TRUTH[form]}
    for seed in range(100):
        fit = fit_curve(TOKENS, _noisy(form, 0.01, seed=100 + seed), form, n_boot=300, seed=seed)
        for key, value in TRUTH[form].items():
            covered[key] += fit.intervals[key][0] <= value <= fit.intervals[key][1]
    assert all(count >= 85 for count in covered.values()), covered


def test_noisy_power_law_is_selected_over_the_alternatives():
    result = fit_forgetting_curve(TOKENS, _noisy("power_law", 0.005, seed=7), n_boot=200)
    assert result.selected == "power_law"
    assert result.holdout_points == 5


def test_unsorted_input_gives_the_same_fit_and_keeps_steps_aligned():
    y = _noisy("power_law", 0.01, seed=1)
    steps = list(range(TOKENS.size))
    order = np.random.default_rng(0).permutation(TOKENS.size)
    shuffled = fit_forgetting_curve(TOKENS[order], y[order], n_boot=50, steps=[steps[i] for i in order])
    ordered = fit_forgetting_curve(TOKENS, y, n_boot=50, steps=steps)
    assert shuffled.to_dict() == ordered.to_dict()
    assert shuffled.steps == steps and shuffled.tokens == TOKENS.tolist()


def test_bootstrap_is_seeded():
    y = _noisy("logarithmic", 0.01, seed=2)
    a = fit_curve(TOKENS, y, "logarithmic", n_boot=200, seed=5)
    b = fit_curve(TOKENS, y, "logarithmic", n_boot=200, seed=5)
    c = fit_curve(TOKENS, y, "logarithmic", n_boot=200, seed=6)
    assert a == b
    assert a.intervals != c.intervals


def test_result_is_json_ready_and_predicts():
    result = fit_forgetting_curve(TOKENS, _noisy("power_law", 0.01, seed=4), n_boot=100, metric="general_loss")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["metric"] == "general_loss" and data["selected"] in FORMS
    assert set(data["fits"]) == set(FORMS)
    for name, curve in data["fits"].items():
        assert {"L0", "A"} <= set(curve["params"]) and set(curve["intervals"]) == set(curve["params"])
        np.testing.assert_allclose(
            result.fits[name].predict(TOKENS[:3]), predict_curve(name, curve["params"], TOKENS[:3])
        )
    assert result.best.predict([0.0])[0] == pytest.approx(result.best.params["L0"])


def test_flat_curve_has_no_r2_and_zero_rise():
    fit = fit_curve(TOKENS, np.full(TOKENS.size, 1.5), "power_law", n_boot=20)
    assert fit.r2 is None
    assert fit.rise == pytest.approx(0.0, abs=1e-12)
    assert fit.params["L0"] == pytest.approx(1.5)


def test_holdout_error_is_the_extrapolation_error():
    y = predict_curve("power_law", TRUTH["power_law"], TOKENS)
    y_bent = y.copy()
    y_bent[-2:] += 0.5  # the last two points leave the curve
    assert holdout_rmse(TOKENS, y, "power_law", 2) < 1e-6
    assert holdout_rmse(TOKENS, y_bent, "power_law", 2) == pytest.approx(0.5, rel=1e-4)


@pytest.mark.parametrize(
    ("tokens", "losses", "kwargs", "match"),
    [
        ([0, 1, 2, 3], [1.0, 1.1, 1.2, 1.3], {}, r"needs at least 5 points .* got 4; evaluate more often"),
        (
            [0, 1, 2, 3, 4],
            [1.0, float("nan"), 1.2, 1.3, 1.4],
            {},
            r"loss has non-finite values \(NaN/Inf\) at points \[1\]",
        ),
        ([0, 1, 2, 3, float("inf")], [1.0, 1.1, 1.2, 1.3, 1.4], {}, r"tokens has non-finite values .* at points \[4\]"),
        ([0, -1, 2, 3, 4], [1.0, 1.1, 1.2, 1.3, 1.4], {}, r"tokens must be >= 0, got \[-1\.0\] at points \[1\]"),
        ([0, 1, 2, 3, 4], [1.0, 1.1, 1.2], {}, r"must be 1-D of the same length"),
        ([0, 0, 1, 1, 2, 2], [1.0, 1.0, 1.1, 1.1, 1.2, 1.2], {}, r"at least 4 distinct token counts"),
        ([0, 1, 2, 3, 4], [1.0, 1.1, 1.2, 1.3, 1.4], {"form": "cubic"}, r"unknown form 'cubic'"),
        ([0, 1, 2, 3, 4], [1.0, 1.1, 1.2, 1.3, 1.4], {"confidence": 1.5}, r"confidence must lie in \(0, 1\)"),
        ([0, 1, 2, 3, 4], [1.0, 1.1, 1.2, 1.3, 1.4], {"n_boot": -1}, r"n_boot must be >= 0"),
    ],
    ids=[
        "too-few",
        "nan-loss",
        "inf-tokens",
        "negative-tokens",
        "length-mismatch",
        "few-distinct",
        "unknown-form",
        "bad-confidence",
        "negative-n-boot",
    ],
)
def test_bad_inputs_give_clear_errors(tokens, losses, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_curve(tokens, losses, **kwargs)


def test_bad_selection_settings_give_clear_errors():
    y = list(predict_curve("power_law", TRUTH["power_law"], TOKENS[:6]))
    with pytest.raises(ValueError, match=r"holdout must be in \[1, 2\] for 6 points"):
        fit_forgetting_curve(TOKENS[:6], y, holdout=3, n_boot=0)
    with pytest.raises(ValueError, match=r"forms must be a non-empty subset"):
        fit_forgetting_curve(TOKENS[:6], y, forms=[], n_boot=0)
    with pytest.raises(ValueError, match=r"steps has 2 entries but the curve has 6 points"):
        fit_forgetting_curve(TOKENS[:6], y, steps=[0, 1], n_boot=0)
