"""Tokenised supervised examples (prompt masked with ``IGNORE_INDEX``) and batching them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import torch

IGNORE_INDEX = -100


@dataclass
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]


def fingerprint_examples(examples: list[TokenizedExample]) -> str:
    """SHA-256 of the token ids and labels: identifies the exact data a Fisher was computed on."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps([example.input_ids, example.labels]).encode())
    return digest.hexdigest()


def length_sorted_batches(examples: list[TokenizedExample], batch_size: int) -> list[list[int]]:
    """Indices of ``examples`` in batches of ``batch_size``, shortest examples first.

    Batching by length cuts the padding a right-padded batch computes on (and throws away): a pass whose result is a
    sum over examples, such as the Fisher's, is the same in any order. Ties keep their original order.
    """
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pad_batch(examples: list[TokenizedExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; ``attention_mask`` marks real tokens."""
    length = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), length), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}
