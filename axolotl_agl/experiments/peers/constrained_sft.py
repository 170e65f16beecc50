"""Constrained SFT peer (Qi et al., ICLR 2025, "Safety alignment should be made more than just a few tokens deep").

The task loss is replaced by the token-wise constrained objective of the paper: for each reply token ``t`` with
``Δ_t = log π_θ(y_t | x, y_<t) − log π_aligned(y_t | x, y_<t)``,

    ℓ_t = (2 / β_t) · softplus(−β_t · Δ_t) = −(2 / β_t) · log σ(β_t · Δ_t),

averaged over the reply tokens exactly as the model's own cross-entropy is (micro-batch mean, or sum over
``num_items_in_batch``). Its gradient is ``−2·σ(−β_t·Δ_t)·∇ log π_θ(y_t)``: plain SFT's gradient (weight 1 at
``Δ_t = 0``) damped once the fine-tuned model puts more probability than the aligned one on the token, the faster
the larger ``β_t``. ``β_t = β·first_token_factor`` for the first token of each reply, ``β·bias_factor`` for the next
``bias_length − 1`` tokens, ``β`` after (the paper's defaults: 5, 20, 5); ``β = peer_baseline.weight`` is the one
knob (→ 0: plain SFT; larger: closer to the aligned model, most of all at the start of the reply).

The aligned model is the same PEFT model with its adapter disabled (the base is the aligned model), so each
micro-batch costs one extra forward pass without gradients. "Reply" = each maximal run of supervised target tokens
(labels ≠ −100 after the shift), so every assistant turn of a multi-turn chat restarts at position 0.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from axolotl_agl.core.examples import IGNORE_INDEX
from axolotl_agl.experiments.peers.config import PeerConfig
from axolotl_agl.experiments.peers.weight_penalty import PeerTrainer


def shifted_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(targets, mask)`` aligned with ``logits[:, :-1]``: the next token and whether it is supervised."""
    targets = labels[:, 1:]
    return targets, targets != IGNORE_INDEX


def reply_positions(mask: torch.Tensor) -> torch.Tensor:
    """Index of each supervised target within its run of consecutive supervised targets (−1 where unsupervised)."""
    t = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    previous = torch.zeros_like(mask)
    previous[:, 1:] = mask[:, :-1]
    starts = mask & ~previous
    last_start = torch.cummax(torch.where(starts, t, torch.zeros_like(t)), dim=1).values
    return torch.where(mask, t - last_start, torch.full_like(t, -1))


def token_betas(
    positions: torch.Tensor, beta: float, first_token_factor: float, bias_factor: float, bias_length: int
) -> torch.Tensor:
    """``β_t`` per target: ``β·first_token_factor`` at position 0, ``β·bias_factor`` below ``bias_length``, else β."""
    betas = torch.full(positions.shape, float(beta), dtype=torch.float64, device=positions.device)
    betas = torch.where(positions < bias_length, betas * bias_factor, betas)
    if bias_length > 0:
        betas = torch.where(positions == 0, torch.full_like(betas, beta * first_token_factor), betas)
    return betas


def target_logprobs(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``log softmax(logits[:, :-1])`` at each target (0 where unsupervised), in at least float32."""
    logits = logits[:, :-1]
    logits = logits if logits.dtype == torch.float64 else logits.float()
    safe = torch.where(mask, targets, torch.zeros_like(targets))
    picked = logits.gather(-1, safe.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    return torch.where(mask, picked, torch.zeros_like(picked))


def constrained_sft_sums(
    logits: torch.Tensor,
    reference_logits: torch.Tensor,
    labels: torch.Tensor,
    beta: float,
    first_token_factor: float = 5.0,
    bias_factor: float = 20.0,
    bias_length: int = 5,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(Σ_t ℓ_t, Σ_t −log π_θ(y_t), number of supervised targets)`` over a batch (sums, not means)."""
    targets, mask = shifted_targets(labels)
    policy = target_logprobs(logits, targets, mask)
    with torch.no_grad():
        reference = target_logprobs(reference_logits, targets, mask)
    betas = token_betas(reply_positions(mask), beta, first_token_factor, bias_factor, bias_length).to(policy.dtype)
    per_token = 2.0 / betas * F.softplus(-betas * (policy - reference))
    zero = torch.zeros_like(per_token)
    return torch.where(mask, per_token, zero).sum(), -policy.sum(), int(mask.sum())


class ConstrainedSFTTrainer(PeerTrainer):
    """Replaces each micro-batch's task loss by the constrained objective (no once-per-step weight penalty)."""

    penalty_label = "Constrained-SFT loss"
    adds_weight_penalty = False

    def configure_peer(self, peer: PeerConfig, cfg: Any) -> None:
        super().configure_peer(peer, cfg)
        if not hasattr(self.accelerator.unwrap_model(self.model), "disable_adapter"):
            raise ValueError(
                "peer_baseline.method constrained_sft uses the model with its LoRA adapter disabled as the aligned "
                "reference; set adapter: lora (or qlora)"
            )

    def nonfinite_details(self) -> tuple[str, str]:
        return "", "The logits hold NaN/Inf (lower learning_rate; skip uses plain cross-entropy for such micro-batches)"

    def reference_logits(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        """Logits of the aligned model: the same model with its adapter disabled, without gradients."""
        unwrapped = self.accelerator.unwrap_model(model)
        with torch.no_grad(), unwrapped.disable_adapter():
            return unwrapped(**inputs).logits

    def task_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool, num_items_in_batch: Any) -> Any:
        if not (model.training and self.peer is not None and "labels" in inputs):
            return super().task_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs["labels"]
        model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        loss, outputs = super().task_loss(model, inputs, True, num_items_in_batch)
        logits = getattr(outputs, "logits", None)
        if logits is None:
            raise ValueError(
                "peer_baseline.method constrained_sft needs the model's logits, but the loss was computed without "
                "them (a fused cross-entropy plugin); remove cut_cross_entropy / liger fused-linear cross entropy"
            )
        peer = self.peer
        csft_sum, ce_sum, count = constrained_sft_sums(
            logits,
            self.reference_logits(model, model_inputs),
            labels,
            peer.weight,
            peer.first_token_factor,
            peer.bias_factor,
            peer.bias_length,
        )
        if count == 0:
            return (loss, outputs) if return_outputs else loss
        # Normalise the token sum exactly as the Trainer normalised the model's summed cross-entropy (micro-batch mean,
        # or num_items_in_batch, times the world size when tokens are averaged across devices).
        normaliser = (loss.detach().to(ce_sum.dtype) / ce_sum.detach()).clamp_min(0)
        constrained = normaliser * csft_sum  # float32 (float64 for a float64 model), like the model's own loss
        terms = {"constrained_sft": constrained.detach(), "task_ce": loss.detach()}
        problem = self.nonfinite_message(constrained, terms)
        if problem is not None and self.allow_nonfinite(problem):
            constrained = loss
        else:
            self.store_metrics({f"{self.metric_prefix}/{k}": float(v) for k, v in terms.items()}, train_eval="train")
        return (constrained, outputs) if return_outputs else constrained
