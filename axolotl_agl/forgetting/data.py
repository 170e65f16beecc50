"""The three evaluation sets of the forgetting curve, as tokenised ``(input_ids, labels)`` examples.

* **general**: general-knowledge prompts (the 80 shipped in ``axolotl_agl/data/general_prompts.jsonl``, or the
  user's ``alignguard.forgetting.general_prompts``) with the *base model's own* greedy answers as targets: text
  the model produced, hence "knew", before fine-tuning. The answers are cached in the run's
  ``agl_forgetting_reference.jsonl`` together with what they depend on (prompt, prompt tokens, base model,
  answer length), and regenerated when any of it changes.
* **alignment**: the alignment data of the Fisher pass (refusals to unsafe requests, answers to safe ones).
* **task**: a fixed, evenly spaced subset of the tokenised training dataset.

Labels are ``-100`` where no loss is taken (the prompt), as in Axolotl. No torch here.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample
from axolotl_agl.utils.io import iter_jsonl, write_jsonl

__all__ = [
    "GENERAL_PROMPTS_FILE",
    "build_general_examples",
    "default_general_prompts_path",
    "load_general_prompts",
    "read_reference_answers",
    "select_task_examples",
    "tokenize_prompts",
    "write_reference_answers",
]

LOG = logging.getLogger(__name__)

GENERAL_PROMPTS_FILE = "general_prompts.jsonl"
_KEY = "alignguard.forgetting.general_prompts"


def default_general_prompts_path() -> Path:
    """``axolotl_agl/data/general_prompts.jsonl`` inside the installed package."""
    return Path(__file__).resolve().parents[1] / "data" / GENERAL_PROMPTS_FILE


def load_general_prompts(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Prompts from a ``.jsonl`` (objects with a ``prompt`` string) or ``.txt`` (one per line); None = shipped set.

    Raises:
        ValueError: missing/unreadable file, a bad line, or no prompts (the message names the YAML key and line).
    """
    file = Path(path).expanduser() if path is not None else default_general_prompts_path()
    if not file.is_file():
        raise ValueError(
            f"{_KEY}: {file} does not exist (relative paths are resolved from {Path.cwd()}); fix the path "
            "or remove the key to use the shipped prompts"
        )
    prompts: list[str] = []
    if file.suffix.lower() == ".txt":
        prompts = [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        for number, row, line in iter_jsonl(file, _KEY, "one object per line"):
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
                raise ValueError(
                    f"{_KEY}: {file}:{number} needs a non-empty string field 'prompt', got {line[:100]!r}; "
                    "or use a .txt file with one prompt per line"
                )
            prompts.append(row["prompt"])
    if not prompts:
        raise ValueError(f"{_KEY}: {file} holds no prompts; add some or remove the key to use the shipped prompts")
    return prompts


def tokenize_prompts(tokenizer: Any, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids of each prompt as one user turn plus the generation prompt (the tokenizer's chat template).

    Without a chat template, ``"User: {prompt}\\nAssistant:"`` is used (see ``axolotl_agl.drift.generate``).
    """
    from axolotl_agl.drift.generate import render_chat_prompts

    has_template = bool(getattr(tokenizer, "chat_template", None))
    texts = render_chat_prompts(tokenizer, prompts)
    return [list(tokenizer(text, add_special_tokens=not has_template)["input_ids"]) for text in texts]


def build_general_examples(
    prompt_ids: Sequence[Sequence[int]], answer_ids: Sequence[Sequence[int]], max_tokens: int
) -> list[TokenizedExample]:
    """Prompt + reference answer, loss on the answer only, cut to ``max_tokens``; examples with no target dropped."""
    examples = []
    for prompt, answer in zip(prompt_ids, answer_ids, strict=True):
        ids = list(prompt) + list(answer)
        labels = [IGNORE_INDEX] * len(prompt) + list(answer)
        example = TokenizedExample(ids[:max_tokens], labels[:max_tokens])
        if any(label != IGNORE_INDEX for label in example.labels[1:]):
            examples.append(example)
    return examples


def read_reference_answers(
    path: str | os.PathLike[str],
    prompts: Sequence[str],
    prompt_ids: Sequence[Sequence[int]],
    base_model: str,
    max_new_tokens: int,
) -> list[list[int]] | None:
    """The cached answer token ids when ``path`` was written for exactly these inputs, else None (with a log line)."""
    file = Path(path)
    if not file.is_file():
        return None
    try:
        rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        matches = len(rows) == len(prompts) and all(
            row["prompt"] == prompt
            and row["prompt_ids"] == list(ids)
            and row["base_model"] == base_model
            and row["max_new_tokens"] == max_new_tokens
            for row, prompt, ids in zip(rows, prompts, prompt_ids, strict=False)
        )
        answers = [[int(t) for t in row["answer_ids"]] for row in rows]
    except (OSError, ValueError, KeyError, TypeError) as err:
        LOG.warning("AlignGuard forgetting: cannot read %s (%s); generating the reference answers again", file, err)
        return None
    if not matches:
        LOG.info("AlignGuard forgetting: %s was made for other prompts/model/settings; generating it again", file)
        return None
    return answers


def write_reference_answers(
    path: str | os.PathLike[str],
    prompts: Sequence[str],
    prompt_ids: Sequence[Sequence[int]],
    answer_ids: Sequence[Sequence[int]],
    answers_text: Sequence[str],
    base_model: str,
    max_new_tokens: int,
) -> None:
    """Write the reference answers (JSONL, atomically): prompt, tokens, answer text and what they depend on."""
    rows = [
        {
            "prompt": prompt,
            "answer": text,
            "prompt_ids": list(ids),
            "answer_ids": list(answer),
            "base_model": base_model,
            "max_new_tokens": max_new_tokens,
        }
        for prompt, ids, answer, text in zip(prompts, prompt_ids, answer_ids, answers_text, strict=True)
    ]
    write_jsonl(path, rows)


def _as_ids(value: Any) -> list[int]:
    return [int(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]


def select_task_examples(dataset: Any, count: int, max_tokens: int) -> list[TokenizedExample]:
    """Up to ``count`` rows of the tokenised training dataset at evenly spaced indices (first and last included).

    Rows need ``input_ids``; ``labels`` default to ``input_ids``. Rows without a target token are skipped. A dataset
    without ``len``/indexing (streaming) gives no examples.
    """
    if dataset is None or not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__") or len(dataset) == 0:
        return []
    n = len(dataset)
    m = min(count, n)
    indices = sorted({round(i * (n - 1) / max(m - 1, 1)) for i in range(m)})
    examples = []
    for index in indices:
        row = dataset[int(index)]
        if not isinstance(row, dict) or "input_ids" not in row:
            return []
        ids = _as_ids(row["input_ids"])
        labels = _as_ids(row["labels"]) if row.get("labels") is not None else list(ids)
        example = TokenizedExample(ids[:max_tokens], labels[:max_tokens])
        if any(label != IGNORE_INDEX for label in example.labels[1:]):
            examples.append(example)
    return examples
