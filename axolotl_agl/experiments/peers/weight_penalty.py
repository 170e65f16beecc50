"""``PeerTrainer``: the trainer of every training-time peer (a ``PenalisedTrainer`` with ``peer/*`` metrics).

Weight-space peers (L2, EWC, AsFT) implement :meth:`PeerTrainer.layer_penalty`; the total ``weight · Σ_layers`` is
added once per optimiser step by the base. A peer that changes the data term instead (constrained SFT) overrides
``task_loss`` and leaves :meth:`PeerTrainer.penalty_active` False.
"""

from __future__ import annotations

from typing import Any

import torch

from axolotl_agl.core.lora_modules import LoraHandle, find_lora_linears
from axolotl_agl.experiments.peers.config import PeerConfig
from axolotl_agl.integration.penalised import PenalisedTrainer


def full_precision(tensor: torch.Tensor) -> torch.Tensor:
    """float64 stays float64 (reference tests); anything else becomes float32."""
    return tensor if tensor.dtype == torch.float64 else tensor.float()


class PeerTrainer(PenalisedTrainer):
    """Holds the peer's settings and LoRA layers; ``penalty = weight · Σ_layers layer_penalty(layer)``."""

    metric_prefix = "peer"
    penalty_label = "Peer penalty"
    nonfinite_key = "peer_baseline.on_nonfinite"
    #: Name of the logged term (``peer/<term_name>``).
    term_name = "penalty_sum"
    #: Whether the peer adds a once-per-step weight penalty (False for peers that change the data term).
    adds_weight_penalty = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.peer: PeerConfig | None = None
        self.peer_layers: list[LoraHandle] = []

    def configure_peer(self, peer: PeerConfig, cfg: Any) -> None:
        """Install the settings and the LoRA layers; subclasses add their own state (``cfg`` is Axolotl's)."""
        self.peer = peer
        self.on_nonfinite = peer.on_nonfinite
        self.peer_layers = find_lora_linears(self.model)
        if not self.peer_layers:
            raise ValueError(
                f"peer_baseline.method {peer.method} found no LoRA linear layers; set adapter: lora with "
                "lora_target_linear: true (or lora_target_modules naming linear layers)"
            )

    def layer_penalty(self, layer: LoraHandle) -> torch.Tensor:
        raise NotImplementedError

    def penalty_active(self) -> bool:
        return self.adds_weight_penalty and self.peer is not None and bool(self.peer_layers)

    def penalty_terms(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``weight · Σ_layers layer_penalty``, in float32 whatever the autocast state."""
        device = self.peer_layers[0].module.lora_A[self.peer_layers[0].adapter].weight.device
        with torch.autocast(device_type=device.type, enabled=False):
            total = sum(self.layer_penalty(layer) for layer in self.peer_layers)
        return self.peer.weight * total, {self.term_name: total.detach()}

    def nonfinite_details(self) -> tuple[str, str]:
        with torch.no_grad():
            bad = [h.name for h in self.peer_layers if not bool(torch.isfinite(self.layer_penalty(h)))]
        return f" (layers {bad[:5]})", "The LoRA weights or the peer's state hold NaN/Inf (lower learning_rate)"
