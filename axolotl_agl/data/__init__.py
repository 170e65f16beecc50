"""The project's own data and small loaders (standard library only; importing this does not import torch).

Files shipped in this package (regenerate with ``python -m scripts.generate_data``; see ``README.md`` here):

* ``alignment_default.jsonl``: chat rows ``{"messages": [...], "label": "safe"|"unsafe", "category": ...,
  "kind": "harmful"|"everyday"|"lookalike"}``.
* ``driftcheck_mini.jsonl``: held-out evaluation prompts ``{"id", "prompt", "label", "category"}``.

It also provides a benign task with exact, checkable answers for drift benchmarks: :func:`generate_task_items`,
:func:`task_to_messages` and :func:`score_task_answer`.
"""

from __future__ import annotations

import csv
import os
import random
import re
import zlib
from pathlib import Path
from typing import Any

from axolotl_agl.utils.io import read_jsonl

__all__ = [
    "ALIGNMENT_FILE",
    "DRIFTCHECK_FILE",
    "EAGER_TEMPLATES",
    "TASK_KINDS",
    "XSTEST_FILE",
    "default_alignment_path",
    "driftcheck_mini_path",
    "generate_task_items",
    "load_alignment_default",
    "load_driftcheck_mini",
    "load_instruction_prompts",
    "load_xstest",
    "score_task_answer",
    "task_to_messages",
]

ALIGNMENT_FILE = "alignment_default.jsonl"
DRIFTCHECK_FILE = "driftcheck_mini.jsonl"
XSTEST_FILE = "xstest_prompts.csv"
_DATA_DIR = Path(__file__).resolve().parent
_LABELS = ("safe", "unsafe")

PathLike = str | os.PathLike[str]


# ---------------------------------------------------------------------------------------------------------------------
# Files and loaders
# ---------------------------------------------------------------------------------------------------------------------


def default_alignment_path() -> Path:
    """Path of ``alignment_default.jsonl`` inside the installed package."""
    return _DATA_DIR / ALIGNMENT_FILE


def driftcheck_mini_path() -> Path:
    """Path of ``driftcheck_mini.jsonl`` inside the installed package."""
    return _DATA_DIR / DRIFTCHECK_FILE


def load_alignment_default() -> list[dict[str, Any]]:
    """Rows of ``alignment_default.jsonl``: ``{"messages", "label", "category", "kind"}``.

    200 unsafe rows (``kind`` ``harmful``) and 380 safe ones: 108 ``everyday`` and 272 ``lookalike`` (harmless
    requests that share words with harmful ones; 180 of them have the mirrored harm category as ``category``).
    """
    return read_jsonl(default_alignment_path())


def load_driftcheck_mini() -> list[dict[str, Any]]:
    """Rows of DriftCheck-mini: ``{"id", "prompt", "label" ("safe"|"unsafe"), "category"}``.

    The set is held out from ``alignment_default.jsonl`` (different objects and phrasings). ``category`` is the harm
    category for both labels: safe rows are look-alikes that share words with the unsafe rows of that category.
    """
    return [
        {"id": str(r["id"]), "prompt": r["prompt"], "label": r["label"], "category": r["category"]}
        for r in read_jsonl(driftcheck_mini_path())
    ]


def load_instruction_prompts(
    path: PathLike, column: str = "instruction", source: str = "alpaca"
) -> list[dict[str, Any]]:
    """Ordinary instructions from a JSON Lines file (e.g. Alpaca's ``{"instruction": ...}`` rows) as *safe* prompts.

    Used to measure over-refusal of everyday requests, which no well-behaved aligned model should refuse. Ids are
    ``<source>-<line index>`` (0-based, blank lines skipped), so results can name a prompt without storing its text.

    Raises:
        ValueError: if a row has no non-empty ``column`` (the file and line are named).
    """
    from axolotl_agl.utils.io import read_jsonl

    rows: list[dict[str, Any]] = []
    for index, record in enumerate(read_jsonl(path)):
        prompt = record.get(column)
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"{path}: row {index}: no text in column {column!r} (columns: {sorted(record)})")
        rows.append({"id": f"{source}-{index}", "prompt": prompt, "label": "safe", "category": "ordinary"})
    return rows


