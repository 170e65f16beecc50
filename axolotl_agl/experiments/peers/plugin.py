"""``PeerPlugin``: the training-time peers as an Axolotl plugin (``plugins: [axolotl_agl.experiments.peers.PeerPlugin]``).

It declares the ``peer_baseline:`` block, checks it before the model is loaded, swaps in the peer's trainer and
installs the peer's state once the trainer exists (EWC's Fisher, AsFT's alignment directions).
"""

from __future__ import annotations

import logging
from typing import Any

from axolotl.integrations.base import BasePlugin

from axolotl_agl.experiments.peers.asft import AsFTTrainer, resolve_alignment_adapter
from axolotl_agl.experiments.peers.config import PeerConfig
from axolotl_agl.experiments.peers.constrained_sft import ConstrainedSFTTrainer
from axolotl_agl.experiments.peers.ewc import EWCTrainer
from axolotl_agl.experiments.peers.l2 import L2Trainer
from axolotl_agl.experiments.peers.weight_penalty import PeerTrainer

LOG = logging.getLogger(__name__)
# As in axolotl_agl.integration.plugin: show our INFO lines under Axolotl (its handler only lets axolotl* through).
logging.getLogger("axolotl_agl").setLevel(logging.INFO)

TRAINERS: dict[str, type[PeerTrainer]] = {
    "l2": L2Trainer,
    "ewc": EWCTrainer,
    "constrained_sft": ConstrainedSFTTrainer,
    "asft": AsFTTrainer,
}


def peer_config_of(cfg: Any) -> PeerConfig | None:
    """The validated ``peer_baseline:`` block of an Axolotl config, or None."""
    block = cfg.get("peer_baseline")
    if not block:
        return None
    if isinstance(block, PeerConfig):
        return block
    return PeerConfig.model_validate(block.to_dict() if hasattr(block, "to_dict") else dict(block))


def check_peer_config(cfg: Any, peer: PeerConfig) -> None:
    """Before the model is loaded: a LoRA adapter, no RL trainer, and (asft) an alignment LoRA to read."""
    if cfg.get("adapter") not in ("lora", "qlora"):
        raise ValueError(
            f"peer_baseline.method {peer.method} regularises a LoRA adapter, but adapter is {cfg.get('adapter')!r}; "
            "set adapter: lora"
        )
    if cfg.get("rl"):
        raise ValueError(f"peer_baseline does not support rl: {cfg.get('rl')!r}; remove `rl:` or peer_baseline")
    if peer.method == "asft":
        resolve_alignment_adapter(peer, cfg.get("base_model"))


class PeerPlugin(BasePlugin):
    """Peer defences (L2, EWC, constrained SFT, AsFT) for the drift benchmark; benchmark code, not the product."""

    def get_input_args(self) -> str:
        return "axolotl_agl.experiments.peers.config.PeerArgs"

    def pre_model_load(self, cfg: Any) -> None:
        peer = peer_config_of(cfg)
        if peer is not None:
            check_peer_config(cfg, peer)

    def get_trainer_cls(self, cfg: Any) -> type | None:
        peer = peer_config_of(cfg)
        return TRAINERS[peer.method] if peer is not None else None

    def post_trainer_create(self, cfg: Any, trainer: Any) -> None:
        peer = peer_config_of(cfg)
        if peer is None:
            return
        if not isinstance(trainer, TRAINERS[peer.method]):
            raise RuntimeError(
                f"peer_baseline.method {peer.method} needs its own trainer, but another plugin supplied "
                f"{type(trainer).__name__}; remove the other trainer-replacing plugin from `plugins:`"
            )
        trainer.configure_peer(peer, cfg)
        LOG.info("Peer baseline %s (weight %s) on %d LoRA layers", peer.method, peer.weight, len(trainer.peer_layers))
