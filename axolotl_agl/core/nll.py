"""Per-example negative log-likelihood of reply tokens, and Monte-Carlo labels for the true Fisher."""

from __future__ import annotations

from typing import Literal

import torch

from axolotl_agl.core.examples import IGNORE_INDEX


def reply_token_mask(labels: torch.Tensor, max_reply_tokens: int | None = None) -> torch.Tensor:
    """Mask of the next-token targets (shape ``labels[:, 1:]``), cut to each example's first ``max_reply_tokens``."""
    mask = labels[:, 1:] != IGNORE_INDEX
    if max_reply_tokens is not None:
        mask = mask & (mask.cumsum(dim=1) <= max_reply_tokens)
    return mask


def per_example_reply_nll(
    logits: torch.Tensor,
    labels: torch.Tensor,
    reduction: Literal["sum", "mean"] = "sum",
    max_reply_tokens: int | None = None,
) -> torch.Tensor:
    """Next-token NLL of each example's target (reply) tokens.

    ``reduction="sum"`` gives the negative log-likelihood of the reply (of its first ``max_reply_tokens``
    tokens when set): its Fisher is the Hessian of the KL divergence between the reply *distributions*,
    in nats per reply. ``"mean"`` divides by the number of target tokens. Shape ``(batch,)``.
    """
    positions = torch.arange(labels.shape[1] - 1, device=labels.device)
    return per_example_reply_nll_at(logits[:, :-1], labels, positions, reduction, max_reply_tokens)


def reply_logit_positions(labels: torch.Tensor, max_reply_tokens: int | None = None) -> torch.Tensor:
    """Sorted positions ``t`` of ``input_ids`` whose logits predict a counted target token of some row of the batch.

    The logits at every other position do not enter :func:`per_example_reply_nll`, so a model can skip them
    (``logits_to_keep`` of Hugging Face causal LMs): with 8-token replies after 40-token prompts the vocabulary
    projection and the cross-entropy shrink to a fraction of the positions.
    """
    return reply_token_mask(labels, max_reply_tokens).any(dim=0).nonzero().squeeze(1)


def per_example_reply_nll_at(
    kept_logits: torch.Tensor,
    labels: torch.Tensor,
    positions: torch.Tensor,
    reduction: Literal["sum", "mean"] = "sum",
    max_reply_tokens: int | None = None,
) -> torch.Tensor:
    """:func:`per_example_reply_nll` from the logits of ``positions`` only (``kept_logits[:, j]`` are the logits
    at position ``positions[j]``), which must include every :func:`reply_logit_positions` of ``labels``."""
    if torch.finfo(kept_logits.dtype).bits < 32:
        kept_logits = kept_logits.float()
    full_mask = reply_token_mask(labels, max_reply_tokens)
    mask = full_mask[:, positions]
    targets = labels[:, positions + 1]
    nll = torch.nn.functional.cross_entropy(
        kept_logits.reshape(-1, kept_logits.shape[-1]), targets.clamp_min(0).reshape(-1), reduction="none"
    ).view_as(targets)
    total = (nll * mask).sum(dim=1)
    return total if reduction == "sum" else total / full_mask.sum(dim=1).clamp_min(1)


def per_example_mean_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token NLL over each example's target tokens, shape ``(batch,)``."""
    return per_example_reply_nll(logits, labels, reduction="mean")


def sample_model_labels(
    logits: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator | list[torch.Generator],
) -> torch.Tensor:
    """Replace every target token by a token drawn from the model's own next-token distribution.

    ``generator`` is one generator, or one per row (then each example's draw depends only on its own
    generator, so the Fisher does not depend on how examples are split into batches or across ranks).

    With these labels the per-example gradients give the *true* Fisher (Monte-Carlo, one sample per
    position), ``E_{y~p_θ}[∇log p_θ(y) ∇log p_θ(y)ᵀ]``: the Hessian of the KL divergence between the
    model before and after an update, which does not vanish where the model already fits its data
    (the empirical Fisher does).
    """
    with torch.no_grad():
        probs = torch.softmax(logits[:, :-1].float(), dim=-1)
        if isinstance(generator, list):
            rows = [
                torch.multinomial(row.cpu(), 1, generator=gen).squeeze(1)
                for row, gen in zip(probs, generator, strict=True)
            ]
            drawn = torch.stack(rows).to(labels.device)
        else:
            flat = probs.reshape(-1, probs.shape[-1]).cpu()
            drawn = torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1]).to(labels.device)
    sampled = labels.clone()
    targets = labels[:, 1:] != IGNORE_INDEX
    sampled[:, 1:] = torch.where(targets, drawn, labels[:, 1:])
    return sampled
