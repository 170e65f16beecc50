"""Step-time ratios of several ``overhead_trainer`` result files pooled, recomputed from their raw per-step times.

The step times of a run are bimodal on SmolLM2-135M with the demo's data (a third of the batches take ~2x as long,
the same batches in every run), so the ratio of two medians mostly compares the fast mode. Beside that ratio (the
headline of ``benchmarks/overhead_trainer.py``) this prints, per interleaved pair and pooled over every pair of the
files given, two statistics that compare the same batches:

* ``paired``: the median over steps of ``agl_step_i / lora_step_i`` (the two runs see the same batches in the same
  order: same data, seed and ``dataset_prepared_path``);
* ``total``: ``Σ agl_step_i / Σ lora_step_i``, what the counted steps cost in all.

The first ``warmup_steps_excluded`` steps of every run are left out, as in the file. Run from the repository root::

    .venv/bin/python benchmarks/overhead_pool.py benchmarks/results/overhead_trainer_2026-12-04c.json \\
        benchmarks/results/overhead_trainer_2026-12-04d.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def pair_statistics(lora: Sequence[float], agl: Sequence[float]) -> dict[str, float]:
    """``median_ratio`` (median over median), ``paired`` (median of step-wise ratios), ``total`` (sum over sum)."""
    if len(lora) != len(agl) or not lora:
        raise ValueError(f"a pair needs the same non-zero number of steps, got {len(lora)} and {len(agl)}")
    return {
        "median_ratio": statistics.median(agl) / statistics.median(lora),
        "paired": statistics.median(a / b for a, b in zip(agl, lora, strict=True)),
        "total": sum(agl) / sum(lora),
    }


def file_pairs(result: Mapping[str, Any], clock: str = "cpu") -> list[dict[str, float]]:
    """:func:`pair_statistics` of every ``(lora, agl)`` pair of one result file (runs in their interleaved order)."""
    warmup = int(result["settings"]["warmup_steps_excluded"])
    runs = {(r["method"], r["repeat"]): r[f"step_{clock}"][warmup:] for r in result["runs"]}
    repeats = sorted({repeat for _, repeat in runs})
    return [pair_statistics(runs[("lora", i)], runs[("agl", i)]) for i in repeats]


def pool(results: Sequence[Mapping[str, Any]], clock: str = "cpu") -> dict[str, Any]:
    """Per-pair statistics of every file and their medians over all pairs."""
    pairs = [pair for result in results for pair in file_pairs(result, clock)]
    if not pairs:
        raise ValueError("no (lora, agl) pairs in the files given")
    return {
        "clock": clock,
        "pairs": len(pairs),
        "per_pair": pairs,
        "median_over_pairs": {key: statistics.median(p[key] for p in pairs) for key in pairs[0]},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", type=Path, nargs="+", help="overhead_trainer result JSON files")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="process CPU (default) or wall")
    args = parser.parse_args(argv)
    results = [json.loads(path.read_text(encoding="utf-8")) for path in args.files]
    out = {"files": [str(p) for p in args.files], **pool(results, args.clock)}
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
