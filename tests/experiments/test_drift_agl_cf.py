"""The counterfactual-Fisher AlignGuard variant of the drift sweep (``benchmarks/drift.py``: ``agl_cf``)."""

import json
import sys
from pathlib import Path

from axolotl_agl.data import default_alignment_path
from axolotl_agl.integration.args import AlignGuardConfig

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import drift  # noqa: E402


def _task_file(tmp_path: Path) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"Sure! {i}"}]}
        for i in range(5)
    ]
    path = tmp_path / "task.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_counterfactual_rows_pair_every_unsafe_prompt_with_a_task_reply(tmp_path):
    alignment = [json.loads(line) for line in default_alignment_path().read_text().splitlines()]
    unsafe = [r for r in alignment if r["label"] == "unsafe"]
    rows = drift.counterfactual_rows(default_alignment_path(), _task_file(tmp_path))
    assert [r["messages"][0]["content"] for r in rows] == [r["messages"][0]["content"] for r in unsafe]
    assert {r["messages"][1]["content"] for r in rows} <= {f"Sure! {i}" for i in range(5)}
    assert len({r["messages"][1]["content"] for r in rows}) > 1  # drawn, not one fixed reply
    assert rows == drift.counterfactual_rows(default_alignment_path(), _task_file(tmp_path))  # seeded


def test_agl_cf_config_is_a_valid_alignguard_block_with_the_counterfactual_fisher(tmp_path):
    ctx = drift.SweepContext(
        work=tmp_path,
        aligned=tmp_path / "a",
        unaligned=tmp_path / "u",
        task_path=_task_file(tmp_path),
        steps=2,
        lr=1e-4,
        fisher_samples=16,
        n_train=5,
        recipe={"recipe_sha256": "x"},
        eval_settings={},
    )
    cfg = drift.CONFIGURE["agl_cf"]({"adapter": "lora"}, 0.1, ctx)
    block = AlignGuardConfig.model_validate(cfg["alignguard"])
    assert cfg["adapter"] == "alignguard" and block.lambda_alignment == 0.1
    assert block.fisher_type == "empirical" and block.fisher_reply_tokens == drift.CF_REPLY_TOKENS
    (dataset,) = block.alignment_datasets
    assert Path(dataset.path).is_file() and "agl_cf" in Path(block.fisher_cache_path).name
