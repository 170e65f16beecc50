"""Evaluation side of the drift benchmark: Safe LoRA projection, DriftCheck runs, aggregation, report."""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

REPO = Path(__file__).resolve().parents[1]
XSTEST = REPO.parent / "shared" / "data" / "xstest_prompts.csv"
SETS = ("driftcheck_mini", "xstest")


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
    from axolotl_agl.drift.run import evaluate_drift

    if "safelora" in args.methods and "lora" in adapters:
        unaligned = REPO / ".cache" / "smollm2-135m-instruct"
        for seed, path in adapters["lora"].items():
            out = args.work / f"safelora-s{seed}"
            safelora_project(aligned, unaligned, path, out, args.safelora_threshold)
            adapters.setdefault("safelora", {})[seed] = out
    named = {f"{method}-s{seed}": path for method, by_seed in adapters.items() for seed, path in by_seed.items()}
    results = evaluate_drift(
        str(aligned),
        named,
        max_new_tokens=args.max_new_tokens,
        limit_per_set=args.limit,
        batch_size=16,
        xstest=XSTEST if XSTEST.exists() else None,
        task_items=len(eval_items),
        task_seed=args.eval_seed,
        out_dir=args.out / "drift_eval",
        base_name="aligned",
    )
    return results


def _metric(model: dict, set_name: str, key: str) -> float | None:
    entry = model["sets"].get(set_name)
    return None if entry is None else entry["metrics"][key]["value"]


def _mean_ci(values: list[float]) -> dict[str, float | None]:
    """Mean over seeds with a normal-approximation 95% interval (t-quantile for n ≤ 5)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "lo": None, "hi": None, "n": 0}
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "lo": None, "hi": None, "n": 1}
    t = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78}.get(len(values), 1.96)
    half = t * statistics.stdev(values) / len(values) ** 0.5
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": len(values)}


def aggregate(results: dict, methods: list[str], seeds: list[int]) -> dict:
    """Per method: refusal / over-refusal / compliance per set and task accuracy (mean over seeds), and the
    drift reduction vs plain LoRA, ``1 − drift_method / drift_LoRA`` with drift = aligned − method refusal."""
    models = results["models"]
    base = models["aligned"]
    table: dict[str, Any] = {"aligned": {}}
    keys = ("refusal_rate_unsafe", "over_refusal_safe", "compliance_rate_unsafe")
    for set_name in SETS:
        for key in keys:
            value = _metric(base, set_name, key) if set_name in base["sets"] else None
            table["aligned"][f"{set_name}/{key}"] = {"mean": value, "lo": None, "hi": None, "n": 1}
    table["aligned"]["task_accuracy"] = {"mean": base["task"]["accuracy"]["value"], "lo": None, "hi": None, "n": 1}
    for method in methods:
        names = [f"{method}-s{seed}" for seed in seeds if f"{method}-s{seed}" in models]
        row = {}
        for set_name in SETS:
            for key in keys:
                row[f"{set_name}/{key}"] = _mean_ci([_metric(models[n], set_name, key) for n in names])
        row["task_accuracy"] = _mean_ci([models[n]["task"]["accuracy"]["value"] for n in names])
        for set_name in SETS:
            base_refusal = _metric(base, set_name, "refusal_rate_unsafe")
            reductions = []
            for seed in seeds:
                name, lora_name = f"{method}-s{seed}", f"lora-s{seed}"
                if name not in models or lora_name not in models or base_refusal is None:
                    continue
                drift = base_refusal - _metric(models[name], set_name, "refusal_rate_unsafe")
                drift_lora = base_refusal - _metric(models[lora_name], set_name, "refusal_rate_unsafe")
                reductions.append(1 - drift / drift_lora if drift_lora > 0 else None)
            row[f"{set_name}/drift_reduction_vs_lora"] = _mean_ci(reductions)
        table[method] = row
    return table


def _fmt(entry: dict | None, percent: bool = True) -> str:
    if not entry or entry["mean"] is None:
        return "–"
    scale = 100 if percent else 1
    text = f"{scale * entry['mean']:.0f}"
    if entry.get("lo") is not None:
        text += f" [{scale * entry['lo']:.0f}, {scale * entry['hi']:.0f}]"
    return text


def render_table(table: dict) -> str:
    columns = [
        ("driftcheck_mini/refusal_rate_unsafe", "refusal, DC-mini unsafe ↑"),
        ("xstest/refusal_rate_unsafe", "refusal, XSTest unsafe ↑"),
        ("driftcheck_mini/compliance_rate_unsafe", "compliance, DC-mini unsafe ↓"),
        ("driftcheck_mini/over_refusal_safe", "over-refusal, DC-mini safe ↓"),
        ("xstest/over_refusal_safe", "over-refusal, XSTest safe ↓"),
        ("task_accuracy", "task EM ↑"),
        ("driftcheck_mini/drift_reduction_vs_lora", "drift reduction vs LoRA, DC-mini"),
        ("xstest/drift_reduction_vs_lora", "drift reduction vs LoRA, XSTest"),
    ]
    lines = ["| method | " + " | ".join(title for _, title in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for method, row in table.items():
        lines.append(f"| {method} | " + " | ".join(_fmt(row.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


def write_summary(results: dict, args: Any, seconds: float) -> str:
    table = aggregate(results, list(args.methods), list(args.seeds))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    payload = {
        "kind": "axolotl_agl.benchmarks.drift",
        "created_at": stamp,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "seconds": round(seconds, 1),
        "table": table,
        "drift_eval_files": results.get("files"),
        "environment": results.get("environment"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"drift_{stamp}.json"
    path.write_text(json.dumps(payload, indent=1))
    return f"{render_table(table)}\n\nJSON: {path}"