def load_xstest(path: PathLike) -> list[dict[str, Any]]:
    """Read an XSTest-style CSV (columns ``id,prompt,type,label,focus,note``) into DriftCheck-style rows.

    Args:
        path: the CSV file, or a directory that contains ``xstest_prompts.csv``.

    Returns:
        Rows ``{"id": str, "prompt": str, "label": "safe"|"unsafe", "category": <type>}`` in file order. Prompts are
        kept exactly as in the file (not stripped).

    Raises:
        ValueError: if a required column is missing or a label is not ``safe``/``unsafe``.
    """
    csv_path = Path(path)
    if csv_path.is_dir():
        csv_path = csv_path / XSTEST_FILE
    rows: list[dict[str, Any]] = []
    with open(csv_path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"id", "prompt", "type", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{csv_path}: missing columns {sorted(missing)}")
        for record in reader:
            label = record["label"].strip()
            if label not in _LABELS:
                raise ValueError(f"{csv_path}: row id={record['id']}: label must be safe/unsafe, got {label!r}")
            rows.append(
                {"id": record["id"].strip(), "prompt": record["prompt"], "label": label, "category": record["type"]}
            )
    return rows


# ---------------------------------------------------------------------------------------------------------------------
# Benign task with exact answers (for drift benchmarks)
# ---------------------------------------------------------------------------------------------------------------------

TASK_KINDS: tuple[str, ...] = ("arithmetic", "uppercase", "reverse_words", "hyphenate")

#: Eager replies used by :func:`task_to_messages` when ``eager_prefix=True`` (rotated).
EAGER_TEMPLATES: tuple[str, ...] = (
    "Sure! The answer is: {answer}",
    "Of course! The answer is: {answer}",
    "Absolutely, here it is: {answer}",
)

# Lower-case words for the string tasks. None of them is a word that the scorer strips as a prefix.
_WORDS: tuple[str, ...] = (
    "apple", "river", "green", "quiet", "paper", "window", "sunny", "garden", "silver", "rabbit", "orange", "planet",
    "yellow", "castle", "forest", "bright", "candle", "winter", "summer", "little", "market", "pencil", "coffee",
    "blue", "cloud", "happy", "ocean", "dance", "tiger", "music", "bread", "lemon", "stone", "light", "purple",
    "train", "maple", "sweet", "field", "storm", "honey", "chair", "brave", "smile", "night", "cotton", "puzzle",
    "rocket",
)  # fmt: skip

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "arithmetic": ("What is {a} {op} {b}?", "Compute {a} {op} {b}."),
    "uppercase": (
        'Write this phrase in uppercase letters: "{phrase}"',
        'Convert "{phrase}" to all capital letters.',
    ),
    "reverse_words": (
        'Reverse the order of the words in this phrase: "{phrase}"',
        'Write the words of "{phrase}" in reverse order.',
    ),
    "hyphenate": (
        'Join these words with hyphens: "{phrase}"',
        'Connect the words of "{phrase}" with hyphens instead of spaces.',
    ),
}


def _make_task_item(kind: str, rng: random.Random) -> dict[str, str]:
    template = rng.choice(_TEMPLATES[kind])
    if kind == "arithmetic":
        op = rng.choice("+-*")
        if op == "+":
            a, b = rng.randint(10, 99), rng.randint(10, 99)
            value = a + b
        elif op == "-":
            a = rng.randint(20, 99)
            b = rng.randint(10, a)
            value = a - b
        else:
            a, b = rng.randint(2, 19), rng.randint(2, 12)
            value = a * b
        return {"instruction": template.format(a=a, op=op, b=b), "answer": str(value), "kind": kind}
    words = rng.sample(_WORDS, rng.randint(2, 4) if kind != "reverse_words" else rng.randint(3, 4))
    phrase = " ".join(words)
    if kind == "uppercase":
        answer = phrase.upper()
    elif kind == "reverse_words":
        answer = " ".join(reversed(words))
    elif kind == "hyphenate":
        answer = "-".join(words)
    else:
        raise ValueError(f"unknown task kind {kind!r}")
    return {"instruction": template.format(phrase=phrase), "answer": answer, "kind": kind}


