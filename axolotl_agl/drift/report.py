"""The report files of a drift evaluation, written by :func:`write_report` into ``out_dir``.

``<ts>`` is a UTC timestamp like ``20250101T120000Z`` (with ``-2``, ``-3``... when a report of that second exists):

* ``results_<ts>.json``: the results (layout in :mod:`axolotl_agl.drift.schema`, typed form
  :class:`~axolotl_agl.drift.results.DriftResults`, read back with :func:`load_results`).
* ``samples_<ts>.jsonl``: one line per generated reply (:mod:`axolotl_agl.drift.samples`; no third-party prompt
  text unless asked for).
* ``report_<ts>.md``: a markdown table (:func:`render_markdown`).
* ``plot_<ts>.png``: bars with 95% error bars (:func:`plot_results`; needs matplotlib, skipped with a warning when
  it is missing).

``load_results``, ``render_markdown`` and ``plot_results`` are importable from here as well as from their modules.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from axolotl_agl.drift.markdown import render_markdown
from axolotl_agl.drift.plot import plot_results
from axolotl_agl.drift.results import DriftResults, ReportFiles, load_results
from axolotl_agl.drift.samples import Sample, write_samples
from axolotl_agl.drift.schema import validate_results
from axolotl_agl.utils.io import atomic_write_json, atomic_write_text

__all__ = ["load_results", "plot_results", "render_markdown", "report_paths", "write_report"]


def _unique_stem(out_dir: Path, timestamp: str) -> str:
    stem, suffix = timestamp, 1
    while (out_dir / f"results_{stem}.json").exists():
        suffix += 1
        stem = f"{timestamp}-{suffix}"
    return stem


def report_paths(out_dir: str | os.PathLike[str], results: DriftResults) -> dict[str, Path]:
    """``{"results", "samples", "markdown", "plot"}`` paths of the files ``results`` names (only those written)."""
    directory = Path(out_dir)
    return {key: directory / name for key, name in results.files.to_dict().items() if name}


def write_report(results: DriftResults, samples: Sequence[Sample], out_dir: str | os.PathLike[str]) -> DriftResults:
    """Write results JSON, samples JSONL, markdown and PNG into ``out_dir``.

    Returns:
        ``results`` with :attr:`~axolotl_agl.drift.results.DriftResults.files` naming the files written (``plot``
        None when matplotlib is missing); :func:`report_paths` turns them into paths.
    """
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stem = _unique_stem(directory, results.timestamp)
    names = ReportFiles(
        results=f"results_{stem}.json",
        samples=f"samples_{stem}.jsonl",
        markdown=f"report_{stem}.md",
        plot=f"plot_{stem}.png",
    )
    write_samples(directory / names.samples, samples)
    atomic_write_text(directory / names.markdown, render_markdown(results))
    if not plot_results(results, directory / names.plot):
        names = replace(names, plot=None)
    written = replace(results, files=names)
    document = written.to_dict()
    validate_results(document)
    atomic_write_json(directory / names.results, document)
    return written
