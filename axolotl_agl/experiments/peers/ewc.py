"""EWC peer: ``λ · Σ_layers Σ_pq F_pq · ΔW_pq²`` with ``F`` the diagonal empirical Fisher of the base weights.

``F`` is measured on the same alignment data AlignGuard uses (per-example gradients of the reply NLL of the model
with its adapter disabled, one example at a time) and cached as safetensors (``peer_baseline.fisher_cache_path``,
default ``<output_dir>/ewc_fisher.safetensors``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from axolotl_agl.core.examples import pad_batch
from axolotl_agl.core.lora_modules import LoraHandle
from axolotl_agl.core.nll import per_example_mean_nll
from axolotl_agl.experiments.peers.config import PeerConfig
from axolotl_agl.experiments.peers.weight_penalty import PeerTrainer, full_precision
from axolotl_agl.integration.alignment_data import load_alignment_examples

LOG = logging.getLogger(__name__)


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


def ewc_penalty(a: torch.Tensor, b: torch.Tensor, scale: float, fisher: torch.Tensor) -> torch.Tensor:
    """``Σ_pq F_pq · (s·B·A)_pq²`` (``F`` has the base weight's shape ``d_out × d_in``)."""
    delta = scale * (full_precision(b) @ full_precision(a))
    return (fisher.to(delta.device, delta.dtype) * delta.square()).sum()


class EWCTrainer(PeerTrainer):
    term_name = "ewc"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.diag_fisher: dict[str, torch.Tensor] = {}

    def configure_peer(self, peer: PeerConfig, cfg: Any) -> None:
        super().configure_peer(peer, cfg)
        path = Path(peer.fisher_cache_path or Path(cfg.get("output_dir") or ".") / "ewc_fisher.safetensors")
        if path.exists():
            self.diag_fisher = load_file(str(path))
            LOG.info("EWC: reusing the diagonal Fisher in %s", path)
        else:
            self.diag_fisher = compute_diagonal_fisher(
                self.model,
                self.processing_class,
                self.peer_layers,
                peer.fisher_num_samples,
                int(cfg.get("sequence_len") or 2048),
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file({k: v.contiguous() for k, v in self.diag_fisher.items()}, str(path))
        missing = [h.name for h in self.peer_layers if h.name not in self.diag_fisher]
        if missing:
            raise ValueError(
                f"peer_baseline.fisher_cache_path {path} has no Fisher for {missing[:3]} (it was computed for other "
                "LoRA targets); delete it or point peer_baseline.fisher_cache_path at a new file"
            )

    def layer_penalty(self, layer: LoraHandle) -> torch.Tensor:
        a, b = layer.factors()
        return ewc_penalty(a, b, layer.scale, self.diag_fisher[layer.name])
