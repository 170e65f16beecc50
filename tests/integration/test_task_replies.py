"""``alignguard.fisher_replies: task``: pairing unsafe alignment prompts with the openings of training replies."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample
from axolotl_agl.data import default_alignment_path
from axolotl_agl.integration.alignment_data import load_alignment_examples, tokenize_chat, unsafe_rows
from axolotl_agl.integration.args import TASK_REPLIES_LAMBDA, AlignGuardConfig, AlignmentDataset
from axolotl_agl.integration.task_replies import (
    DEFAULT_REPLY_TOKENS,
    draw_reply_openings,
    pair_prompts_with_replies,
    reply_opening,
)
from axolotl_agl.utils.io import read_jsonl
from tests.helpers import build_tiny_model

M = IGNORE_INDEX


def test_reply_opening_is_the_first_supervised_run_cut_to_count():
    ids = [1, 2, 3, 4, 5, 6, 7, 8]
    assert reply_opening(ids, [M, M, 3, 4, 5, M, 7, 8], 8) == ([3, 4, 5], 2)  # stops at the end of the run
    assert reply_opening(ids, [M, M, 3, 4, 5, M, 7, 8], 2) == ([3, 4], 2)
    assert reply_opening(ids, None, 3) == ([1, 2, 3], 0)  # no labels: every token supervised
    assert reply_opening(ids, [M] * 8, 3) == ([], -1)


def test_draws_are_seeded_like_random_choice_and_skip_unsupervised_rows():
    rows = [{"input_ids": [9, 10 + j, 11 + j], "labels": [M, 10 + j, 11 + j]} for j in range(20)]
    first = draw_reply_openings(rows, 7, 1, seed=3)
    assert first == draw_reply_openings(rows, 7, 1, seed=3)
    expected = [[10 + random.Random(3).randrange(20)]]  # the first draw is random.Random(seed).randrange(len(rows))
    assert first[:1] == expected
    rng = random.Random(3)
    assert first == [[rng.choice([[10 + j] for j in range(20)])[0]] for _ in range(7)]  # = random.choice on replies
    mixed = rows + [{"input_ids": [1, 2], "labels": [M, M]}] * 20
    assert all(len(o) == 1 for o in draw_reply_openings(mixed, 30, 1, seed=0))
    with pytest.raises(ValueError, match=r"alignguard\.fisher_replies: task found no training row"):
        draw_reply_openings([{"input_ids": [1, 2], "labels": [M, M]}], 2, 4, seed=0)


def test_pairing_keeps_each_prompt_and_supervises_only_the_opening():
    examples = [TokenizedExample([1, 2, 3, 4, 5], [M, M, M, 4, 5]), TokenizedExample([6, 7, 8], [M, 7, 8])]
    paired = pair_prompts_with_replies(examples, [[40, 41], [50]])
    assert paired == [TokenizedExample([1, 2, 3, 40, 41], [M, M, M, 40, 41]), TokenizedExample([6, 50], [M, 50])]
    with pytest.raises(ValueError, match="2 examples but 1"):
        pair_prompts_with_replies(examples, [[1]])
    with pytest.raises(ValueError, match="no prompt"):
        pair_prompts_with_replies([TokenizedExample([1, 2], [1, 2])], [[3]])


def test_token_pairing_equals_the_benchmarks_text_pairing(tmp_path):
    """The plugin pairs on tokens; ``benchmarks/drift.py::counterfactual_rows`` (the measured ``agl_cf``) pairs the
    texts and counts the first 8 reply tokens. Both give the same tokens and labels over the counted span."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model(tmp_path / "tiny"))
    rows = [r for r in read_jsonl(default_alignment_path()) if r.get("label") == "unsafe"][:12]
    replies = ["Sure! 12 + 30 = 42.", "Sure! Here is the list, in upper case: APPLE, PEAR.", "Sure! The answer is 7."]
    for i, row in enumerate(rows):
        prompt = row["messages"][0]["content"]
        reply = replies[i % len(replies)]
        task, _ = tokenize_chat(
            tokenizer, [{"role": "user", "content": "Task?"}, {"role": "assistant", "content": reply}], 512
        )
        opening, _ = reply_opening(task.input_ids, task.labels, DEFAULT_REPLY_TOKENS)
        aligned, _ = tokenize_chat(tokenizer, row["messages"], 512)
        [ours] = pair_prompts_with_replies([aligned], [opening])
        text, _ = tokenize_chat(
            tokenizer, [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}], 512
        )
        start = next(j for j, label in enumerate(text.labels) if label != M)
        stop = start + DEFAULT_REPLY_TOKENS
        assert ours.input_ids == text.input_ids[:stop] and ours.labels == text.labels[:stop]


def test_only_unsafe_rows_are_paired():
    rows = read_jsonl(default_alignment_path())
    spec = AlignmentDataset(path=str(default_alignment_path()), type="chat_template")
    kept = unsafe_rows(rows, spec)
    assert kept and all(r["label"] == "unsafe" for r in kept)
    unlabelled = [{"messages": r["messages"]} for r in rows[:3]]
    assert unsafe_rows(unlabelled, spec) == unlabelled  # no label column: every row
    with pytest.raises(ValueError, match=r"alignguard\.fisher_replies: task pairs the rows labelled 'unsafe'"):
        unsafe_rows([{"messages": rows[0]["messages"], "label": "safe"}], spec)


def test_load_alignment_examples_unsafe_only(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model(tmp_path / "tiny"))
    unsafe = [r for r in read_jsonl(default_alignment_path()) if r.get("label") == "unsafe"][:5]
    expected = [tokenize_chat(tokenizer, r["messages"], 256)[0] for r in unsafe]
    assert load_alignment_examples(None, tokenizer, 5, 256, unsafe_only=True) == expected


def test_task_replies_defaults_and_the_mc_error():
    default = AlignGuardConfig()
    assert default.fisher_replies == "alignment" and default.fisher_type == "mc" and default.lambda_alignment == 50
    task = AlignGuardConfig(fisher_replies="task")
    assert task.fisher_type == "empirical" and task.fisher_reply_tokens == DEFAULT_REPLY_TOKENS
    assert task.lambda_alignment == TASK_REPLIES_LAMBDA
    again = AlignGuardConfig.model_validate(task.model_dump())  # a validated, dumped block validates to the same
    assert again == task
    chosen = AlignGuardConfig(fisher_replies="task", lambda_alignment=3.0, fisher_reply_tokens=4)
    assert chosen.lambda_alignment == 3.0 and chosen.fisher_reply_tokens == 4
    with pytest.raises(ValidationError, match=r"fisher_replies: task needs fisher_type: empirical"):
        AlignGuardConfig(fisher_replies="task", fisher_type="mc")
