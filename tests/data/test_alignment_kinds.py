"""Fast tests of ``scripts/generate_alignment_kinds.py`` (kinds of harm-sounding prompts; no model, no torch).

Batch 1 (seven kinds, tables in the generator) is pinned byte for byte; batch 2 (``--batch 2``, eight kinds, tables in
``scripts/alignment_kinds_batch2.py``) is checked for determinism, counts, disjointness from batch 1 and every other
prompt set, and reply form. The checks that apply to every batch are parametrised over both.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from axolotl_agl.drift.judge import is_refusal
from axolotl_agl.experiments.paths import find_xstest
from scripts import alignment_kinds_batch2 as batch2
from scripts import generate_alignment_extra as extra
from scripts import generate_alignment_kinds as kinds
from scripts import generate_data as gen

DATA_DIR = Path(__file__).resolve().parents[2] / "axolotl_agl" / "data"

#: sha256 of batch 1's JSONL bytes (``.cache/alignment_kinds.jsonl``, 357 rows), which must never change.
BATCH1_SHA256 = "8d99c1537984ca3305d7483031f281d7c6fd19cc3d043a6c2f5a5d6a4bd391e9"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return kinds.build_kinds_rows()


@pytest.fixture(scope="module")
def rows2() -> list[dict]:
    return kinds.build_kinds_rows(batch=2)


@pytest.fixture(scope="module", params=[1, 2], ids=["batch1", "batch2"])
def batch_rows(request) -> tuple[int, list[dict]]:
    """``(batch number, rows)`` for every batch."""
    return request.param, request.getfixturevalue("rows" if request.param == 1 else "rows2")


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


def test_schema(batch_rows):
    batch, rows = batch_rows
    prefix = {1: "kinds-", 2: "kinds2-"}[batch]
    width = max(3, len(str(len(rows))))
    ids = [row["id"] for row in rows]
    assert ids == [f"{prefix}{i:0{width}d}" for i in range(1, len(rows) + 1)]
    for row in rows:
        assert set(row) == {"id", "messages", "label", "category", "kind"}
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert all(set(m) == {"role", "content"} for m in row["messages"])
        assert all(isinstance(m["content"], str) and m["content"].strip() for m in row["messages"])
        assert row["category"] in kinds.BATCHES[batch].kinds
        assert (row["label"], row["kind"]) in {("safe", gen.KIND_LOOKALIKE), ("unsafe", gen.KIND_HARMFUL)}
        assert "{" not in _prompt(row) and "}" not in _prompt(row)
        assert kinds.SLOT_SEPARATOR.strip() not in _prompt(row)


def test_unique_prompts(batch_rows):
    _, rows = batch_rows
    prompts = [_norm(_prompt(row)) for row in rows]
    assert not [p for p, n in Counter(prompts).items() if n > 1]


def test_disjoint_from_project_data(batch_rows):
    _, rows = batch_rows
    ours = {_norm(_prompt(row)) for row in rows}
    alignment = {_norm(_prompt(row)) for row in _read_jsonl(DATA_DIR / gen.ALIGNMENT_FILE)}
    extra_rows = {_norm(_prompt(row)) for row in extra.build_extra_rows()}
    driftcheck = {_norm(row["prompt"]) for row in _read_jsonl(DATA_DIR / gen.DRIFTCHECK_FILE)}
    assert alignment and extra_rows and driftcheck
    assert not ours & alignment
    assert not ours & extra_rows
    assert not ours & driftcheck


def test_disjoint_from_xstest(batch_rows):
    _, rows = batch_rows
    path = find_xstest()
    if path is None or not Path(path).exists():
        pytest.skip("XSTest is not available")
    from axolotl_agl.data import load_xstest

    xstest = {_norm(row["prompt"]) for row in load_xstest(path)}
    assert xstest
    collisions = sorted({_norm(_prompt(row)) for row in rows} & xstest)
    assert not collisions, f"{len(collisions)} prompt(s) collide with XSTest"


def test_harmful_replies_are_refusals(batch_rows):
    _, rows = batch_rows
    harmful = [row for row in rows if row["label"] == "unsafe"]
    assert harmful
    assert not [_reply(row) for row in harmful if not is_refusal(_reply(row))]


def test_safe_answers_are_helpful(batch_rows):
    _, rows = batch_rows
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


def test_no_driftcheck_object_in_prompts(batch_rows):
    _, rows = batch_rows
    drift_objects = [
        obj.lower()
        for table in (gen.DRIFT_UNSAFE_OBJECTS, gen.DRIFT_SAFE_OBJECTS)
        for objs in table.values()
        for obj in objs
    ]
    assert not [(obj, _prompt(row)) for row in rows for obj in drift_objects if obj in _prompt(row).lower()]


# ---------------------------------------------------------------------------------------------------------------------
# Batch 1 is pinned; batch 2 is disjoint from it.
# ---------------------------------------------------------------------------------------------------------------------


def test_batch1_is_pinned(rows):
    assert len(rows) == 357
    assert (rows[0]["id"], rows[-1]["id"]) == ("kinds-001", "kinds-357")
    assert hashlib.sha256(gen.dumps_jsonl(rows).encode("utf-8")).hexdigest() == BATCH1_SHA256
    assert kinds.build_kinds_rows(batch=1) == kinds.build_kinds_rows(seed=kinds.KINDS_SEED) == rows


def test_batch2_deterministic(rows2, tmp_path):
    assert kinds.build_kinds_rows(batch=2) == rows2
    assert kinds.build_kinds_rows(seed=kinds.KINDS2_SEED, batch=2) == rows2
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    kinds.write_kinds(first, batch=2)
    kinds.write_kinds(second, batch=2)
    assert first.read_bytes() == second.read_bytes() == gen.dumps_jsonl(rows2).encode("utf-8")


def test_main_batch2_default_out(tmp_path, rows2, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert kinds.main(["--batch", "2"]) == 0
    assert (tmp_path / kinds.DEFAULT_OUT2).read_bytes() == gen.dumps_jsonl(rows2).encode("utf-8")
    assert not (tmp_path / kinds.DEFAULT_OUT).exists()
    printed = capsys.readouterr().out
    assert (
        "(batch 2)" in printed and "nonsense_real_group/safe: " in printed and "nonsense_real_group/unsafe: " in printed
    )


def test_unknown_batch_is_rejected():
    with pytest.raises(ValueError, match="unknown batch"):
        kinds.build_kinds_rows(batch=3)
    with pytest.raises(SystemExit):
        kinds.main(["--batch", "3"])


def _batch2_item_counts() -> dict[str, tuple[int, int]]:
    """``kind -> (safe items, harmful items)`` of batch 2."""
    counts = {kind: (len(batch2.SAFE_ITEMS[kind]), len(batch2.HARMFUL_ITEMS[kind])) for kind in batch2.SAFE_ITEMS}
    counts["nonsense_group"] = (len(batch2.NONSENSE_GROUPS), len(batch2.REAL_GROUPS))
    return counts


def test_batch2_kinds_and_counts(rows2):
    assert batch2.KINDS == (*kinds.KINDS[:6], "nonsense_real_group", kinds.KINDS[6])
    assert set(batch2.SAFE_ITEMS) == set(batch2.HARMFUL_ITEMS) == set(batch2.KINDS) - {"nonsense_group"}
    item_counts = _batch2_item_counts()
    assert set(item_counts) == set(batch2.KINDS)
    row_counts = Counter((row["category"], row["label"]) for row in rows2)
    n = kinds.PHRASINGS_PER_ITEM2
    for kind, (n_safe, n_harmful) in item_counts.items():
        assert 35 <= n_safe <= 45, kind
        assert 25 <= n_harmful <= 30, kind
        assert row_counts[(kind, "safe")] == n * n_safe, kind
        assert row_counts[(kind, "unsafe")] == n * n_harmful, kind
    assert {row["category"] for row in rows2} == set(batch2.KINDS)
    assert len(rows2) == n * sum(a + b for a, b in item_counts.values())
    safe_share = sum(row["label"] == "safe" for row in rows2) / len(rows2)
    assert 0.55 <= safe_share <= 0.65


def test_batch2_template_sets(rows2):
    templates = batch2.TEMPLATES
    used = {t for table in (batch2.SAFE_ITEMS, batch2.HARMFUL_ITEMS) for items in table.values() for t, _, _ in items}
    assert used == set(templates)
    for name, styles in templates.items():
        assert len(styles) >= kinds.PHRASINGS_PER_ITEM2, name
        slotted = {"{g}" in t for ts in styles.values() for t in ts}
        assert len(slotted) == 1, name  # a set uses either {g}/{v} or {x}, never both
    for table in (batch2.SAFE_ITEMS, batch2.HARMFUL_ITEMS):
        for kind, items in table.items():
            for template_set, x, _ in items:
                uses_slots = any("{g}" in t for ts in templates[template_set].values() for t in ts)
                assert (kinds.SLOT_SEPARATOR in x) == uses_slots, (kind, x)
                assert x == x.strip() and x.count(kinds.SLOT_SEPARATOR) <= 1, x
    for right, styles in batch2.RIGHTS_TEMPLATES.items():
        assert sorted(styles) == sorted(next(iter(batch2.RIGHTS_TEMPLATES.values()))), right
    assert set(batch2.RIGHTS_ANSWERS) == set(batch2.RIGHTS_TEMPLATES)
    for kind in batch2.SAFE_ITEMS:
        safe_sets = {t for t, _, _ in batch2.SAFE_ITEMS[kind]}
        harmful_sets = {t for t, _, _ in batch2.HARMFUL_ITEMS[kind]}
        assert safe_sets & harmful_sets or kind in {"definitions", "history"}, kind  # shared surface forms


def test_batch2_has_many_short_prompts(rows2):
    words = [len(_prompt(row).split()) for row in rows2]
    assert sum(w <= 10 for w in words) / len(words) >= 0.3


def _item_keys(safe_items, harmful_items, nonsense_groups, real_groups) -> set[str]:
    keys = {_norm(x) for table in (safe_items, harmful_items) for items in table.values() for _, x, _ in items}
    return keys | {_norm(x) for x, _ in nonsense_groups} | {_norm(x) for x in real_groups}


def test_batch2_items_are_new(rows, rows2):
    first = _item_keys(kinds.SAFE_ITEMS, kinds.HARMFUL_ITEMS, kinds.NONSENSE_GROUPS, kinds.REAL_GROUPS)
    second = _item_keys(batch2.SAFE_ITEMS, batch2.HARMFUL_ITEMS, batch2.NONSENSE_GROUPS, batch2.REAL_GROUPS)
    assert not first & second
    assert not set(batch2.RIGHTS_TEMPLATES) & set(kinds.RIGHTS_TEMPLATES)
    assert not {_norm(_prompt(row)) for row in rows} & {_norm(_prompt(row)) for row in rows2}
    # Within batch 2, every item appears once per label (a safe and a harmful item may share a subject, such as an
    # event that is asked about (safe) or asked to be justified (harmful)).
    for table in (batch2.SAFE_ITEMS, batch2.HARMFUL_ITEMS):
        all_x = [_norm(x) for items in table.values() for _, x, _ in items]
        assert not [x for x, n in Counter(all_x).items() if n > 1]


def test_batch2_several_styles_per_item(rows2):
    n = kinds.PHRASINGS_PER_ITEM2
    for label, table in (("safe", batch2.SAFE_ITEMS), ("unsafe", batch2.HARMFUL_ITEMS)):
        for kind, items in table.items():
            for _, x, _ in items:
                parts = [p.lower() for p in kinds.split_slots(x) if p]
                prompts = {
                    _prompt(r)
                    for r in rows2
                    if r["category"] == kind and r["label"] == label and all(p in _prompt(r).lower() for p in parts)
                }
                assert len(prompts) >= n, x
    for label, groups in (("safe", [x for x, _ in batch2.NONSENSE_GROUPS]), ("unsafe", batch2.REAL_GROUPS)):
        for x in groups:
            pattern = re.compile(rf"\b{re.escape(x)}\b")
            prompts = {
                _prompt(r)
                for r in rows2
                if r["category"] == "nonsense_group" and r["label"] == label and pattern.search(_prompt(r))
            }
            assert len(prompts) >= n, x


def test_batch2_safe_answers_are_short(rows2):
    for row in rows2:
        if row["label"] == "safe":
            assert len(_reply(row).split()) <= 60, _reply(row)
