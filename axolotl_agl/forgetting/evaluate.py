"""Torch side of the forgetting curve: mean per-token loss of a model on examples, and greedy reference answers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from axolotl_agl.alignment_data import IGNORE_INDEX, TokenizedExample

__all__ = ["generate_answer_ids", "input_device", "mean_token_loss", "pad_right"]


def input_device(model: nn.Module) -> torch.device:
    """Where the model's input ids must live (its input embeddings' device)."""
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if embeddings is not None and getattr(embeddings, "weight", None) is not None:
        return embeddings.weight.device
    return next(model.parameters()).device


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model.eval()`` inside, the previous train/eval mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def pad_right(
    examples: Sequence[TokenizedExample], pad_id: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask, labels)`` of a batch, right-padded (labels -100 on padding)."""
    length = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), length), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids, dtype=torch.long)
        labels[row, :n] = torch.tensor(example.labels, dtype=torch.long)
        mask[row, :n] = 1
    return ids.to(device), mask.to(device), labels.to(device)


def _length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def mean_token_loss(
    model: nn.Module, examples: Sequence[TokenizedExample], batch_size: int = 8, pad_id: int = 0
) -> float | None:
    """Mean next-token loss (nats) over all target tokens of ``examples`` (token-weighted), model in eval mode.

    A target token is a position whose label is not -100, predicted from the tokens before it (the usual causal
    shift). Batches are formed by length to limit padding; no gradient is kept. Returns None without examples.
    """
    if not examples:
        return None
    device = input_device(model)
    total, count = 0.0, 0
    with eval_mode(model), torch.no_grad():
        for batch in _length_batches([len(e.input_ids) for e in examples], batch_size):
            ids, mask, labels = pad_right([examples[i] for i in batch], pad_id, device)
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
            targets = labels[:, 1:]
            keep = targets != IGNORE_INDEX
            picked = logits[:, :-1][keep].float()
            total += float(F.cross_entropy(picked, targets[keep], reduction="sum"))
            count += int(keep.sum())
    return total / count if count else None


def _eos_ids(tokenizer: Any, config: Any) -> set[int]:
    ids = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
    return set(ids) if isinstance(ids, (list, tuple)) else ({int(ids)} if ids is not None else set())


def generate_answer_ids(
    model: nn.Module,
    tokenizer: Any,
    prompt_ids: Sequence[Sequence[int]],
    max_new_tokens: int = 48,
    batch_size: int = 8,
) -> list[list[int]]:
    """Greedy answers (token ids, cut after the first end-of-sequence token) to tokenised prompts, in input order.

    Left padding, eval mode, no gradient. Disable the adapter in the caller to get the base model's answers.
    """
    from axolotl_agl.drift.generate import _greedy_config

    config = _greedy_config(model, tokenizer, max_new_tokens)
    pad_id = config.pad_token_id if config.pad_token_id is not None else 0
    eos = _eos_ids(tokenizer, config)
    device = input_device(model)
    answers: list[list[int]] = [[] for _ in prompt_ids]
    with eval_mode(model), torch.no_grad():
        for batch in _length_batches([len(p) for p in prompt_ids], batch_size):
            width = max(len(prompt_ids[i]) for i in batch)
            ids = torch.full((len(batch), width), int(pad_id), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                n = len(prompt_ids[i])
                ids[row, width - n :] = torch.tensor(list(prompt_ids[i]), dtype=torch.long)
                mask[row, width - n :] = 1
            output = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config)
            for row, i in enumerate(batch):
                new = [int(t) for t in output[row, width:].tolist()]
                cut = next((k + 1 for k, t in enumerate(new) if t in eos), len(new))
                answers[i] = new[:cut]
    return answers
