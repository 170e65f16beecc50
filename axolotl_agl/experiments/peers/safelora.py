"""Safe LoRA peer (Hsu et al., NeurIPS 2024): post-hoc projection of the layers that disagree with alignment.

Per LoRA layer, with ``Ĉ = V Vᵀ / ‖V‖_F`` (``V = W_aligned − W_unaligned``; see
:mod:`~axolotl_agl.experiments.peers.directions`) and ``ΔW = s·B·A``: the Safe-LoRA similarity is
``cos(ΔW, Ĉ·ΔW)``; when it is below ``threshold`` (the one knob) the update is replaced by ``Ĉ·ΔW``, i.e.
``B ← Ĉ·B`` (the adapter keeps rank r and stays a plain PEFT adapter). Everything is computed from the factors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from axolotl_agl.experiments.peers.directions import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    Direction,
    alignment_matrix_times,
    directions_from_checkpoints,
    load_adapter,
    lora_layers,
    lowrank_inner,
)

INFO_FILE = "safelora.json"


def safelora_similarity(a: torch.Tensor, b: torch.Tensor, direction: Direction) -> float:
    """``cos(B·A, Ĉ·B·A)`` (the LoRA scale cancels), from the factors; 0 when either side is zero."""
    a, b = a.double(), b.double()
    cb = alignment_matrix_times(direction.to(b.device, torch.float64), b)
    inner = lowrank_inner(b, a, cb, a)
    norms = (lowrank_inner(b, a, b, a) * lowrank_inner(cb, a, cb, a)).clamp_min(0).sqrt()
    return float(inner / norms) if float(norms) > 0 else 0.0


def project_adapter_state(
    tensors: dict[str, torch.Tensor], directions: dict[str, Direction], threshold: float
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Safe LoRA on an adapter's tensors: ``B ← Ĉ·B`` for layers whose similarity is below ``threshold``.

    Layers without a (non-zero) direction are left unchanged. Returns the new tensors and ``{threshold, projected_layers,
    layers, similarities}``.
    """
    out = dict(tensors)
    similarities: dict[str, float] = {}
    projected = 0
    for name, (a_key, b_key) in sorted(lora_layers(tensors).items()):
        direction = directions.get(name)
        if direction is None or float(direction.frobenius_norm()) == 0.0:
            continue  # no alignment change in this layer: nothing to project onto
        a, b = tensors[a_key], tensors[b_key]
        similarities[name] = safelora_similarity(a, b, direction)
        if similarities[name] < threshold:
            cb = alignment_matrix_times(direction.to(b.device, torch.float64), b.double())
            out[b_key] = cb.to(b.dtype).contiguous()
            projected += 1
    info = {"threshold": threshold, "projected_layers": projected, "layers": len(similarities)}
    return out, info | {"similarities": similarities}


def safelora_project(aligned: Path, unaligned: Path, adapter: Path, out: Path, threshold: float) -> dict[str, Any]:
    """Safe LoRA of the adapter in ``adapter`` written to ``out`` (reused when ``out`` already holds it).

    ``V`` per layer is ``W_aligned − W_unaligned`` read from the two checkpoints. Returns ``{threshold,
    projected_layers, layers}`` (also written to ``out/safelora.json`` with the per-layer similarities).
    """
    out = Path(out)
    if (out / ADAPTER_WEIGHTS).exists() and (out / INFO_FILE).exists():
        info = json.loads((out / INFO_FILE).read_text(encoding="utf-8"))
        return {k: info[k] for k in ("threshold", "projected_layers", "layers")}
    tensors, _ = load_adapter(Path(adapter))
    directions = directions_from_checkpoints(Path(aligned), Path(unaligned), list(lora_layers(tensors)))
    projected, info = project_adapter_state(tensors, directions, threshold)
    out.mkdir(parents=True, exist_ok=True)
    save_file(projected, str(out / ADAPTER_WEIGHTS))
    shutil.copy(Path(adapter) / ADAPTER_CONFIG, out / ADAPTER_CONFIG)
    (out / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")
    return {k: info[k] for k in ("threshold", "projected_layers", "layers")}
