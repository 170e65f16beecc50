"""The ordinary instructions of the aligned-base recipe and their self-distilled answers (no torch, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from axolotl_agl.data import load_driftcheck_mini, load_instruction_prompts, load_xstest
from axolotl_agl.experiments.aligned_base import SELF_DISTILLED
from axolotl_agl.utils.io import read_jsonl
from scripts import distill_instructions as distill
from scripts import generate_instructions as gen
from tests.data.test_data import _near_duplicates

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_regeneration_is_byte_identical(tmp_path):
    out = gen.write(tmp_path / "general_instructions.jsonl")
    assert out.read_bytes() == gen.OUTPUT.read_bytes()


def test_instructions_are_unique_and_cover_every_table():
    rows = read_jsonl(gen.OUTPUT)
    prompts = [r["prompt"] for r in rows]
    assert len(prompts) == len(set(prompts)) == sum(len(fillers) for _, _, fillers in gen.TABLES)
    assert {r["category"] for r in rows} == {category for category, _, _ in gen.TABLES}
    assert [r["id"] for r in rows] == [f"i{n:04d}" for n in range(1, len(rows) + 1)]
    assert all("{" not in p for p in prompts)


@pytest.mark.parametrize("name", ["alpaca_3k.jsonl", "xstest_prompts.csv", "driftcheck"])
def test_no_instruction_is_a_near_duplicate_of_an_evaluation_prompt(name):
    if name == "driftcheck":
        theirs = [r["prompt"] for r in load_driftcheck_mini()]
    else:
        path = SHARED / name
        if not path.is_file():
            pytest.skip(f"{path} not present")
        loaded = load_xstest(path) if name.endswith(".csv") else load_instruction_prompts(path)
        theirs = [r["prompt"] for r in loaded]
    assert _near_duplicates([r["prompt"] for r in read_jsonl(gen.OUTPUT)], theirs) == []


def test_self_distilled_rows_answer_exactly_the_shipped_instructions():
    prompts = read_jsonl(gen.OUTPUT)
    rows = read_jsonl(SELF_DISTILLED)
    assert [r["id"] for r in rows] == [p["id"] for p in prompts]
    for row, prompt in zip(rows, prompts, strict=True):
        user, assistant = row["messages"]
        assert (user["role"], user["content"]) == ("user", prompt["prompt"])
        assert assistant["role"] == "assistant" and assistant["content"].strip()
        assert row["kind"] == "self_distilled"


def test_self_distilled_answers_are_not_refusals():
    from axolotl_agl.drift.judge import is_refusal

    replies = [r["messages"][1]["content"] for r in read_jsonl(SELF_DISTILLED)]
    assert sum(map(is_refusal, replies)) <= 0.02 * len(replies)


@pytest.mark.parametrize(
    ("reply", "hit_limit", "expected"),
    [
        ("Short answer that ended.", False, "Short answer that ended."),
        ("First sentence is long enough. Second one is cut mid", True, "First sentence is long enough."),
        (
            "A first paragraph that is complete.\n\nThen a second that stops in",
            True,
            "A first paragraph that is complete.",
        ),
        ("One long sentence without any end at all", True, "One long sentence without any end at all"),
        (
            "Ok. and then a long tail that goes on without an end",
            True,
            "Ok. and then a long tail that goes on without an end",
        ),
    ],
)
def test_trim_reply(reply, hit_limit, expected):
    assert distill.trim_reply(reply, hit_limit) == expected


def test_load_instruction_prompts_names_the_row_without_text(tmp_path):
    path = tmp_path / "ins.jsonl"
    path.write_text(json.dumps({"instruction": "Say hi."}) + "\n\n" + json.dumps({"input": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"row 1: no text in column 'instruction'"):
        load_instruction_prompts(path)
    path.write_text(json.dumps({"instruction": "Say hi."}) + "\n")
    assert load_instruction_prompts(path) == [
        {"id": "alpaca-0", "prompt": "Say hi.", "label": "safe", "category": "ordinary"}
    ]


def test_self_distilled_lookalike_answers_are_not_refusals():
    from axolotl_agl.drift.judge import is_refusal

    rows = read_jsonl(distill.LOOKALIKE_OUTPUT)
    assert rows and all(r["kind"] == "self_distilled_lookalike" for r in rows)
    assert not [r["id"] for r in rows if is_refusal(r["messages"][1]["content"])]
    alignment = read_jsonl(Path(distill.DATA_DIR).parents[1] / "data" / "alignment_default.jsonl")
    for row in rows:  # each answers the look-alike prompt of the alignment row its id names
        source = alignment[int(row["id"].removeprefix("alignment-"))]
        assert source["kind"] == "lookalike" and source["messages"][0] == row["messages"][0]
