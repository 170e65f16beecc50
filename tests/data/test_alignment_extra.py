"""Fast tests of ``scripts/generate_alignment_extra.py`` (extra, more varied safety-SFT rows; no torch)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from axolotl_agl.drift.judge import is_refusal
from scripts import generate_alignment_extra as extra
from scripts import generate_data as gen

DATA_DIR = Path(__file__).resolve().parents[2] / "axolotl_agl" / "data"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return extra.build_extra_rows()


def _prompt(row: dict) -> str:
    return row["messages"][0]["content"]


def _reply(row: dict) -> str:
    return row["messages"][1]["content"]


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_deterministic(rows):
    assert extra.build_extra_rows() == rows
    assert gen.dumps_jsonl(extra.build_extra_rows()) == gen.dumps_jsonl(rows)


def test_shuffled(rows):
    kinds = [row["kind"] for row in rows]
    assert kinds != sorted(kinds) and kinds != sorted(kinds, reverse=True)


def test_counts(rows):
    by_kind = Counter(row["kind"] for row in rows)
    assert by_kind[gen.KIND_HARMFUL] >= 150
    assert by_kind[gen.KIND_LOOKALIKE] >= 300
    assert set(by_kind) == {gen.KIND_HARMFUL, gen.KIND_LOOKALIKE}
    for kind in (gen.KIND_HARMFUL, gen.KIND_LOOKALIKE):
        per_category = Counter(row["category"] for row in rows if row["kind"] == kind)
        assert set(per_category) == set(gen.HARM_CATEGORIES), kind
        assert min(per_category.values()) >= 15, (kind, per_category)


def test_new_objects_and_phrasings():
    old = {
        obj.lower() for objs in (*gen.ALIGN_UNSAFE_OBJECTS.values(), *gen.DRIFT_UNSAFE_OBJECTS.values()) for obj in objs
    }
    old_actions = {obj.lower() for pairs in gen.LOOKALIKE_ACTIONS.values() for obj, _ in pairs}
    old_questions = {q.lower() for pairs in gen.LOOKALIKE_QA.values() for q, _ in pairs}
    old_phrasings = set(gen.ALIGN_PHRASINGS) | set(gen.DRIFT_PHRASINGS)
    for category in gen.HARM_CATEGORIES:
        objects = extra.EXTRA_UNSAFE_OBJECTS[category]
        assert len(set(objects)) >= 5
        assert not {obj.lower() for obj in objects} & old
        assert not {obj.lower() for obj, _ in extra.EXTRA_LOOKALIKE_ACTIONS[category]} & old_actions
        assert not {q.lower() for q, _ in extra.EXTRA_LOOKALIKE_QA[category]} & old_questions
    templates = {t for ts in extra.PHRASING_STYLES.values() for t in ts} | {
        t for ts in extra.HARM_MOTIVES.values() for t in ts
    }
    assert not templates & old_phrasings
    assert extra.HARMFUL_PHRASINGS_PER_OBJECT >= 3


def test_harmful_objects_have_three_distinct_phrasings(rows):
    for category in gen.HARM_CATEGORIES:
        for obj in extra.EXTRA_UNSAFE_OBJECTS[category]:
            prompts = {_prompt(r) for r in rows if r["kind"] == gen.KIND_HARMFUL and obj in _prompt(r)}
            assert len(prompts) >= 3, obj


def test_schema(rows):
    ids = [row["id"] for row in rows]
    assert ids == [f"extra-{i:03d}" for i in range(1, len(rows) + 1)]
    for row in rows:
        assert set(row) == {"id", "messages", "label", "category", "kind"}
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert all(isinstance(m["content"], str) and m["content"].strip() for m in row["messages"])
        assert set(row["messages"][0]) == set(row["messages"][1]) == {"role", "content"}
        assert row["category"] in gen.HARM_CATEGORIES
        expected_label = "unsafe" if row["kind"] == gen.KIND_HARMFUL else "safe"
        assert row["label"] == expected_label
        assert "{" not in _prompt(row) and "}" not in _prompt(row)


def test_unique_prompts(rows):
    prompts = [_prompt(row).lower() for row in rows]
    duplicates = [p for p, n in Counter(prompts).items() if n > 1]
    assert not duplicates


def test_disjoint_from_project_data(rows):
    alignment = {_prompt(row) for row in _read_jsonl(DATA_DIR / gen.ALIGNMENT_FILE)}
    driftcheck = {row["prompt"] for row in _read_jsonl(DATA_DIR / gen.DRIFTCHECK_FILE)}
    assert alignment and driftcheck
    ours = {_prompt(row) for row in rows}
    assert not ours & alignment
    assert not ours & driftcheck
    lowered = {p.lower() for p in ours}
    assert not lowered & {p.lower() for p in alignment | driftcheck}


def test_no_driftcheck_object_in_prompts(rows):
    drift_objects = [
        obj.lower()
        for table in (gen.DRIFT_UNSAFE_OBJECTS, gen.DRIFT_SAFE_OBJECTS)
        for objs in table.values()
        for obj in objs
    ]
    hits = [(obj, _prompt(row)) for row in rows for obj in drift_objects if obj in _prompt(row).lower()]
    assert not hits


def test_harmful_replies_are_refusals(rows):
    harmful = [row for row in rows if row["kind"] == gen.KIND_HARMFUL]
    not_refused = [_reply(row) for row in harmful if not is_refusal(_reply(row))]
    assert not not_refused


def test_lookalike_answers_are_helpful(rows):
    lookalikes = [row for row in rows if row["kind"] == gen.KIND_LOOKALIKE]
    refused = [_reply(row) for row in lookalikes if is_refusal(_reply(row))]
    assert not refused
    for row in lookalikes:
        answer = _reply(row)
        assert not answer.lower().startswith(("sure", "of course", "certainly"))
        assert 1 <= answer.count(". ") + 1 <= 4, answer
        assert len(answer.split()) >= 8, answer


def test_main_writes_the_build(tmp_path, rows, capsys):
    out = tmp_path / "sub" / "extra.jsonl"
    assert extra.main(["--out", str(out)]) == 0
    assert _read_jsonl(out) == rows
    assert out.read_bytes() == gen.dumps_jsonl(rows).encode("utf-8")
    printed = capsys.readouterr().out
    assert "harmful: " in printed and "lookalike: " in printed
