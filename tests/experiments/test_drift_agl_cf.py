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


def _context(tmp_path: Path) -> drift.SweepContext:
    return drift.SweepContext(
        work=tmp_path,
        aligned=tmp_path / "no-model-needed",
        unaligned=tmp_path / "u",
        task_path=_task_file(tmp_path),
        steps=2,
        lr=1e-4,
        fisher_samples=16,
        n_train=5,
        recipe={"recipe_sha256": "x"},
        eval_settings={},
    )


def test_counterfactual_rows_pair_every_unsafe_prompt_with_a_task_reply(tmp_path):
    alignment = [json.loads(line) for line in default_alignment_path().read_text().splitlines()]
    unsafe = [r for r in alignment if r["label"] == "unsafe"]
    rows = drift.counterfactual_rows(default_alignment_path(), _task_file(tmp_path))
    assert [r["messages"][0]["content"] for r in rows] == [r["messages"][0]["content"] for r in unsafe]
    assert {r["messages"][1]["content"] for r in rows} <= {f"Sure! {i}" for i in range(5)}
    assert len({r["messages"][1]["content"] for r in rows}) > 1  # drawn, not one fixed reply
    assert rows == drift.counterfactual_rows(default_alignment_path(), _task_file(tmp_path))  # seeded


def test_agl_cf_config_is_a_valid_alignguard_block_with_the_counterfactual_fisher(tmp_path):
    ctx = _context(tmp_path)
    cfg = drift.CONFIGURE["agl_cf"]({"adapter": "lora"}, 0.1, ctx)
    block = AlignGuardConfig.model_validate(cfg["alignguard"])
    assert cfg["adapter"] == "alignguard" and block.lambda_alignment == 0.1
    assert block.fisher_type == "empirical" and block.fisher_reply_tokens == drift.CF_REPLY_TOKENS
    (dataset,) = block.alignment_datasets
    assert Path(dataset.path).is_file() and "agl_cf" in Path(block.fisher_cache_path).name


def test_with_lookalikes_interleaves_safe_lookalikes_with_their_own_answers(tmp_path):
    alignment = [json.loads(line) for line in default_alignment_path().read_text().splitlines()]
    lookalikes = [r for r in alignment if r["kind"] == "lookalike"]
    unsafe = drift.counterfactual_rows(default_alignment_path(), _task_file(tmp_path))
    rows = drift.with_lookalikes(unsafe, default_alignment_path())
    assert rows[0::2] == unsafe  # the counterfactual rows, in order, at the even places
    assert [r["messages"] for r in rows[1::2]] == [r["messages"] for r in lookalikes[: len(unsafe)]]
    assert {r["label"] for r in rows[1::2]} == {"safe"}


def test_agl_cf_safe_counts_both_kinds_in_its_fisher(tmp_path):
    ctx = _context(tmp_path)
    block = AlignGuardConfig.model_validate(
        drift.CONFIGURE["agl_cf_safe"]({"adapter": "lora"}, 10.0, ctx)["alignguard"]
    )
    assert block.fisher_num_samples == 32 and block.fisher_type == "empirical"
    (dataset,) = block.alignment_datasets
    first = [json.loads(line) for line in Path(dataset.path).read_text().splitlines()][:32]
    assert sum(r["label"] == "safe" for r in first) == 16


def test_agl_cf_mcsafe_reuses_its_sampled_rows_and_counts_both_kinds(tmp_path):
    ctx = _context(tmp_path)
    sampled = tmp_path / f"agl_cf_mcsafe_alignment-{drift.identity_key(ctx.recipe)[:12]}-n16.jsonl"
    sampled.write_text('{"messages": [], "label": "safe"}\n')  # present: no model is loaded to sample again
    block = AlignGuardConfig.model_validate(
        drift.CONFIGURE["agl_cf_mcsafe"]({"adapter": "lora"}, 10.0, ctx)["alignguard"]
    )
    assert block.fisher_num_samples == 32 and block.fisher_type == "empirical"
    assert [Path(d.path) for d in block.alignment_datasets] == [sampled]


def test_refusal_counterfactual_rows_pair_every_lookalike_with_a_refusal_of_the_unsafe_rows():
    alignment = [json.loads(line) for line in default_alignment_path().read_text().splitlines()]
    lookalikes = [r for r in alignment if r["kind"] == "lookalike"]
    refusals = {r["messages"][-1]["content"] for r in alignment if r["label"] == "unsafe"}
    rows = drift.refusal_counterfactual_rows(default_alignment_path())
    assert [r["messages"][0]["content"] for r in rows] == [r["messages"][0]["content"] for r in lookalikes]
    replies = [r["messages"][1]["content"] for r in rows]
    assert set(replies) <= refusals and len(set(replies)) > 1  # drawn from the refusals, not one fixed reply
    assert {r["label"] for r in rows} == {"safe"}
    assert rows == drift.refusal_counterfactual_rows(default_alignment_path())  # seeded


def test_agl_cf2_fisher_alternates_unsafe_task_replies_and_safe_refusals(tmp_path):
    ctx = _context(tmp_path)
    block = AlignGuardConfig.model_validate(drift.CONFIGURE["agl_cf2"]({"adapter": "lora"}, 10.0, ctx)["alignguard"])
    assert block.fisher_num_samples == 32 and block.fisher_type == "empirical"
    assert block.fisher_reply_tokens == drift.CF_REPLY_TOKENS and "agl_cf2" in Path(block.fisher_cache_path).name
    (dataset,) = block.alignment_datasets
    first = [json.loads(line) for line in Path(dataset.path).read_text().splitlines()][:32]
    assert [r["kind"] for r in first] == ["counterfactual", "refusal_counterfactual"] * 16
    assert {r["messages"][1]["content"][:5] for r in first[0::2]} == {"Sure!"}


def test_a_key_added_later_leaves_the_identity_of_earlier_runs_unchanged_at_its_neutral_value():
    plain = drift.resolved_train_identity("agl", {"alignguard": {"lambda_alignment": 10.0}})
    task = drift.resolved_train_identity("agl", {"alignguard": {"lambda_alignment": 10.0, "fisher_replies": "task"}})
    assert "fisher_replies" not in plain["alignguard"]
    assert task["alignguard"]["fisher_replies"] == "task"
