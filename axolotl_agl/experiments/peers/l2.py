"""L2 peer: ``λ · Σ_layers ‖ΔW‖²_F`` with ``ΔW = s·B·A``, computed from the LoRA factors."""

from __future__ import annotations

import torch

from axolotl_agl.core.lora_modules import LoraHandle
from axolotl_agl.experiments.peers.weight_penalty import PeerTrainer, full_precision


def l2_penalty(a: torch.Tensor, b: torch.Tensor, scale: float) -> torch.Tensor:
    """``‖s·B·A‖²_F = s² · Σ (AAᵀ) ⊙ (BᵀB)`` (an ``r × r`` product, no ``d_out × d_in`` matrix)."""
    a, b = full_precision(a), full_precision(b)
    return scale**2 * ((a @ a.T) * (b.T @ b)).sum()


class L2Trainer(PeerTrainer):
    term_name = "l2"

    def layer_penalty(self, layer: LoraHandle) -> torch.Tensor:
        a, b = layer.factors()
        return l2_penalty(a, b, layer.scale)
