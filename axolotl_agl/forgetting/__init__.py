"""The forgetting curve: how the loss on what a model knew grows with fine-tuning tokens, and fitting it.

Modules: ``forms`` (the three curve forms), ``least_squares`` (the fit), ``bootstrap`` (intervals), ``fit`` (one
curve with intervals, and the selection; all four numpy only), ``records`` (the run's ``agl_forgetting.jsonl``,
:func:`fit_run_dir`), ``plot`` (PNG), ``data`` (evaluation sets), ``evaluate`` (torch), ``cli``
(``axolotl agl-forgetting``). The training callback is :mod:`axolotl_agl.integration.forgetting_callback`.
Importing this package imports numpy only.
"""

from axolotl_agl.forgetting.fit import FORMS, CurveFit, ForgettingFit, fit_curve, fit_forgetting_curve
from axolotl_agl.forgetting.plot import plot_forgetting_fits
from axolotl_agl.forgetting.records import METRICS, curve_from_records, fit_run_dir, read_forgetting_records

__all__ = [
    "FORMS",
    "METRICS",
    "CurveFit",
    "ForgettingFit",
    "curve_from_records",
    "fit_curve",
    "fit_forgetting_curve",
    "fit_run_dir",
    "plot_forgetting_fits",
    "read_forgetting_records",
]
