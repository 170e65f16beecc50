"""SafeMERGE peer (Djuhera et al., arXiv 2503.17239): merge a safety LoRA into the layers that drifted from safety.

After fine-tuning, per LoRA layer: the Safe-LoRA similarity ``cos(ΔW_task, Ĉ·ΔW_task)``
(:func:`~axolotl_agl.experiments.peers.safelora.safelora_similarity`, ``Ĉ = V Vᵀ / ‖V‖_F``) is computed; a layer
whose similarity is below ``tau`` (the one knob) gets the weighted merge

    ΔW = w_task · ΔW_task + w_safety · ΔW_safety        (the paper's default weights: 0.8, 0.2),

every other layer keeps ``ΔW_task``. In this harness the safety LoRA is the LoRA whose merge built the aligned base
(the ``adapter`` of ``<aligned>/agl_source.json``) and ``V`` of a layer is that LoRA's own update (what
``W_aligned − W_base`` equals). The merge is exact: the result is one plain PEFT LoRA adapter of rank
``r_task + r_safety`` whose factors are the two adapters' stacked (``B = [w_t·s_t·B_t, w_s·s_s·B_s]``,
``A = [A_t; A_s]``, ``lora_alpha = r`` so the scale is 1), with the safety half zero in the unmerged layers.
(The authors' code merges with PEFT's "linear" combination, which sums the A and B factors separately; that adds
cross terms ``B_t·A_s`` when the two LoRAs do not share a basis, so the exact sum is used here.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from axolotl_agl.experiments.peers.directions import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    Direction,
    alignment_adapter_of,
    directions_from_adapter,
    load_adapter,
    lora_layers,
    lora_scale,
)
from axolotl_agl.experiments.peers.safelora import safelora_similarity

INFO_FILE = "safemerge.json"
DEFAULT_WEIGHTS = (0.8, 0.2)


def merge_adapter_states(
    task: tuple[dict[str, torch.Tensor], dict],
    safety: tuple[dict[str, torch.Tensor], dict],
    directions: dict[str, Direction],
    tau: float,
    weights: tuple[float, float] = DEFAULT_WEIGHTS,
) -> tuple[dict[str, torch.Tensor], dict, dict[str, Any]]:
    """SafeMERGE of two adapters' ``(tensors, config)``; returns the merged tensors, its config and a summary.

    Only layers of the task adapter are in the result; a layer without a safety LoRA or a direction keeps its
    task update. Keys and dtypes follow the task adapter.
    """
    (task_tensors, task_config), (safety_tensors, safety_config) = task, safety
    task_layers, safety_layers = lora_layers(task_tensors), lora_layers(safety_tensors)
    s_task, s_safety = lora_scale(task_config), lora_scale(safety_config)
    r_task, r_safety = int(task_config["r"]), int(safety_config["r"])
    rank = r_task + r_safety
    w_task, w_safety = weights
    merged: dict[str, torch.Tensor] = {}
    similarities: dict[str, float] = {}
    merged_layers: list[str] = []
    for name, (a_key, b_key) in sorted(task_layers.items()):
        a_t, b_t = task_tensors[a_key].double(), task_tensors[b_key].double()
        a_new = torch.zeros(rank, a_t.shape[1], dtype=torch.float64)
        b_new = torch.zeros(b_t.shape[0], rank, dtype=torch.float64)
        a_new[:r_task], b_new[:, :r_task] = a_t, s_task * b_t
        if name in safety_layers and name in directions:
            similarities[name] = safelora_similarity(a_t, b_t, directions[name])
            if similarities[name] < tau:
                sa_key, sb_key = safety_layers[name]
                a_new[r_task:] = safety_tensors[sa_key].double()
                b_new[:, :r_task] *= w_task
                b_new[:, r_task:] = w_safety * s_safety * safety_tensors[sb_key].double()
                merged_layers.append(name)
        merged[a_key] = a_new.to(task_tensors[a_key].dtype).contiguous()
        merged[b_key] = b_new.to(task_tensors[b_key].dtype).contiguous()
    config = dict(task_config)
    config.update(r=rank, lora_alpha=rank, use_rslora=False, rank_pattern={}, alpha_pattern={})
    summary = {
        "tau": tau,
        "weights": list(weights),
        "merged_layers": len(merged_layers),
        "layers": len(task_layers),
        "compared_layers": len(similarities),
        "similarities": similarities,
        "merged": merged_layers,
    }
    return merged, config, summary


def safemerge_adapter(
    aligned: Path,
    adapter: Path,
    out: Path,
    tau: float,
    *,
    safety_adapter: Path | None = None,
    weights: tuple[float, float] = DEFAULT_WEIGHTS,
) -> dict[str, Any]:
    """SafeMERGE of the task adapter in ``adapter`` written to ``out`` (reused when ``out`` already holds it).

    ``safety_adapter`` defaults to the LoRA recorded in ``<aligned>/agl_source.json``. Returns ``{tau, weights,
    merged_layers, layers, compared_layers}`` (also in ``out/safemerge.json``, with the per-layer similarities).
    """
    out = Path(out)
    keys = ("tau", "weights", "merged_layers", "layers", "compared_layers")
    if (out / ADAPTER_WEIGHTS).exists() and (out / INFO_FILE).exists():
        info = json.loads((out / INFO_FILE).read_text(encoding="utf-8"))
        return {k: info[k] for k in keys}
    safety_adapter = safety_adapter or alignment_adapter_of(Path(aligned))
    if safety_adapter is None:
        raise ValueError(
            f"SafeMERGE needs the safety LoRA: {aligned}/agl_source.json records no adapter; pass safety_adapter"
        )
    safety = load_adapter(Path(safety_adapter))
    tensors, config, info = merge_adapter_states(
        load_adapter(Path(adapter)), safety, directions_from_adapter(Path(safety_adapter)), tau, weights
    )
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / ADAPTER_WEIGHTS))
    (out / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    (out / INFO_FILE).write_text(json.dumps(info | {"safety_adapter": str(safety_adapter)}), encoding="utf-8")
    return {k: info[k] for k in keys}
