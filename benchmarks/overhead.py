"""Overhead of AlignGuard on CPU: penalty vs a LoRA training step, Fisher-state memory, overlap memory.

Run from the repository root (about 3-4 minutes on 2 CPU cores)::

    .venv/bin/python benchmarks/overhead.py            # writes benchmarks/results/overhead_<date>.json

Sections (all in one run, same process settings):

1. ``step_time``: median wall time of the AlignGuard penalty (forward + backward over every LoRA module,
   exact coordinate overlap vs the sampled overlap vs no overlap term) next to one LoRA forward/backward
   step of a randomly initialised model of the same shapes, for (a) SmolLM2-135M (hidden 576,
   intermediate 1536, 30 layers, 7 targets per layer) and (b) a few 7B-shaped layers (hidden 4096,
   intermediate 14336, GQA 32/8 heads; small vocabulary so the step is the layers). r = 16, k = 32.
2. ``fisher_state``: bytes of the Fisher-pass state per module type, exact ``d × d`` sums vs streaming
   sketches (``k + p`` columns + the trace), with and without shared inputs; plus one update's time.
3. ``overlap_memory``: peak RSS increase (fresh subprocess per case) and bytes saved for backward of the
   exact overlap on a few 4096 × 4096 modules, chunked + recomputed vs one unrecomputed chunk vs sampled.

The penalty is added once per optimiser step (not per micro-batch), so its share of a step with gradient
accumulation ``a`` is ``penalty / (a · step)``; the ratios below are for ``a = 1``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from axolotl_agl.fisher import (  # noqa: E402
    DenseMomentAccumulator,
    SketchMomentAccumulator,
    default_oversample,
    sketch_width,
    uses_sketch,
)
from axolotl_agl.fisher_state import LowRankFactor, ModuleFisher, orthonormal_test_matrix  # noqa: E402
from axolotl_agl.penalty import combine_terms, compute_module_terms  # noqa: E402

R, K = 16, 32
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SHAPES = {
    "smollm2_135m": dict(hidden=576, intermediate=1536, layers=30, heads=9, kv_heads=3, vocab=49152),
    "7b_layers": dict(hidden=4096, intermediate=14336, layers=1, heads=32, kv_heads=8, vocab=1024),
}


def module_dims(shape: dict) -> dict[str, tuple[int, int]]:
    """``{target: (d_in, d_out)}`` of one decoder layer."""
    h, i = shape["hidden"], shape["intermediate"]
    kv = h // shape["heads"] * shape["kv_heads"]
    return {
        "q_proj": (h, h),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (h, h),
        "gate_proj": (h, i),
        "up_proj": (h, i),
        "down_proj": (i, h),
    }


#: Targets that read the same input tensor (one shared input statistic per group).
INPUT_GROUPS = [("q_proj", "k_proj", "v_proj"), ("o_proj",), ("gate_proj", "up_proj"), ("down_proj",)]


def median_time(fn, reps: int, warmup: int = 1) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def random_factor(dim: int, k: int, gen: torch.Generator) -> LowRankFactor:
    q, _ = torch.linalg.qr(torch.randn(dim, k, generator=gen))
    values = torch.logspace(0, -3, k) * 10
    return LowRankFactor(q.contiguous(), values, torch.tensor(1e-3))


def build_lora_model(shape: dict, seed: int = 0):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=shape["vocab"],
        hidden_size=shape["hidden"],
        intermediate_size=shape["intermediate"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"],
        tie_word_embeddings=True,
        attn_implementation="sdpa",
    )
    model = LlamaForCausalLM(config)
    model = get_peft_model(model, LoraConfig(r=R, lora_alpha=2 * R, target_modules=TARGETS, lora_dropout=0.0))
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=1e-3)  # past initialisation, so no term is trivially zero
    return model


def step_time_section(name: str, shape: dict, tokens: int, reps: int, samples: int) -> dict[str, Any]:
    from axolotl_agl.lora_modules import find_lora_linears

    started = time.perf_counter()
    model = build_lora_model(shape)
    model.train()
    handles = find_lora_linears(model)
    gen = torch.Generator().manual_seed(1)
    fishers = {}
    for h in handles:
        a, b = h.factors()
        fishers[h.name] = ModuleFisher(random_factor(b.shape[0], K, gen), random_factor(a.shape[1], K, gen))
    ids = torch.randint(0, shape["vocab"], (1, tokens), generator=gen)

    def lora_step() -> None:
        model.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=ids).loss.backward()

    def penalty_step(overlap_samples: int | None) -> None:
        model.zero_grad(set_to_none=True)
        per_module = []
        for h in handles:
            a, b = h.factors()
            if overlap_samples is None:  # spectral terms only (overlap weight α = 0 would skip it)
                from axolotl_agl.penalty import compute_spectral_energies, compute_spectral_terms

                f = fishers[h.name]
                terms = compute_spectral_terms(compute_spectral_energies(a, b, h.scale, f), f.mean_eigenvalue())
                terms["overlap"] = terms["geodesic"].detach() * 0
            else:
                terms = compute_module_terms(a, b, h.scale, fishers[h.name], 1.0, overlap_samples=overlap_samples)
            per_module.append(terms)
        total, _ = combine_terms(per_module, 1.0, 0.01, 0.1, 0.5)
        total.backward()

    step, step_all = median_time(lora_step, reps)
    exact, exact_all = median_time(lambda: penalty_step(0), reps)
    sampled, sampled_all = median_time(lambda: penalty_step(samples), reps)
    spectral, spectral_all = median_time(lambda: penalty_step(None), reps)
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "shapes": shape,
        "lora_modules": len(handles),
        "tokens_per_step": tokens,
        "model_parameters": n_params,
        "reps": reps,
        "seconds": {
            "lora_forward_backward": step,
            "penalty_exact_overlap": exact,
            "penalty_sampled_overlap": sampled,
            "penalty_spectral_terms_only": spectral,
        },
        "all_seconds": {
            "lora_forward_backward": step_all,
            "penalty_exact_overlap": exact_all,
            "penalty_sampled_overlap": sampled_all,
            "penalty_spectral_terms_only": spectral_all,
        },
        "overlap_samples": samples,
        "ratio_to_lora_step": {
            "penalty_exact_overlap": exact / step,
            "penalty_sampled_overlap": sampled / step,
            "penalty_spectral_terms_only": spectral / step,
        },
        "section_wall_seconds": time.perf_counter() - started,
        "name": name,
    }


def fisher_state_section(rows: int) -> dict[str, Any]:
    """Bytes of the Fisher-pass state (float32) per module: exact sums vs sketches; and one update's time."""
    width = sketch_width(1 << 30, K)
    out: dict[str, Any] = {"k": K, "oversample": default_oversample(K), "sketch_columns": width, "models": {}}
    for name, shape in SHAPES.items():
        dims = module_dims(shape)
        per_module = {}
        for target, (d_in, d_out) in dims.items():
            exact = 4 * (d_in * d_in + d_out * d_out)
            sketch = 4 * ((d_in + 1) * sketch_width(d_in, K) + (d_out + 1) * sketch_width(d_out, K))
            auto = sum(
                4 * ((d + 1) * sketch_width(d, K) if uses_sketch(d, "auto", sketch_width(d, K)) else d * d)
                for d in (d_in, d_out)
            )
            per_module[target] = {
                "d_in": d_in,
                "d_out": d_out,
                "exact_bytes": exact,
                "sketch_bytes": sketch,
                "auto_bytes": auto,
                "exact_over_sketch": exact / sketch,
            }

        def layer_total(kind: str, shared: bool) -> int:
            grad_bytes = {
                "exact": lambda d: 4 * d * d,
                "sketch": lambda d: 4 * (d + 1) * sketch_width(d, K),
                "auto": lambda d: 4 * ((d + 1) * sketch_width(d, K) if uses_sketch(d, "auto", sketch_width(d, K)) else d * d),
            }[kind]
            total = sum(grad_bytes(d_out) for _, d_out in dims.values())
            groups = INPUT_GROUPS if shared else [(t,) for t in dims]
            total += sum(grad_bytes(dims[group[0]][0]) for group in groups)
            return total

        omega_bytes = sum(4 * d * sketch_width(d, K) for d in {d for pair in dims.values() for d in pair})
        out["models"][name] = {
            "per_module": per_module,
            "per_layer_bytes": {
                "exact_unshared (before)": layer_total("exact", False),
                "exact_shared": layer_total("exact", True),
                "auto_shared (default)": layer_total("auto", True),
                "sketch_shared": layer_total("sketch", True),
            },
            "test_matrices_bytes (shared by all layers)": omega_bytes,
        }
    # one update of a 4096-wide factor with `rows` token rows: dense x^T x vs the sketch x^T (x Ω)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 4096, generator=gen)
    dense = DenseMomentAccumulator(4096)
    sketch = SketchMomentAccumulator(orthonormal_test_matrix(4096, width, seed=0))
    dense_t, _ = median_time(lambda: dense.add(x), 3)
    sketch_t, _ = median_time(lambda: sketch.add(x), 3)
    out["update_seconds_d4096"] = {"rows": rows, "exact": dense_t, "sketch": sketch_t, "ratio": dense_t / sketch_t}
    return out


