"""Evaluation side of the drift benchmark: Safe LoRA projection, DriftCheck run, summary JSON.

The table (``aggregate``, ``render_table``) is shared with ``make demo``: ``axolotl_agl/drift/compare.py``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from axolotl_agl.experiments.compare import aggregate, evaluate_runs, render_table
from axolotl_agl.experiments.paths import find_xstest

REPO = Path(__file__).resolve().parents[1]


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    tensors = {}
    for file in sorted(model_dir.glob("*.safetensors")):
        tensors.update(load_file(str(file)))
    return tensors


def safelora_project(aligned: Path, unaligned: Path, adapter: Path, out: Path, threshold: float) -> dict[str, Any]:
    """Safe LoRA (Hsu et al., 2024): project a layer's update onto the alignment subspace when they disagree.

    For each LoRA layer, ``V = W_aligned − W_unaligned`` and ``C = V Vᵀ / ‖V‖_F``. If the cosine between
    ``ΔW`` and ``C ΔW`` is below ``threshold``, ``ΔW`` is replaced by ``C ΔW``, i.e. ``B ← C B`` (the
    adapter stays rank r). Returns the share of projected layers.
    """
    if (out / "adapter_model.safetensors").exists():
        return json.loads((out / "safelora.json").read_text())
    w_al, w_un = _weights(aligned), _weights(unaligned)
    lora = load_file(str(adapter / "adapter_model.safetensors"))
    config = json.loads((adapter / "adapter_config.json").read_text())
    scale = config["lora_alpha"] / config["r"]
    projected, total = 0, 0
    for key in [k for k in lora if "lora_A" in k]:
        stem = key.split(".lora_A")[0]
        b_key = key.replace("lora_A", "lora_B")
        weight_key = stem.replace("base_model.model.", "") + ".weight"
        v = (w_al[weight_key] - w_un[weight_key]).double()
        a, b = lora[key].double(), lora[b_key].double()
        c = v @ v.T / v.norm()
        delta = scale * b @ a
        proj = c @ delta
        cosine = float((delta * proj).sum() / (delta.norm() * proj.norm() + 1e-30))
        total += 1
        if cosine < threshold:
            lora[b_key] = (c @ b).to(lora[b_key].dtype).contiguous()
            projected += 1
    out.mkdir(parents=True, exist_ok=True)
    save_file(lora, str(out / "adapter_model.safetensors"))
    shutil.copy(adapter / "adapter_config.json", out / "adapter_config.json")
    info = {"threshold": threshold, "projected_layers": projected, "layers": total}
    (out / "safelora.json").write_text(json.dumps(info))
    return info


def evaluate_methods(aligned: Path, adapters: dict[str, dict[int, Path]], eval_items: list[dict], args: Any) -> dict:
    """Safe LoRA adapters (from the plain-LoRA ones), then one DriftCheck run over the base and every adapter."""
    if "safelora" in args.methods and "lora" in adapters:
        unaligned = REPO / ".cache" / "smollm2-135m-instruct"
        for seed, path in adapters["lora"].items():
            out = args.work / f"safelora-s{seed}"
            safelora_project(aligned, unaligned, path, out, args.safelora_threshold)
            adapters.setdefault("safelora", {})[seed] = out
    named = {f"{method}-s{seed}": path for method, by_seed in adapters.items() for seed, path in by_seed.items()}
    return evaluate_runs(
        aligned,
        named,
        limit_per_set=args.limit,
        task_items=len(eval_items),
        eval_seed=args.eval_seed,
        max_new_tokens=args.max_new_tokens,
        xstest=find_xstest(),
        out_dir=args.out / "drift_eval",
        batch_size=16,
    )


def write_summary(
    results: dict, args: Any, seconds: float, stamp: str | None = None, forgetting: dict | None = None
) -> str:
    table = aggregate(results, list(args.methods), list(args.seeds))
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    payload = {
        "kind": "axolotl_agl.benchmarks.drift",
        "created_at": stamp,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "seconds": round(seconds, 1),
        "table": table,
        "drift_eval_files": results.get("files"),
        "environment": results.get("environment"),
        "forgetting": forgetting,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"drift_{stamp}.json"
    path.write_text(json.dumps(payload, indent=1))
    return f"{render_table(table)}\n\nJSON: {path}"
