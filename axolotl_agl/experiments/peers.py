"""Peer defences for the drift benchmark, as a small Axolotl plugin (benchmark code, not the product).

* ``l2``:  λ·Σ_layers ‖ΔW‖²_F, computed from the LoRA factors.
* ``ewc``: λ·Σ_layers Σ_pq F_pq ΔW_pq² with F the *diagonal* empirical Fisher of the base weights on
  the same alignment data AGL uses (per-example gradients, one example at a time).

Use with ``PYTHONPATH=benchmarks`` and ``plugins: [peers.PeerPlugin]`` plus a ``peer_baseline:`` block.
Safe LoRA and replay need no training-time code (see ``benchmarks/drift.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import torch
from axolotl.integrations.base import BasePlugin
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from axolotl_agl.core.examples import pad_batch
from axolotl_agl.core.lora_modules import LoraHandle, find_lora_linears
from axolotl_agl.core.nll import per_example_mean_nll
from axolotl_agl.integration.alignment_data import load_alignment_examples
from axolotl_agl.integration.args import AlignGuardConfig
from axolotl_agl.integration.trainer import AlignGuardTrainer

LOG = logging.getLogger("axolotl_agl.peers")


class PeerConfig(BaseModel):
    method: Literal["l2", "ewc"] = Field(description="Which peer regulariser to add to the task loss.")
    weight: float = Field(description="λ of the regulariser.")
    fisher_num_samples: int = Field(default=128, description="Alignment examples for the EWC diagonal Fisher.")
    fisher_cache_path: str | None = Field(default=None, description="safetensors file for the EWC Fisher.")


class PeerArgs(BaseModel):
    peer_baseline: PeerConfig | None = Field(default=None, description="Peer baseline settings (benchmarks only).")


def compute_diagonal_fisher(
    model: Any, tokenizer: Any, handles: list[LoraHandle], num_samples: int, max_tokens: int
) -> dict[str, torch.Tensor]:
    """Diagonal empirical Fisher of each base weight: ``(1/N) Σ_n (∇_W ℓ_n)²``, one example at a time."""
    examples = load_alignment_examples(None, tokenizer, num_samples, max_tokens)
    weights = {h.name: h.base_layer.weight for h in handles}
    for w in weights.values():
        w.requires_grad_(True)
    sums = {name: torch.zeros_like(w, dtype=torch.float32) for name, w in weights.items()}
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    model.eval()
    with model.disable_adapter():
        for example in tqdm(examples, desc="EWC diagonal Fisher"):
            batch = pad_batch([example], pad)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            loss = per_example_mean_nll(logits, batch["labels"]).sum()
            grads = torch.autograd.grad(loss, list(weights.values()))
            for name, grad in zip(weights, grads, strict=True):
                sums[name] += grad.float().square()
    for w in weights.values():
        w.requires_grad_(False)
    model.train()
    return {name: s / len(examples) for name, s in sums.items()}


class PeerTrainer(AlignGuardTrainer):
    """Reuses AlignGuardTrainer's once-per-optimiser-step bookkeeping with a different penalty."""

    peer: PeerConfig | None = None
    diag_fisher: dict[str, torch.Tensor] | None = None

    def alignguard_penalty(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total = 0.0
        for handle, _ in self.agl_modules:
            a, b = handle.factors()
            if self.peer.method == "l2":
                term = handle.scale**2 * ((a @ a.T) * (b.T @ b)).sum()
            else:
                delta = handle.scale * (b.float() @ a.float())
                term = (self.diag_fisher[handle.name].to(delta.device) * delta.square()).sum()
            total = total + term
        penalty = self.peer.weight * total
        return penalty, {self.peer.method: penalty.detach()}


class PeerPlugin(BasePlugin):
    def get_input_args(self) -> str:
        return "peers.PeerArgs"

    def get_trainer_cls(self, cfg: Any) -> type | None:
        return PeerTrainer if cfg.get("peer_baseline") else None

    def post_trainer_create(self, cfg: Any, trainer: Any) -> None:
        block = cfg.get("peer_baseline")
        if not block:
            return
        peer = PeerConfig.model_validate(block.to_dict() if hasattr(block, "to_dict") else dict(block))
        handles = find_lora_linears(trainer.model)
        trainer.peer = peer
        if peer.method == "ewc":
            path = Path(peer.fisher_cache_path or Path(cfg.output_dir) / "ewc_fisher.safetensors")
            if path.exists():
                trainer.diag_fisher = load_file(str(path))
            else:
                trainer.diag_fisher = compute_diagonal_fisher(
                    trainer.model, trainer.processing_class, handles, peer.fisher_num_samples, cfg.sequence_len
                )
                path.parent.mkdir(parents=True, exist_ok=True)
                save_file({k: v.contiguous() for k, v in trainer.diag_fisher.items()}, str(path))
        trainer.agl_modules = [(h, None) for h in handles]
        trainer.agl_config = AlignGuardConfig()  # only its on_nonfinite / bookkeeping defaults are used
        LOG.info("Peer baseline %s (weight %s) on %d LoRA layers", peer.method, peer.weight, len(handles))
