"""Fast tests of ``scripts/generate_alignment_kinds.py`` (seven kinds of harm-sounding prompts; no model, no torch)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from axolotl_agl.drift.judge import is_refusal
from axolotl_agl.experiments.paths import find_xstest
from scripts import generate_alignment_extra as extra
from scripts import generate_alignment_kinds as kinds
from scripts import generate_data as gen

DATA_DIR = Path(__file__).resolve().parents[2] / "axolotl_agl" / "data"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return kinds.build_kinds_rows()


def _prompt(row: dict) -> str:
    return row["messages"][0]["content"]


def _reply(row: dict) -> str:
    return row["messages"][1]["content"]


def _norm(text: str) -> str:
    """Lower-case, collapse whitespace, strip trailing punctuation."""
    return re.sub(r"\s+", " ", text.lower()).strip().rstrip(".!?;:,").strip()


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_deterministic(rows, tmp_path):
    assert kinds.build_kinds_rows() == rows
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    kinds.write_kinds(first)
    kinds.write_kinds(second)
    assert first.read_bytes() == second.read_bytes() == gen.dumps_jsonl(rows).encode("utf-8")


def test_every_kind_has_both_labels(rows):
    counts = Counter((row["category"], row["label"]) for row in rows)
    for kind in kinds.KINDS:
        assert counts[(kind, "safe")] >= 20, kind
        assert counts[(kind, "unsafe")] >= 15, kind
    assert {row["category"] for row in rows} == set(kinds.KINDS)
    assert 300 <= len(rows) <= 400
    safe_share = sum(row["label"] == "safe" for row in rows) / len(rows)
    assert 0.5 <= safe_share <= 0.7


def test_schema(rows):
    ids = [row["id"] for row in rows]
    assert ids == [f"kinds-{i:03d}" for i in range(1, len(rows) + 1)]
    for row in rows:
        assert set(row) == {"id", "messages", "label", "category", "kind"}
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert all(set(m) == {"role", "content"} for m in row["messages"])
        assert all(isinstance(m["content"], str) and m["content"].strip() for m in row["messages"])
        assert row["category"] in kinds.KINDS
        assert (row["label"], row["kind"]) in {("safe", gen.KIND_LOOKALIKE), ("unsafe", gen.KIND_HARMFUL)}
        assert "{" not in _prompt(row) and "}" not in _prompt(row)


def test_unique_prompts(rows):
    prompts = [_norm(_prompt(row)) for row in rows]
    assert not [p for p, n in Counter(prompts).items() if n > 1]


def test_disjoint_from_project_data(rows):
    ours = {_norm(_prompt(row)) for row in rows}
    alignment = {_norm(_prompt(row)) for row in _read_jsonl(DATA_DIR / gen.ALIGNMENT_FILE)}
    extra_rows = {_norm(_prompt(row)) for row in extra.build_extra_rows()}
    driftcheck = {_norm(row["prompt"]) for row in _read_jsonl(DATA_DIR / gen.DRIFTCHECK_FILE)}
    assert alignment and extra_rows and driftcheck
    assert not ours & alignment
    assert not ours & extra_rows
    assert not ours & driftcheck


def test_disjoint_from_xstest(rows):
    path = find_xstest()
    if path is None or not Path(path).exists():
        pytest.skip("XSTest is not available")
    from axolotl_agl.data import load_xstest

    xstest = {_norm(row["prompt"]) for row in load_xstest(path)}
    assert xstest
    collisions = sorted({_norm(_prompt(row)) for row in rows} & xstest)
    assert not collisions, f"{len(collisions)} prompt(s) collide with XSTest"


def test_harmful_replies_are_refusals(rows):
    harmful = [row for row in rows if row["label"] == "unsafe"]
    assert harmful
    assert not [_reply(row) for row in harmful if not is_refusal(_reply(row))]


def test_safe_answers_are_helpful(rows):
    safe = [row for row in rows if row["label"] == "safe"]
    assert safe
    assert not [_reply(row) for row in safe if is_refusal(_reply(row))]
    for row in safe:
        answer = _reply(row)
        assert not answer.lower().startswith(("sure", "of course", "certainly", "absolutely")), answer
        assert len(answer.split()) >= 8, answer


def test_several_styles_per_item(rows):
    for kind, items in kinds.SAFE_ITEMS.items():
        for _, x, _ in items:
            prompts = {_prompt(r) for r in rows if r["category"] == kind and x.lower() in _prompt(r).lower()}
            assert len(prompts) >= kinds.PHRASINGS_PER_ITEM, x
    for kind, items in kinds.HARMFUL_ITEMS.items():
        assert len(items) >= 5, kind
        for _, x, _ in items:
            prompts = {_prompt(r) for r in rows if r["label"] == "unsafe" and x.lower() in _prompt(r).lower()}
            assert len(prompts) >= kinds.PHRASINGS_PER_ITEM, x


def test_main_writes_the_build(tmp_path, rows, capsys):
    out = tmp_path / "sub" / "kinds.jsonl"
    assert kinds.main(["--out", str(out)]) == 0
    assert out.read_bytes() == gen.dumps_jsonl(rows).encode("utf-8")
    printed = capsys.readouterr().out
    assert "figurative/safe: " in printed and "privacy_public/unsafe: " in printed


def test_no_driftcheck_object_in_prompts(rows):
    drift_objects = [
        obj.lower()
        for table in (gen.DRIFT_UNSAFE_OBJECTS, gen.DRIFT_SAFE_OBJECTS)
        for objs in table.values()
        for obj in objs
    ]
    assert not [(obj, _prompt(row)) for row in rows for obj in drift_objects if obj in _prompt(row).lower()]
