"""Alignment directions ``V = W_aligned − W_base`` per layer, and the low-rank algebra the peers share.

A direction is kept factored, ``V = left @ right`` (``right`` None means ``V = left``), so that a merged LoRA
(``V = s·B·A``, rank r) never becomes a ``d_out × d_in`` matrix. Safe LoRA, SafeMERGE and AsFT all use the
"alignment matrix" ``Ĉ = V Vᵀ / ‖V‖_F`` of Safe LoRA (Hsu et al., NeurIPS 2024) — a scaled Gram matrix, not an
orthogonal projector (its eigenvalues are ``σ_i(V)² / ‖V‖_F``).

Adapter files are PEFT's: ``adapter_model.safetensors`` with ``base_model.model.<layer>.lora_{A,B}.weight`` and
``adapter_config.json`` (``r``, ``lora_alpha``, ``use_rslora``). Layer names are canonical module names
(``model.layers.0.self_attn.q_proj``), as :func:`axolotl_agl.core.lora_modules.canonical_name` gives them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from axolotl_agl.core.lora_modules import canonical_name

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
#: Written into the aligned base by :func:`axolotl_agl.experiments.aligned_base.merge_adapter` (``"adapter"`` key).
ALIGNED_SOURCE = "agl_source.json"


@dataclass(frozen=True)
class Direction:
    """``V = left @ right`` (``right`` None: ``V = left``)."""

    left: torch.Tensor
    right: torch.Tensor | None = None

    def to(self, device: torch.device | str, dtype: torch.dtype) -> Direction:
        right = None if self.right is None else self.right.to(device, dtype)
        return Direction(self.left.to(device, dtype), right)

    def gram_right(self) -> torch.Tensor | None:
        """``right @ rightᵀ`` (None for the identity)."""
        return None if self.right is None else self.right @ self.right.T

    def frobenius_norm(self) -> torch.Tensor:
        """``‖V‖_F`` from the factors: ``sqrt(Σ (leftᵀleft) ⊙ (right rightᵀ))``."""
        gram_left = self.left.T @ self.left
        gram_right = self.gram_right()
        square = gram_left.diagonal().sum() if gram_right is None else (gram_left * gram_right).sum()
        return square.clamp_min(0).sqrt()

    def dense(self) -> torch.Tensor:
        return self.left if self.right is None else self.left @ self.right


def lowrank_inner(b1: torch.Tensor, a1: torch.Tensor, b2: torch.Tensor, a2: torch.Tensor) -> torch.Tensor:
    """``⟨B1·A1, B2·A2⟩_F = Σ (B1ᵀB2) ⊙ (A1·A2ᵀ)`` without forming either product."""
    return ((b1.T @ b2) * (a1 @ a2.T)).sum()


def alignment_matrix_times(direction: Direction, x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``Ĉ·x = V Vᵀ x / ‖V‖_F`` for ``x`` of shape ``(d_out, r)``; zero when ``V`` is (numerically) zero."""
    norm = direction.frobenius_norm()
    if float(norm) < eps:
        return torch.zeros_like(x)
    projected = direction.left.T @ x
    gram_right = direction.gram_right()
    if gram_right is not None:
        projected = gram_right @ projected
    return direction.left @ projected / norm


def load_adapter(adapter_dir: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """``(tensors, config)`` of a PEFT LoRA adapter directory (safetensors only; no pickle)."""
    adapter_dir = Path(adapter_dir)
    weights, config = adapter_dir / ADAPTER_WEIGHTS, adapter_dir / ADAPTER_CONFIG
    if not weights.is_file() or not config.is_file():
        raise FileNotFoundError(
            f"{adapter_dir} is not a PEFT LoRA adapter directory (needs {ADAPTER_WEIGHTS} and {ADAPTER_CONFIG})"
        )
    return load_file(str(weights)), json.loads(config.read_text(encoding="utf-8"))


def lora_scale(config: dict) -> float:
    """PEFT's scaling ``lora_alpha / r`` (``/ sqrt(r)`` with ``use_rslora``)."""
    r, alpha = int(config["r"]), float(config["lora_alpha"])
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


def lora_layers(tensors: dict[str, torch.Tensor]) -> dict[str, tuple[str, str]]:
    """Canonical layer name → (key of ``lora_A``, key of ``lora_B``) in an adapter's tensors."""
    layers = {}
    for key in tensors:
        if key.endswith(".lora_A.weight"):
            stem = key[: -len(".lora_A.weight")]
            b_key = f"{stem}.lora_B.weight"
            if b_key in tensors:
                layers[canonical_name(stem)] = (key, b_key)
    return layers


def directions_from_adapter(adapter_dir: Path) -> dict[str, Direction]:
    """``V = s·B·A`` of every layer of a LoRA adapter (e.g. the LoRA that built the aligned base), in float64."""
    tensors, config = load_adapter(adapter_dir)
    scale = lora_scale(config)
    return {
        name: Direction(scale * tensors[b_key].double(), tensors[a_key].double())
        for name, (a_key, b_key) in lora_layers(tensors).items()
    }


def _checkpoint_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    for file in sorted(Path(model_dir).glob("*.safetensors")):
        tensors.update(load_file(str(file)))
    if not tensors:
        raise FileNotFoundError(f"{model_dir} holds no *.safetensors weights")
    return tensors


def directions_from_checkpoints(aligned: Path, unaligned: Path, layers: list[str]) -> dict[str, Direction]:
    """``V = W_aligned − W_unaligned`` (dense, float64) of each named layer, read from two safetensors checkpoints."""
    w_al, w_un = _checkpoint_weights(aligned), _checkpoint_weights(unaligned)
    directions = {}
    for name in layers:
        key = f"{name}.weight"
        if key in w_al and key in w_un and w_al[key].shape == w_un[key].shape:
            directions[name] = Direction(w_al[key].double() - w_un[key].double())
    return directions


def alignment_adapter_of(aligned_base: Path) -> Path | None:
    """The LoRA adapter the aligned base was merged from (``agl_source.json``'s ``adapter``), when recorded."""
    source = Path(aligned_base) / ALIGNED_SOURCE
    if not source.is_file():
        return None
    adapter = json.loads(source.read_text(encoding="utf-8")).get("adapter")
    return Path(adapter) if adapter else None
