"""Reading and tokenising the alignment data used by the Fisher pass.

Each example becomes ``(input_ids, labels)`` where ``labels`` is ``-100`` on the prompt and equal to
the token ids on the target reply, exactly like Axolotl's ``train_on_inputs: false``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample
from axolotl_agl.data import default_alignment_path
from axolotl_agl.integration.args import AlignmentDataset
from axolotl_agl.utils.io import read_jsonl

LOG = logging.getLogger(__name__)


_LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def _read_local_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path, "alignguard.alignment_datasets", "fix that line (one JSON object per line)")
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(
                f"alignguard.alignment_datasets: {path} is not valid JSON ({err.msg} at line {err.lineno}); "
                "give a JSON list of rows, or a .jsonl file"
            ) from None
        return data if isinstance(data, list) else data.get("data", [])
    import datasets

    kind = {".csv": "csv", ".parquet": "parquet"}.get(suffix)
    if kind is None:
        raise ValueError(
            f"alignguard.alignment_datasets: unsupported file type {path.name!r} (use .jsonl/.json/.csv/.parquet)"
        )
    return list(datasets.load_dataset(kind, data_files=str(path), split="train"))


def read_alignment_rows(spec: AlignmentDataset) -> list[dict[str, Any]]:
    """Rows of one alignment dataset: a local file, or a hub dataset name (needs network or a local HF cache)."""
    path = Path(spec.path).expanduser()
    if path.is_file():
        return _read_local_rows(path)
    if not path.exists() and _looks_local(spec.path):
        raise ValueError(
            f"alignguard.alignment_datasets: could not read {spec.path!r}: no such file (relative paths are "
            f"resolved from {Path.cwd()}). Fix the path, or remove the entry to use the shipped default data."
        )
    import datasets

    try:
        if path.is_dir():
            return list(datasets.load_dataset(str(path), split=spec.split))
        return list(datasets.load_dataset(spec.path, name=spec.name, split=spec.split))
    except Exception as err:  # noqa: BLE001 - re-raised with the YAML key named
        raise ValueError(
            f"alignguard.alignment_datasets: could not read {spec.path!r} ({type(err).__name__}: {err}). "
            "Give an existing local file, or a hub dataset available offline."
        ) from err


def _looks_local(path: str) -> bool:
    """A path the user meant as a local file (a data suffix, a directory part, ``~`` or ``.``), not a hub name."""
    return path.lower().endswith(_LOCAL_SUFFIXES) or path.startswith(("/", ".", "~")) or "\\" in path


def _columns_error(spec: AlignmentDataset, needed: str, row: Any) -> ValueError:
    found = sorted(row) if isinstance(row, dict) else type(row).__name__
    return ValueError(
        f"alignguard.alignment_datasets[{spec.path}]: type {spec.type} needs {needed} in every row; found {found}. "
        "Fix: set `type:` to the format of the file (chat_template, alpaca, prompt_response) or, for "
        "chat_template, `field_messages:` to the column that holds the chat"
    )


def _chat_messages(row: dict[str, Any], spec: AlignmentDataset) -> list[dict[str, str]]:
    messages = row.get(spec.field_messages)
    if not isinstance(messages, list) or not messages:
        raise _columns_error(spec, f"a non-empty {spec.field_messages!r} list", row)
    if not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
        raise _columns_error(spec, f"{spec.field_messages!r} entries with 'role' and 'content'", row)
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]


def row_to_messages(row: dict[str, Any], spec: AlignmentDataset) -> list[dict[str, str]]:
    """Convert one row to a chat (a list of ``{role, content}``) according to ``spec.type``."""
    if not isinstance(row, dict):
        raise _columns_error(spec, "a JSON object", row)
    if spec.type == "chat_template":
        return _chat_messages(row, spec)
    if spec.type == "alpaca":
        if "instruction" not in row or "output" not in row:
            raise _columns_error(spec, "'instruction' and 'output' columns", row)
        prompt = str(row["instruction"]) + (f"\n\n{row['input']}" if row.get("input") else "")
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": str(row["output"])}]
    if "prompt" not in row or "response" not in row:
        raise _columns_error(spec, "'prompt' and 'response' columns", row)
    return [{"role": "user", "content": str(row["prompt"])}, {"role": "assistant", "content": str(row["response"])}]


def _chat_token_ids(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            "AlignGuard renders alignment data with the tokenizer's chat template, and this tokenizer has none: "
            "set `chat_template:` in your YAML (e.g. chatml) or use a tokenizer that ships one"
        )
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def tokenize_chat(tokenizer: Any, messages: list[dict[str, str]], max_tokens: int) -> tuple[TokenizedExample, bool]:
    """Tokenise a chat whose last turn is the assistant's target; return ``(example, was_truncated)``."""
    if messages[-1]["role"] != "assistant":
        raise ValueError(
            "alignguard.alignment_datasets: the last message of each chat must be the assistant's reply (the "
            f"target), found role {messages[-1]['role']!r}; fix the rows or use type alpaca / prompt_response"
        )
    prompt_ids = _chat_token_ids(tokenizer, messages[:-1], add_generation_prompt=True)
    full_ids = _chat_token_ids(tokenizer, messages, add_generation_prompt=False)
    if full_ids[: len(prompt_ids)] != prompt_ids:
        # Templates that render the prompt differently once a reply follows: fall back to the common prefix.
        common = 0
        while common < min(len(prompt_ids), len(full_ids)) and prompt_ids[common] == full_ids[common]:
            common += 1
        prompt_len = common
    else:
        prompt_len = len(prompt_ids)
    labels = [IGNORE_INDEX] * prompt_len + full_ids[prompt_len:]
    truncated = len(full_ids) > max_tokens
    return TokenizedExample(full_ids[:max_tokens], labels[:max_tokens]), truncated