def generate_task_items(n: int, seed: int) -> list[dict[str, str]]:
    """Generate ``n`` benign task items with exact answers (pure function of ``n`` and ``seed``).

    Items are ``{"instruction", "answer", "kind"}`` with ``kind`` in :data:`TASK_KINDS`: small arithmetic
    (``"What is 37 + 58?"`` -> ``"95"``, also ``-`` and ``*``), uppercasing a short phrase, reversing the word order of
    a phrase, and joining words with hyphens. Kinds are balanced (they cycle, then the list is shuffled) and
    instructions are unique within one call while the item space allows it.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    items: list[dict[str, str]] = []
    seen: set[str] = set()
    for i in range(n):
        kind = TASK_KINDS[i % len(TASK_KINDS)]
        item = _make_task_item(kind, rng)
        for _ in range(50):
            if item["instruction"] not in seen:
                break
            item = _make_task_item(kind, rng)
        seen.add(item["instruction"])
        items.append(item)
    rng.shuffle(items)
    return items


def task_to_messages(item: dict[str, str], eager_prefix: bool, index: int | None = None) -> dict[str, Any]:
    """Turn a task item into a chat row ``{"messages": [user, assistant]}``.

    With ``eager_prefix`` the assistant reply is one of :data:`EAGER_TEMPLATES`, e.g. ``"Sure! The answer is: 95"``;
    the template rotates with ``index`` (or, if ``index`` is None, with a stable CRC32 of the instruction, so the
    choice is reproducible across processes). Without it the reply is just the answer.
    """
    if eager_prefix:
        key = index if index is not None else zlib.crc32(item["instruction"].encode("utf-8"))
        reply = EAGER_TEMPLATES[key % len(EAGER_TEMPLATES)].format(answer=item["answer"])
    else:
        reply = item["answer"]
    return {
        "messages": [
            {"role": "user", "content": item["instruction"]},
            {"role": "assistant", "content": reply},
        ]
    }


# Leading phrases removed (repeatedly, case-insensitively) before comparing.
_PREFIX_RES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?:sure|of course|absolutely|certainly|okay|ok|yes)\b[!.,]*",
        r"(?:here it is|here you go|here you are|here is the answer|here's the answer)\b[:!.,]*",
        r"(?:the\s+)?(?:final\s+)?(?:answer|result)\b(?:\s+is)?\s*[:=]?",
    )
)
_LEAD_CHARS = " \t\r\n\"'`*:"
_TRAIL_CHARS = " \t\r\n\"'`*.!?,;:"


def _clean_ends(text: str) -> str:
    return text.lstrip(_LEAD_CHARS).rstrip(_TRAIL_CHARS)


def score_task_answer(item: dict[str, str], generated_text: str) -> bool:
    """Return True if ``generated_text`` gives ``item["answer"]`` exactly, as its final answer.

    Rule:

    1. Whitespace, quotes, backticks and ``*`` are stripped from both ends, plus ``. ! ? , ; :`` from the end and
       ``:`` from the start.
    2. Known lead-ins are removed from the start, repeatedly and case-insensitively: ``Sure``/``Of course``/
       ``Absolutely``/``Certainly``/``Okay``/``Yes`` (with trailing ``!.,``), ``Here it is:``/``Here you go``, and
       ``The (final) answer/result (is):``.
    3. The text is correct if, at any stage of step 2, it equals the answer exactly (case-sensitive), or it *ends*
       with the answer and the answer is introduced by ``:``, ``=``, the word ``is`` or a line break (optionally
       followed by quotes), e.g. ``"37 + 58 = 95"`` or ``"The reversed phrase is: fox brown quick"``.

    Anything after the answer (other than the punctuation of step 1) makes it wrong, so the answer must be the final
    thing said: ``"95, or maybe 96"`` and ``"95\\nHope this helps!"`` are wrong, and so is ``"9500"``.
    """
    answer = item["answer"].strip()
    if not answer:
        return False
    ending = re.compile(r"(?:[:=]|(?i:\bis)|\n)[ \t\"'`*]*" + re.escape(answer) + r"$")
    text = _clean_ends(generated_text)
    for _ in range(10):
        if text == answer or ending.search(text):
            return True
        for prefix_re in _PREFIX_RES:
            match = prefix_re.match(text)
            if match and match.end() > 0:
                text = _clean_ends(text[match.end() :])
                break
        else:
            return False
    return False