OVERLAP_CHILD = r"""
import json, resource, sys, time
import torch
sys.path.insert(0, sys.argv[1])
from axolotl_agl.fisher_state import LowRankFactor, ModuleFisher
from axolotl_agl.penalty import compute_coordinate_overlap
mode, n_modules, d, r, k = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
gen = torch.Generator().manual_seed(0)
def factor():
    q, _ = torch.linalg.qr(torch.randn(d, k, generator=gen))
    return LowRankFactor(q.contiguous(), torch.logspace(0, -3, k) * 10, torch.tensor(1e-3))
mods = []
for _ in range(n_modules):
    a = (torch.randn(r, d, generator=gen) / d**0.5).requires_grad_()
    b = (torch.randn(d, r, generator=gen) * 1e-2).requires_grad_()
    f = ModuleFisher(factor(), factor())
    mods.append((a, b, f, f.mean_eigenvalue()))
saved = {}
def pack(t):
    saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
    return t
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
    total = 0
    for a, b, f, damping in mods:
        if mode == "chunked_recomputed":
            total = total + compute_coordinate_overlap(a, b, 2.0, f, damping)
        elif mode == "one_chunk_not_recomputed":
            total = total + compute_coordinate_overlap(a, b, 2.0, f, damping, chunk_rows=d, recompute=False)
        else:
            total = total + compute_coordinate_overlap(a, b, 2.0, f, damping, samples=64)
inputs = sum(t.untyped_storage().nbytes() for a, b, f, _ in mods for t in (a, b, f.output_factor.vectors, f.input_factor.vectors))
total.backward()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_rss_increase_bytes": (peak - base) * 1024, "saved_for_backward_bytes": sum(saved.values()),
                  "saved_beyond_inputs_bytes": max(0, sum(saved.values()) - inputs),
                  "seconds": time.perf_counter() - start}))
"""


