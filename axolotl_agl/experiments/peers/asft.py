"""AsFT peer (Yang et al., AAAI 2026, arXiv 2506.08473): penalise the update orthogonal to the alignment direction.

Per layer, with the alignment direction ``V = W_aligned − W_base`` and Safe LoRA's alignment matrix
``Ĉ = V Vᵀ / ‖V‖_F`` (see :mod:`~axolotl_agl.experiments.peers.directions`), the penalty is

    λ · Σ_layers ‖(I − Ĉ) · ΔW‖²_F,      ΔW = s·B·A,

as in the authors' released code. In this harness ``V`` of a layer is the merged alignment LoRA
``s_al·B_al·A_al`` — the LoRA whose merge built the aligned base (``peer_baseline.alignment_adapter``, by default
the ``adapter`` recorded in ``<base_model>/agl_source.json``, i.e. the ``align-out`` training folder of
:func:`axolotl_agl.experiments.aligned_base.ensure_aligned_base`). Nothing ``d_out × d_in`` is formed: with
``R = B − Ĉ·B`` (``d_out × r``), the term is ``s² · Σ (AAᵀ) ⊙ (RᵀR)``, and ``Ĉ·B = L (M (Lᵀ B)) / ‖V‖_F`` with
``L = s_al·B_al`` and ``M = A_al A_alᵀ`` (``r_al × r_al``, computed once).

A layer without an alignment direction (not adapted by the alignment LoRA) has ``Ĉ = 0``: its whole update is
penalised, like L2. Because ``Ĉ``'s eigenvalues are ``σ_i(V)²/‖V‖_F``, a small alignment update makes ``Ĉ`` small
and AsFT close to L2; the log line at start-up gives the largest eigenvalue so that can be judged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from axolotl_agl.core.lora_modules import LoraHandle
from axolotl_agl.experiments.peers.config import PeerConfig
from axolotl_agl.experiments.peers.directions import (
    Direction,
    alignment_adapter_of,
    alignment_matrix_times,
    directions_from_adapter,
)
from axolotl_agl.experiments.peers.weight_penalty import PeerTrainer, full_precision

LOG = logging.getLogger(__name__)


def asft_penalty(a: torch.Tensor, b: torch.Tensor, scale: float, direction: Direction | None) -> torch.Tensor:
    """``‖(I − Ĉ)·s·B·A‖²_F`` from the factors (``direction`` None: ``Ĉ = 0``)."""
    a, b = full_precision(a), full_precision(b)
    residual = b if direction is None else b - alignment_matrix_times(direction.to(b.device, b.dtype), b)
    return scale**2 * ((a @ a.T) * (residual.T @ residual)).sum()


def largest_eigenvalue(direction: Direction) -> float:
    """``σ_max(V)² / ‖V‖_F``, the largest eigenvalue of ``Ĉ`` (1 would make ``Ĉ`` a projector on that direction)."""
    gram_left = direction.left.T @ direction.left
    gram_right = direction.gram_right()
    product = gram_left if gram_right is None else gram_left @ gram_right
    top = torch.linalg.eigvals(product).real.max().clamp_min(0)
    norm = direction.frobenius_norm()
    return float(top / norm) if float(norm) > 0 else 0.0


def resolve_alignment_adapter(peer: PeerConfig, base_model: str | None) -> Path:
    """``peer_baseline.alignment_adapter``, or the adapter recorded in the aligned base; a clear error otherwise."""
    if peer.alignment_adapter:
        return Path(peer.alignment_adapter)
    recorded = alignment_adapter_of(Path(base_model)) if base_model else None
    if recorded is not None and (recorded / "adapter_config.json").is_file():
        return recorded
    where = f"{base_model}/agl_source.json records {recorded}" if recorded else f"{base_model} has no agl_source.json"
    raise ValueError(
        f"peer_baseline.method asft needs the alignment LoRA ({where}, which is not an adapter directory); set "
        "peer_baseline.alignment_adapter to the LoRA whose merge built the aligned base"
    )


class AsFTTrainer(PeerTrainer):
    term_name = "asft"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directions: dict[str, Direction] = {}

    def configure_peer(self, peer: PeerConfig, cfg: Any) -> None:
        super().configure_peer(peer, cfg)
        adapter = resolve_alignment_adapter(peer, cfg.get("base_model"))
        found = directions_from_adapter(adapter)
        for layer in self.peer_layers:
            direction = found.get(layer.name)
            if direction is not None:
                device = layer.module.lora_A[layer.adapter].weight.device
                self.directions[layer.name] = direction.to(device, torch.float32)
        eigen = sorted(largest_eigenvalue(found[name]) for name in self.directions)
        LOG.info(
            "AsFT: alignment directions from %s for %d of %d LoRA layers (the rest are penalised like L2); largest "
            "eigenvalue of Ĉ per layer: median %.3g, max %.3g",
            adapter,
            len(self.directions),
            len(self.peer_layers),
            eigen[len(eigen) // 2] if eigen else 0.0,
            eigen[-1] if eigen else 0.0,
        )

    def layer_penalty(self, layer: LoraHandle) -> torch.Tensor:
        a, b = layer.factors()
        return asft_penalty(a, b, layer.scale, self.directions.get(layer.name))
