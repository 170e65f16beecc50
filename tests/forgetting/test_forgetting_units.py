"""Pieces of the forgetting curve without training: records, evaluation sets, the loss, generation, token count."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from axolotl_agl.core.examples import TokenizedExample
from axolotl_agl.forgetting.data import (
    build_general_examples,
    default_general_prompts_path,
    load_general_prompts,
    read_reference_answers,
    select_task_examples,
    write_reference_answers,
)
from axolotl_agl.forgetting.evaluate import generate_answer_ids, mean_token_loss
from axolotl_agl.forgetting.records import (
    curve_from_records,
    read_forgetting_records,
    resolve_run_dir,
    truncate_records,
)
from axolotl_agl.integration.forgetting_callback import ForgettingCallback, count_supervised_tokens

# --------------------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------------------


def _write_records(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_curve_skips_nulls_keeps_the_last_record_of_a_step(tmp_path):
    rows = [
        {"step": 0, "tokens_seen": 0, "general_loss": 2.0, "task_loss": None},
        {"step": 5, "tokens_seen": 50, "general_loss": 2.1, "task_loss": 1.0},
        {"step": 5, "tokens_seen": 55, "general_loss": 2.2, "task_loss": 0.9},  # repeated after a resume
    ]
    file = _write_records(tmp_path / "agl_forgetting.jsonl", rows)
    records = read_forgetting_records(tmp_path)
    assert records == rows and read_forgetting_records(file) == rows
    assert curve_from_records(records, "general_loss") == ([0, 5], [0.0, 55.0], [2.0, 2.2])
    assert curve_from_records(records, "task_loss") == ([5], [55.0], [0.9])
    with pytest.raises(ValueError, match=r"no record has a value for alignment_loss"):
        curve_from_records(records, "alignment_loss")
    with pytest.raises(ValueError, match=r"unknown metric 'loss'; choose from general_loss, alignment_loss, task_loss"):
        curve_from_records(records, "loss")


def test_missing_or_broken_records_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no forgetting records\. Train with the plugin listed and an "):
        read_forgetting_records(tmp_path)
    (tmp_path / "agl_forgetting.jsonl").write_text('{"step": 0, "tokens_seen": 0}\n{oops\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"agl_forgetting\.jsonl:2 is not valid JSON"):
        read_forgetting_records(tmp_path)
    (tmp_path / "agl_forgetting.jsonl").write_text('{"tokens_seen": 0}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r":1: expected an object with 'step' and 'tokens_seen'"):
        read_forgetting_records(tmp_path)


def test_truncate_keeps_steps_up_to_the_resume_point(tmp_path):
    file = _write_records(tmp_path / "r.jsonl", [{"step": s, "tokens_seen": s} for s in (0, 2, 4, 6)])
    assert truncate_records(file, 4) == 1
    assert [r["step"] for r in read_forgetting_records(file)] == [0, 2, 4]
    assert truncate_records(tmp_path / "none.jsonl", 4) == 0


def test_run_dir_from_a_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfgs").mkdir()
    (tmp_path / "cfgs" / "out").mkdir()
    (tmp_path / "cfgs" / "a.yml").write_text("output_dir: out\n", encoding="utf-8")
    assert resolve_run_dir(tmp_path / "cfgs" / "a.yml") == tmp_path / "cfgs" / "out"  # beside the YAML
    (tmp_path / "out").mkdir()
    assert resolve_run_dir(tmp_path / "cfgs" / "a.yml").resolve() == (tmp_path / "out").resolve()  # cwd first
    with pytest.raises(FileNotFoundError, match=r"no such run directory"):
        resolve_run_dir(tmp_path / "nope")


# --------------------------------------------------------------------------------------------------------------
# Evaluation sets
# --------------------------------------------------------------------------------------------------------------


def test_shipped_general_prompts():
    prompts = load_general_prompts()
    assert len(prompts) == 80 and len(set(prompts)) == 80
    rows = [json.loads(line) for line in default_general_prompts_path().read_text(encoding="utf-8").splitlines()]
    assert len({r["category"] for r in rows[:16]}) == 9  # interleaved: a short prefix covers every category


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("empty.jsonl", "", r"holds no prompts"),
        ("bad.jsonl", '{"prompt": "hi"}\n{not json\n', r"bad\.jsonl:2 is not valid JSON"),
        ("field.jsonl", '{"question": "hi"}\n', r"field\.jsonl:1 needs a non-empty string field 'prompt'"),
    ],
)
def test_bad_general_prompt_files(tmp_path, name, text, match):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"alignguard\.forgetting\.general_prompts: .*" + match):
        load_general_prompts(tmp_path / name)


def test_txt_prompts_one_per_line(tmp_path):
    (tmp_path / "p.txt").write_text("What is rain?\n\n  Why is grass green?  \n", encoding="utf-8")
    assert load_general_prompts(tmp_path / "p.txt") == ["What is rain?", "Why is grass green?"]


def test_reference_cache_is_used_only_for_the_same_inputs(tmp_path):
    path = tmp_path / "ref.jsonl"
    prompts, prompt_ids, answers = ["a?", "b?"], [[1, 2], [3]], [[7, 8], [9]]
    write_reference_answers(path, prompts, prompt_ids, answers, ["x", "y"], "base", 48)
    assert read_reference_answers(path, prompts, prompt_ids, "base", 48) == answers
    assert read_reference_answers(path, prompts, prompt_ids, "other-base", 48) is None
    assert read_reference_answers(path, prompts, prompt_ids, "base", 32) is None
    assert read_reference_answers(path, prompts, [[1, 2], [4]], "base", 48) is None  # other tokenizer/template
    assert read_reference_answers(path, prompts[:1], prompt_ids[:1], "base", 48) is None
    assert read_reference_answers(tmp_path / "missing.jsonl", prompts, prompt_ids, "base", 48) is None
    path.write_text("{broken\n", encoding="utf-8")
    assert read_reference_answers(path, prompts, prompt_ids, "base", 48) is None


def test_general_examples_take_loss_on_the_answer_only():
    examples = build_general_examples([[1, 2, 3], [4]], [[5, 6], [7]], max_tokens=4)
    assert examples[0] == TokenizedExample([1, 2, 3, 5], [-100, -100, -100, 5])
    assert examples[1] == TokenizedExample([4, 7], [-100, 7])
    assert build_general_examples([[1, 2, 3, 4]], [[5]], max_tokens=4) == []  # answer cut off entirely


def test_task_examples_are_evenly_spaced_and_need_a_target():
    rows = [{"input_ids": [i, i + 1, i + 2], "labels": [-100, i + 1, i + 2]} for i in range(10)]
    rows[9]["labels"] = [-100, -100, -100]
    picked = select_task_examples(rows, 4, max_tokens=8)
    assert [e.input_ids[0] for e in picked] == [0, 3, 6]  # index 9 has no target
    assert [e.input_ids[0] for e in select_task_examples(rows, 50, 8)] == list(range(9))
    assert select_task_examples(None, 4, 8) == [] and select_task_examples(iter(rows), 4, 8) == []
    no_labels = select_task_examples([{"input_ids": torch.tensor([1, 2, 3])}], 1, 2)
    assert no_labels == [TokenizedExample([1, 2], [1, 2])]


# --------------------------------------------------------------------------------------------------------------
# Loss, generation, token count (tiny in-memory Llama)
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=40, eos_token_id=2, pad_token_id=0, bos_token_id=1,
    )  # fmt: skip
    return LlamaForCausalLM(config)


def test_mean_token_loss_matches_the_model_loss_and_ignores_padding(tiny):
    examples = [
        TokenizedExample([1, 5, 6, 7, 8], [-100, -100, 6, 7, 8]),
        TokenizedExample([1, 9, 10], [-100, 9, 10]),
        TokenizedExample([1, 11, 12, 13], [-100, -100, -100, 13]),
    ]
    tiny.train()
    with torch.no_grad():
        tiny.eval()
        per_example = [
            (
                tiny(torch.tensor([e.input_ids]), labels=torch.tensor([e.labels])).loss.item(),
                sum(x != -100 for x in e.labels[1:]),
            )
            for e in examples
        ]
        tiny.train()
    expected = sum(loss * n for loss, n in per_example) / sum(n for _, n in per_example)  # token-weighted
    assert mean_token_loss(tiny, examples, batch_size=1) == pytest.approx(expected, rel=1e-5)
    assert mean_token_loss(tiny, examples, batch_size=3, pad_id=0) == pytest.approx(expected, rel=1e-5)
    assert tiny.training, "the train/eval mode is restored"
    assert mean_token_loss(tiny, []) is None


def test_batched_greedy_answers_equal_one_by_one_and_stop_after_eos(tiny):
    tokenizer = SimpleNamespace(pad_token_id=0, eos_token_id=2)
    prompts = [[1, 5, 6, 7, 8, 9], [1, 10], [1, 11, 12]]
    batched = generate_answer_ids(tiny, tokenizer, prompts, max_new_tokens=6, batch_size=3)
    single = [generate_answer_ids(tiny, tokenizer, [p], max_new_tokens=6, batch_size=1)[0] for p in prompts]
    assert batched == single
    for answer in batched:
        assert 1 <= len(answer) <= 6 and (2 not in answer[:-1])


def test_supervised_token_count():
    labels = torch.tensor([[5, -100, 6, 7], [-100, -100, 8, -100]])
    assert int(count_supervised_tokens({"labels": labels})) == 3  # the first position is never a target
    assert int(count_supervised_tokens({"shift_labels": labels})) == 4
    assert count_supervised_tokens({"input_ids": labels}) is None


def test_forward_hook_counts_training_forwards_only(tiny, tmp_path):
    from axolotl_agl.integration.args import ForgettingConfig

    trainer = SimpleNamespace(model=tiny, args=SimpleNamespace(output_dir=str(tmp_path)), accelerator=None)
    callback = ForgettingCallback(trainer, ForgettingConfig(), [], base_model="tiny", max_tokens=16)
    handle = tiny.register_forward_pre_hook(callback._count_forward, with_kwargs=True)
    try:
        ids = torch.tensor([[1, 5, 6, 7]])
        labels = torch.tensor([[-100, 5, 6, -100]])
        tiny.train()
        tiny(input_ids=ids, labels=labels)  # counted: 2 targets
        with torch.no_grad():
            tiny(input_ids=ids, labels=labels)  # no gradient: not counted
        tiny.eval()
        tiny(input_ids=ids, labels=labels)  # eval mode: not counted
        tiny.train()
        assert callback.synchronise_tokens() == 2
        tiny(input_ids=ids, labels=labels)
        assert callback.synchronise_tokens() == 4  # a running total
    finally:
        handle.remove()