def overlap_memory_section(n_modules: int, dim: int) -> dict[str, Any]:
    out: dict[str, Any] = {"modules": n_modules, "d_out": dim, "d_in": dim, "r": R, "k": K, "cases": {}}
    out["one_d_out_x_d_in_float32_bytes"] = 4 * dim * dim
    for mode in ("chunked_recomputed", "one_chunk_not_recomputed", "sampled_64_lines"):
        proc = subprocess.run(
            [sys.executable, "-c", OVERLAP_CHILD, str(ROOT), mode, str(n_modules), str(dim), str(R), str(K)],
            capture_output=True,
            text=True,
            timeout=240,
            env=dict(os.environ),
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        out["cases"][mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions per measurement (after 1 warm-up)")
    parser.add_argument("--tokens", type=int, default=512, help="tokens per LoRA step (batch of one sequence)")
    parser.add_argument("--tokens-7b", type=int, default=256, help="tokens per step of the 7B-shaped layers")
    parser.add_argument("--layers-7b", type=int, default=1, help="7B-shaped decoder layers in the stack")
    parser.add_argument("--overlap-samples", type=int, default=64, help="lines per module for the sampled overlap")
    parser.add_argument("--out", type=Path, default=None, help="output JSON (default benchmarks/results/...)")
    args = parser.parse_args()
    started = time.perf_counter()
    SHAPES["7b_layers"]["layers"] = args.layers_7b
    result: dict[str, Any] = {
        "benchmark": "axolotl_agl overhead",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "r": R,
        "k": K,
    }
    result["step_time"] = {
        "smollm2_135m": step_time_section("smollm2_135m", SHAPES["smollm2_135m"], args.tokens, args.reps, args.overlap_samples),
        "7b_layers": step_time_section("7b_layers", SHAPES["7b_layers"], args.tokens_7b, max(1, args.reps - 1), args.overlap_samples),
    }
    result["fisher_state"] = fisher_state_section(rows=args.tokens)
    result["overlap_memory"] = overlap_memory_section(n_modules=4, dim=4096)
    result["wall_seconds"] = time.perf_counter() - started
    result["summary"] = summarise(result)
    out = args.out or ROOT / "benchmarks" / "results" / f"overhead_{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    print(f"wrote {out} ({result['wall_seconds']:.0f} s; max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.1f} GB)")


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    mib = 1 << 20
    summary: dict[str, Any] = {}
    for name, sec in result["step_time"].items():
        s = sec["seconds"]
        summary[f"{name}: seconds per step"] = {
            "lora_fwd_bwd": round(s["lora_forward_backward"], 3),
            "penalty_exact_overlap": round(s["penalty_exact_overlap"], 3),
            "penalty_sampled_overlap": round(s["penalty_sampled_overlap"], 3),
            "penalty_spectral_only": round(s["penalty_spectral_terms_only"], 3),
        }
        summary[f"{name}: penalty / LoRA step"] = {k: round(v, 3) for k, v in sec["ratio_to_lora_step"].items()}
    for name, model in result["fisher_state"]["models"].items():
        summary[f"{name}: Fisher state MiB per layer"] = {
            k: round(v / mib, 2) for k, v in model["per_layer_bytes"].items()
        }
        summary[f"{name}: Fisher state MiB per module (exact -> sketch)"] = {
            t: f"{m['exact_bytes'] / mib:.2f} -> {m['sketch_bytes'] / mib:.2f}" for t, m in model["per_module"].items()
        }
    upd = result["fisher_state"]["update_seconds_d4096"]
    summary["Fisher update d=4096 seconds (exact, sketch)"] = [round(upd["exact"], 4), round(upd["sketch"], 4)]
    mem = result["overlap_memory"]
    summary["overlap 4 x (4096 x 4096) modules: MiB (peak RSS increase, saved for backward beyond inputs)"] = {
        mode: [round(c["peak_rss_increase_bytes"] / mib, 1), round(c["saved_beyond_inputs_bytes"] / mib, 1)]
        for mode, c in mem["cases"].items()
    }
    return summary


if __name__ == "__main__":
    main()
