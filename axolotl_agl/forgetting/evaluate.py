"""Torch side of the forgetting curve: mean per-token loss of a model on examples, and greedy reference answers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from axolotl_agl.core.examples import TokenizedExample, pad_batch
from axolotl_agl.core.nll import per_example_reply_nll, reply_token_mask

__all__ = ["generate_answer_ids", "input_device", "mean_token_loss"]


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
            padded = {k: v.to(device) for k, v in pad_batch([examples[i] for i in batch], pad_id).items()}
            labels = padded.pop("labels")
            logits = model(**padded, use_cache=False).logits
            total += float(per_example_reply_nll(logits, labels, reduction="sum").sum())
            count += int(reply_token_mask(labels).sum())
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
    from axolotl_agl.drift.generate import greedy_generation_config

    config = greedy_generation_config(model, tokenizer, max_new_tokens)
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
