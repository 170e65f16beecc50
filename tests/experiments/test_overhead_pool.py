"""``benchmarks/overhead_pool.py``: the per-pair step-time statistics and their pooling over result files."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import overhead_pool as op  # noqa: E402


def result(pairs, warmup=1):
    """An ``overhead_trainer`` result with the given ``[(lora_steps, agl_steps), ...]`` (CPU seconds)."""
    runs = []
    for repeat, (lora, agl) in enumerate(pairs):
        runs += [
            {"method": "lora", "repeat": repeat, "step_cpu": lora, "step_wall": [2 * v for v in lora]},
            {"method": "agl", "repeat": repeat, "step_cpu": agl, "step_wall": [2 * v for v in agl]},
        ]
    return {"settings": {"warmup_steps_excluded": warmup}, "runs": runs}


def test_pair_statistics_on_a_bimodal_step_time():
    lora = [1.0, 1.0, 1.0, 2.0, 2.0]
    agl = [1.1, 1.1, 1.1, 2.0, 2.0]  # 10 % more on the fast batches, nothing on the slow ones
    stats = op.pair_statistics(lora, agl)
    assert stats["median_ratio"] == pytest.approx(1.1)
    assert stats["paired"] == pytest.approx(1.1)
    assert stats["total"] == pytest.approx(7.3 / 7.0)
    with pytest.raises(ValueError, match="same non-zero number of steps"):
        op.pair_statistics([1.0], [1.0, 2.0])


def test_pooling_leaves_out_the_warmup_and_takes_medians_over_pairs(tmp_path, capsys):
    first = result([([9.0, 1.0, 2.0], [9.0, 1.2, 2.4]), ([9.0, 1.0, 1.0], [1.0, 1.0, 1.0])])
    second = result([([5.0, 2.0, 2.0], [1.0, 2.2, 2.2])])
    pooled = op.pool([first, second])
    assert pooled["pairs"] == 3
    assert [p["total"] for p in pooled["per_pair"]] == pytest.approx([1.2, 1.0, 1.1])  # step 0 left out
    assert pooled["median_over_pairs"]["total"] == pytest.approx(1.1)
    assert op.pool([first], clock="wall")["per_pair"][0]["total"] == pytest.approx(1.2)
    paths = []
    for i, data in enumerate((first, second)):
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(data), encoding="utf-8")
    assert op.main([str(p) for p in paths]) == 0
    assert json.loads(capsys.readouterr().out)["median_over_pairs"]["paired"] == pytest.approx(1.1)