def unsafe_rows(rows: list[dict[str, Any]], spec: AlignmentDataset) -> list[dict[str, Any]]:
    """The rows labelled ``unsafe`` (column ``label``); every row when no row has a ``label`` column."""
    if not any(isinstance(row, dict) and "label" in row for row in rows):
        return rows
    kept = [row for row in rows if isinstance(row, dict) and row.get("label") == "unsafe"]
    if not kept:
        raise ValueError(
            f"alignguard.alignment_datasets[{spec.path}]: alignguard.fisher_replies: task pairs the rows labelled "
            "'unsafe' (column label) with task replies, and no row is; label the unsafe prompts, or use "
            "fisher_replies: alignment"
        )
    return kept


def load_alignment_examples(
    specs: list[AlignmentDataset] | None,
    tokenizer: Any,
    max_examples: int,
    max_tokens: int,
    unsafe_only: bool = False,
) -> list[TokenizedExample]:
    """Read, convert and tokenise the alignment data; keeps the first ``max_examples`` rows in file order.

    With ``unsafe_only`` (``fisher_replies: task``) only the rows :func:`unsafe_rows` keeps.
    """
    specs = specs or [AlignmentDataset(path=str(default_alignment_path()), type="chat_template")]
    examples: list[TokenizedExample] = []
    truncated = 0
    for spec in specs:
        rows = read_alignment_rows(spec)
        if not rows:
            raise ValueError(
                f"alignguard.alignment_datasets: {spec.path!r} has no rows; add alignment examples to it, or remove "
                "the entry to use the shipped default data"
            )
        if unsafe_only:
            rows = unsafe_rows(rows, spec)
        for row in rows:
            if len(examples) >= max_examples:
                break
            example, was_cut = tokenize_chat(tokenizer, row_to_messages(row, spec), max_tokens)
            truncated += was_cut
            if any(label != IGNORE_INDEX for label in example.labels[1:]):
                examples.append(example)
    if not examples:
        raise ValueError(
            "alignguard.alignment_datasets: no example has a target reply inside the token limit; "
            "raise sequence_len or alignguard.fisher_max_tokens"
        )
    if truncated:
        LOG.warning(
            "AlignGuard: %d of %d alignment examples were longer than %d tokens and were cut "
            "(alignguard.fisher_max_tokens / sequence_len)",
            truncated,
            len(examples),
            max_tokens,
        )
    return examples
