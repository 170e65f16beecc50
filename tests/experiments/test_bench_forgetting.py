"""The drift benchmark's forgetting summary: pooled and per-seed fits from run records, and the plot."""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from drift_forgetting import fit_forgetting_curves  # noqa: E402


def write_run(run: Path, rise: float, beta: float, seed: int) -> Path:
    """A run folder with 9 forgetting records following 2 + rise·(D/D_max)^β plus small noise."""
    run.mkdir(parents=True)
    noise = np.random.default_rng(seed).normal(0, 0.002, size=9)
    with (run / "agl_forgetting.jsonl").open("w") as handle:
        for i in range(9):
            tokens = 1000 * i
            general = 2 + rise * (tokens / 8000) ** beta + (noise[i] if i else 0.0)
            row = {"step": 5 * i, "tokens_seen": tokens, "general_loss": general, "alignment_loss": general + 1}
            handle.write(json.dumps(row | {"task_loss": 1.0, "seconds": float(i)}) + "\n")
    return run


def test_pooled_fits_rank_the_faster_forgetter_higher(tmp_path):
    adapters = {
        "lora": {s: write_run(tmp_path / f"lora-s{s}", rise=0.8, beta=0.5, seed=s) for s in (0, 1)},
        "agl": {s: write_run(tmp_path / f"agl-s{s}", rise=0.2, beta=0.5, seed=10 + s) for s in (0, 1)},
        "replay": {0: tmp_path / "replay-s0"},  # no records: left out
    }
    (tmp_path / "replay-s0").mkdir()
    out = fit_forgetting_curves(adapters, tmp_path / "results", "stamp")
    assert out["methods"] == ["agl", "lora"]
    general = out["metrics"]["general_loss"]
    lora, agl = general["lora"]["pooled"], general["agl"]["pooled"]
    assert abs(lora["rise"] - 0.8) < 0.05 and abs(agl["rise"] - 0.2) < 0.05
    assert agl["rise_interval"][1] < lora["rise_interval"][0]  # separated intervals
    assert set(general["lora"]["per_seed"]) == {0, 1}
    assert (tmp_path / "results" / out["plots"]["general_loss"]).stat().st_size > 0
    json.dumps(out)  # JSON-ready
