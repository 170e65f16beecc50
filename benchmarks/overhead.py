"""Overhead of AlignGuard on CPU: penalty vs a LoRA training step, Fisher-state memory, overlap memory.

Run from the repository root (2-4 minutes on one core; see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/overhead.py                   # writes benchmarks/results/overhead_<date>.json
    .venv/bin/python benchmarks/overhead.py --sketch-quality  # separately: sketch vs exact on real SmolLM2-135M
    .venv/bin/python benchmarks/overhead.py --meta-table      # separately: the 7B/8B/70B memory table (meta device)

Sections (all in one run, same process settings):

1. ``step_time``: median wall and CPU time of the AlignGuard penalty (forward + backward over every LoRA module,
   exact coordinate overlap vs the sampled overlap vs no overlap term) next to one LoRA forward/backward
   step of a randomly initialised model of the same shapes, for (a) SmolLM2-135M (hidden 576,
   intermediate 1536, 30 layers, 7 targets per layer) and (b) two 7B-shaped layers (hidden 4096,
   intermediate 14336, GQA 32/8 heads; small vocabulary so the step is the layers). r = 16, k = 32.
2. ``fisher_state``: bytes of the Fisher-pass state per module type, exact ``d × d`` sums vs streaming
   sketches (``k + p`` columns + the trace), with and without shared inputs; plus one update's time.
3. ``overlap_memory``: peak RSS increase (fresh subprocess per case, RSS sampled every 0.5 ms, large blocks
   from mmap so freed memory leaves the RSS) and bytes saved for backward of the overlap on a few
   4096 × 4096 modules: fused chunks (default) vs the whole matrix as one chunk under plain autograd vs
   the sampled estimator.
4. ``meta_table``: Mistral-7B, Llama-3-8B and Llama-3-70B on the meta device (shapes only, no weights), r = 16,
   k = 32 and 64: bytes of the Fisher summary (q/k/v's and gate/up's shared input factor once, as the cache stores
   it), of what the trainer holds (the stacked penalty's factor banks), of the Fisher pass's accumulators, each against the bf16 weight bytes, and the peak bytes (and operator count) of one forward +
   backward of the trainer's penalty (:class:`LiveBytes` counts every storage the operators allocate until it is
   freed). The full run does the sampled overlap only; ``--meta-table`` (alone, ~10 min on a busy 2-core box:
   the exact overlap of Llama-3-70B is ~1.4 million operators) adds the exact overlap and writes
   ``results/meta_table_<date>.json``.

The through-the-trainer comparison (plain LoRA vs AGL via ``accelerate launch -m axolotl.cli.train``) is
``benchmarks/overhead_trainer.py``.

Cases are timed round-robin (A B C A B C ...) and both wall and process CPU time are recorded, since other
processes may share the machine (the load average is recorded too); ratios use CPU time. One torch thread
by default (``--threads``): on a 2-core machine shared with other jobs, two-thread OpenMP regions of small
matrix products wait for a descheduled thread: the penalty of 20 SmolLM2-sized modules took 22.5 s with
two threads and 0.26 s with one while another job was training.

The penalty is added once per optimiser step (not per micro-batch), so its share of a step with gradient
accumulation ``a`` is ``penalty / (a · step)``; the ratios below are for ``a = 1``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import unittest.mock
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
from torch.multiprocessing.reductions import StorageWeakRef  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils._pytree import tree_leaves  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from axolotl_agl.core.fisher_state import LowRankFactor, ModuleFisher, orthonormal_test_matrix  # noqa: E402
from axolotl_agl.core.moments import (  # noqa: E402
    DenseMomentAccumulator,
    SketchMomentAccumulator,
    default_oversample,
    sketch_width,
    uses_sketch,
)
from axolotl_agl.core.penalty import combine_terms, compute_module_terms  # noqa: E402
from axolotl_agl.core.stacked_penalty import StackedPenalty  # noqa: E402

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


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(cases: dict[str, Any], reps: int, warmup: int = 1) -> dict[str, dict[str, Any]]:
    """Run the cases round-robin (A B C A B C ...) so that load from other processes hits all of them alike;
    medians of wall and CPU time per case."""
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(reps):
        for name, fn in cases.items():
            samples[name].append(timed(fn))
    return {
        name: {
            "wall_median": statistics.median(w for w, _ in runs),
            "cpu_median": statistics.median(c for _, c in runs),
            "wall_all": [round(w, 4) for w, _ in runs],
            "cpu_all": [round(c, 4) for _, c in runs],
        }
        for name, runs in samples.items()
    }


def random_factor(dim: int, k: int, gen: torch.Generator) -> LowRankFactor:
    q, _ = torch.linalg.qr(torch.randn(dim, k, generator=gen))
    values = torch.logspace(0, -3, k) * 10
    return LowRankFactor(q.contiguous(), values, torch.tensor(1e-3))


def config_sizes(shape: dict) -> dict[str, int]:
    """The Hugging Face config sizes (vocabulary, widths, layers, heads) of a model ``shape``."""
    return {
        "vocab_size": shape["vocab"],
        "hidden_size": shape["hidden"],
        "intermediate_size": shape["intermediate"],
        "num_hidden_layers": shape["layers"],
        "num_attention_heads": shape["heads"],
        "num_key_value_heads": shape["kv_heads"],
    }


def build_lora_model(shape: dict, seed: int = 0):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        **config_sizes(shape),
        tie_word_embeddings=True,
        attn_implementation="sdpa",
    )
    model = LlamaForCausalLM(config)
    model = get_peft_model(model, LoraConfig(r=R, lora_alpha=2 * R, target_modules=TARGETS, lora_dropout=0.0))
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=1e-3)  # past initialisation, so no term is trivially zero
    return model


def step_time_section(shape: dict, tokens: int, reps: int, samples: int) -> dict[str, Any]:
    from axolotl_agl.core.lora_modules import find_lora_linears

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
                from axolotl_agl.core.penalty import compute_spectral_energies, compute_spectral_terms

                f = fishers[h.name]
                terms = compute_spectral_terms(compute_spectral_energies(a, b, h.scale, f), f.mean_eigenvalue())
                terms["overlap"] = terms["geodesic"].detach() * 0
            else:
                terms = compute_module_terms(a, b, h.scale, fishers[h.name], 1.0, overlap_samples=overlap_samples)
            per_module.append(terms)
        total, _ = combine_terms(per_module, 1.0, 0.01, 0.1, 0.5)
        total.backward()

    times = interleaved(
        {
            "lora_forward_backward": lora_step,
            "penalty_exact_overlap": lambda: penalty_step(0),
            "penalty_sampled_overlap": lambda: penalty_step(samples),
            "penalty_spectral_terms_only": lambda: penalty_step(None),
        },
        reps,
    )
    step = times["lora_forward_backward"]
    return {
        "shapes": shape,
        "lora_modules": len(handles),
        "tokens_per_step": tokens,
        "model_parameters": sum(p.numel() for p in model.parameters()),
        "reps": reps,
        "overlap_samples": samples,
        "times": times,
        "ratio_to_lora_step": {
            clock: {
                name: t[f"{clock}_median"] / step[f"{clock}_median"]
                for name, t in times.items()
                if name != "lora_forward_backward"
            }
            for clock in ("wall", "cpu")
        },
        "section_wall_seconds": time.perf_counter() - started,
    }


def factor_bytes(dim: int, kind: str, k: int = K) -> int:
    """float32 bytes of one factor's Fisher-pass state: ``exact`` (d²), ``sketch`` (d·l + trace) or ``auto``."""
    width = sketch_width(dim, k)
    if kind == "auto":
        kind = "sketch" if uses_sketch(dim, "auto", width) else "exact"
    return 4 * dim * dim if kind == "exact" else 4 * (dim + 1) * width


def layer_bytes(dims: dict[str, tuple[int, int]], kind: str, shared: bool, k: int = K) -> int:
    """One decoder layer: a gradient factor per module, an input factor per module or per shared input."""
    groups = INPUT_GROUPS if shared else [(target,) for target in dims]
    outputs = sum(factor_bytes(d_out, kind, k) for _, d_out in dims.values())
    return outputs + sum(factor_bytes(dims[group[0]][0], kind, k) for group in groups)


def fisher_state_section(rows: int) -> dict[str, Any]:
    """Bytes of the Fisher-pass state (float32) per module: exact sums vs sketches; and one update's time."""
    width = sketch_width(1 << 30, K)
    out: dict[str, Any] = {"k": K, "oversample": default_oversample(K), "sketch_columns": width, "models": {}}
    for name, shape in SHAPES.items():
        dims = module_dims(shape)
        per_module = {
            target: {
                "d_in": d_in,
                "d_out": d_out,
                "exact_bytes": factor_bytes(d_in, "exact") + factor_bytes(d_out, "exact"),
                "sketch_bytes": factor_bytes(d_in, "sketch") + factor_bytes(d_out, "sketch"),
                "auto_bytes": factor_bytes(d_in, "auto") + factor_bytes(d_out, "auto"),
            }
            for target, (d_in, d_out) in dims.items()
        }
        distinct_dims = {d for pair in dims.values() for d in pair}
        out["models"][name] = {
            "per_module": per_module,
            "per_layer_bytes": {
                "exact_unshared (before)": layer_bytes(dims, "exact", False),
                "exact_shared": layer_bytes(dims, "exact", True),
                "auto_shared (default)": layer_bytes(dims, "auto", True),
                "sketch_shared": layer_bytes(dims, "sketch", True),
            },
            "test_matrices_bytes (shared by all layers)": sum(4 * d * sketch_width(d, K) for d in distinct_dims),
        }
    # one update of a 4096-wide factor with `rows` token rows: dense xᵀx vs the sketch xᵀ(xΩ)
    x = torch.randn(rows, 4096, generator=torch.Generator().manual_seed(0))
    dense = DenseMomentAccumulator(4096)
    sketch = SketchMomentAccumulator(orthonormal_test_matrix(4096, width, seed=0))
    times = interleaved({"exact": lambda: dense.add(x), "sketch": lambda: sketch.add(x)}, reps=3)
    out["update_d4096"] = {"rows": rows, **times}
    return out


OVERLAP_CHILD = r"""
import json, os, sys, threading, time
import torch
sys.path.insert(0, sys.argv[1])
from axolotl_agl.core.fisher_state import LowRankFactor, ModuleFisher
from axolotl_agl.core.penalty import compute_coordinate_overlap
mode, n_modules, d, r, k = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
peak = [0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.0005)
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
inputs = {t.untyped_storage().data_ptr() for a, b, f, _ in mods
          for t in (a, b, f.output_factor.vectors, f.input_factor.vectors)}
base = rss()
peak[0] = base
thread = threading.Thread(target=sample, daemon=True)
thread.start()
start = time.perf_counter()
with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
    total = 0
    for a, b, f, damping in mods:
        if mode == "fused_chunks":
            total = total + compute_coordinate_overlap(a, b, 2.0, f, damping)
        elif mode == "one_chunk_plain_autograd":
            total = total + compute_coordinate_overlap(a, b, 2.0, f, damping, chunk_rows=d, fused=False)
        else:
            total = total + compute_coordinate_overlap(a, b, 2.0, f, damping, samples=64)
after_forward = rss()
total.backward()
seconds = time.perf_counter() - start
stop.set()
thread.join()
print(json.dumps({"peak_rss_increase_bytes": peak[0] - base, "rss_after_forward_increase_bytes": after_forward - base,
                  "saved_for_backward_beyond_inputs_bytes": sum(v for p, v in saved.items() if p not in inputs),
                  "seconds": seconds}))
"""


def overlap_memory_section(n_modules: int, dim: int) -> dict[str, Any]:
    out: dict[str, Any] = {"modules": n_modules, "d_out": dim, "d_in": dim, "r": R, "k": K, "cases": {}}
    out["one_d_out_x_d_in_float32_bytes"] = 4 * dim * dim
    for mode in ("fused_chunks", "one_chunk_plain_autograd", "sampled_64_lines"):
        proc = subprocess.run(
            [sys.executable, "-c", OVERLAP_CHILD, str(ROOT), mode, str(n_modules), str(dim), str(R), str(K)],
            capture_output=True,
            text=True,
            timeout=240,
            # large blocks straight from mmap, so freed memory leaves the RSS and the peak is the live peak
            env=dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", OMP_NUM_THREADS=str(torch.get_num_threads())),
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        out["cases"][mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


#: Full-size models of the meta-device table (their published configs; untied embeddings).
META_MODELS = {
    "Mistral-7B": dict(family="mistral", hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, vocab=32000),
    "Llama-3-8B": dict(family="llama", hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, vocab=128256),
    "Llama-3-70B": dict(family="llama", hidden=8192, intermediate=28672, layers=80, heads=64, kv_heads=8, vocab=128256),
}
META_KS = (32, 64)


class LiveBytes(TorchDispatchMode):
    """Peak bytes of the storages that the operators run under this mode allocate and keep alive.

    Every operator output whose storage is new is counted until the storage is freed (a weak reference to the
    storage expires): on the meta device this is what the computation would allocate, with no real memory used.
    Storages that existed before the mode (weights, Fisher constants) are not counted.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.current = 0
        self.peak = 0
        self.ops = 0

    def sweep(self) -> int:
        """Forget the storages freed since the last call; returns the bytes still alive."""
        for key in [key for key, (ref, _) in self.live.items() if ref.expired()]:
            self.current -= self.live.pop(key)[1]
        return self.current

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        self.sweep()  # what the previous operators freed is gone before this one allocates
        inputs = {t.untyped_storage()._cdata for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        out = func(*args, **(kwargs or {}))
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor):
                storage = leaf.untyped_storage()
                if storage._cdata not in self.live and storage._cdata not in inputs:  # not a view of an input
                    self.live[storage._cdata] = (StorageWeakRef(storage), storage.nbytes())
                    self.current += storage.nbytes()
        self.peak = max(self.peak, self.current)
        return out


def tensor_bytes(objects: Any) -> int:
    """Bytes of the distinct storages of every tensor in ``objects`` (dataclasses, mappings, sequences)."""
    seen: dict[int, int] = {}

    def visit(obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            seen[obj.untyped_storage()._cdata] = obj.untyped_storage().nbytes()
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for field in dataclasses.fields(obj):
                visit(getattr(obj, field.name))
        elif isinstance(obj, dict):
            for value in obj.values():
                visit(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                visit(value)

    visit(objects)
    return sum(seen.values())


def clone_like(factor: LowRankFactor) -> LowRankFactor:
    """A factor of the same shapes with its own storage (meta tensors: no values to copy)."""
    return LowRankFactor(*(torch.empty_like(t) for t in (factor.vectors, factor.values, factor.residual)))


def group_banks(penalty: StackedPenalty) -> list:
    """The distinct factor banks (output banks, shared input banks) of ``penalty``'s groups."""
    banks: dict[int, Any] = {}
    for group in penalty.groups:
        for bank in (group.outputs, group.inputs):
            banks.setdefault(id(bank), bank)
    return list(banks.values())


def meta_model(shape: dict) -> torch.nn.Module:
    """The model of ``shape`` on the meta device (shapes only, no weights in memory)."""
    from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM

    config_cls, model_cls = (
        (MistralConfig, MistralForCausalLM) if shape["family"] == "mistral" else (LlamaConfig, LlamaForCausalLM)
    )
    config = config_cls(**config_sizes(shape), tie_word_embeddings=False)
    with torch.device("meta"):
        return model_cls(config)


def meta_penalty(
    modules: list[tuple[str, int, int]], k: int, share_inputs: bool = True
) -> tuple[StackedPenalty, list, list[ModuleFisher]]:
    """The trainer's penalty (:class:`StackedPenalty`, r = 16, rank ``k`` Fisher summaries) over LoRA modules
    ``(name, d_in, d_out)`` on the meta device; also the LoRA factors and the summaries.

    With ``share_inputs`` the summaries are what :func:`~axolotl_agl.core.kfac_summary.summarise_factors` returns for a
    Llama layer: the modules of an :data:`INPUT_GROUPS` entry of one layer (q/k/v, gate/up) hold the same input
    factor object (the Fisher pass accumulates one statistic for them); otherwise every module has its own.
    """
    meta = torch.device("meta")

    def factor(dim: int) -> LowRankFactor:
        return LowRankFactor(
            torch.empty(dim, k, device=meta), torch.empty(k, device=meta), torch.empty((), device=meta)
        )

    group_of = {target: group[0] for group in INPUT_GROUPS for target in group}
    inputs: dict[tuple[str, str], LowRankFactor] = {}
    fishers = []
    for name, d_in, d_out in modules:
        layer, target = name.rsplit(".", 1)
        key = (layer, group_of[target]) if share_inputs else (layer, target)
        if key not in inputs:
            inputs[key] = factor(d_in)
        fishers.append(ModuleFisher(factor(d_out), inputs[key]))
    factors = [
        (torch.empty(R, d_in, device=meta, requires_grad=True), torch.empty(d_out, R, device=meta, requires_grad=True))
        for _, d_in, d_out in modules
    ]
    return StackedPenalty(factors, [2.0] * len(modules), fishers), factors, fishers


def penalty_workspace(penalty: StackedPenalty, factors: list, overlap_samples: int) -> dict[str, int]:
    """Bytes one forward + backward of ``penalty`` allocates on the meta device: the peak, what stays alive after
    backward (the LoRA factors' gradients), and the number of tensor operators it ran (forward and backward)."""
    for pair in factors:
        for tensor in pair:
            tensor.grad = None
    tracker = LiveBytes()
    # autocast has no meta device; the penalty only uses it to switch autocast off
    with unittest.mock.patch("torch.autocast", lambda **_: contextlib.nullcontext()), tracker:
        total, terms = penalty.penalty(factors, 1.0, 0.01, 0.1, 0.5, overlap_samples=overlap_samples)
        total.backward()
        del total, terms
    return {"peak_bytes": tracker.peak, "after_backward_bytes": tracker.sweep(), "operators": tracker.ops}


def meta_table_section(ks: tuple[int, ...] = META_KS, overlap_samples: tuple[int, ...] = (64, 0)) -> dict[str, Any]:
    """Fisher-state bytes and penalty workspace of full-size models on the meta device, per ``k``.

    Per model: parameters and bf16 weight bytes of the meta model; LoRA (r = 16) on the 7 projections of every
    layer. Per ``k``: the Fisher summary (float32, one ``ModuleFisher`` per module, q/k/v and gate/up of a layer
    holding one input factor, as ``summarise_factors`` returns it and the cache stores it; and, for comparison,
    with one copy of every factor per module), what the trainer holds during training (the ``StackedPenalty``
    groups: its per-module summaries are views into them; and of that the eigenvectors), the Fisher pass's
    accumulators (``auto`` sketching, shared inputs, plus the shared test matrices) and the peak bytes the
    penalty's forward + backward allocates (and its operator count), with the sampled overlap
    (``overlap_samples = 64``, the default) and, when ``overlap_samples`` lists 0, the exact one (on the meta
    device that case runs ~10⁵ operators for Llama-3-70B, the chunks of the fused numerator: minutes).
    """
    started = time.perf_counter()
    out: dict[str, Any] = {"r": R, "ks": list(ks), "dtype": "float32", "models": {}}
    for name, shape in META_MODELS.items():
        model = meta_model(shape)
        params = sum(p.numel() for p in model.parameters())
        modules = [
            (module_name, module.in_features, module.out_features)
            for module_name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and module_name.rsplit(".", 1)[-1] in TARGETS
        ]
        dims = [(d_in, d_out) for _, d_in, d_out in modules]
        del model
        layer_dims = module_dims(shape)
        entry: dict[str, Any] = {
            "shape": shape,
            "parameters": params,
            "bf16_weight_bytes": 2 * params,
            "lora_modules": len(dims),
            "lora_parameters": sum(R * (d_in + d_out) for d_in, d_out in dims),
            "by_k": {},
        }
        for k in ks:
            penalty, factors, fishers = meta_penalty(modules, k)
            per_module = [ModuleFisher(clone_like(f.output_factor), clone_like(f.input_factor)) for f in fishers]
            row: dict[str, Any] = {
                "summary_bytes": tensor_bytes(fishers),
                "summary_one_copy_per_module_bytes": tensor_bytes(per_module),
                "trainer_held_bytes": tensor_bytes(penalty.groups),
                "trainer_held_eigenvector_bytes": tensor_bytes([bank.vectors for bank in group_banks(penalty)]),
            }
            for samples in overlap_samples:
                workspace = penalty_workspace(penalty, factors, samples)
                row[f"penalty_workspace_peak_bytes (overlap_samples={samples})"] = workspace["peak_bytes"]
                row[f"penalty_after_backward_bytes (overlap_samples={samples})"] = workspace["after_backward_bytes"]
                row[f"penalty_operators_per_step (overlap_samples={samples})"] = workspace["operators"]
            distinct = {d for pair in layer_dims.values() for d in pair}
            row["fisher_pass_accumulator_bytes"] = shape["layers"] * layer_bytes(layer_dims, "auto", True, k) + sum(
                4 * d * sketch_width(d, k) for d in distinct if uses_sketch(d, "auto", sketch_width(d, k))
            )
            for key in (
                "summary_bytes",
                "summary_one_copy_per_module_bytes",
                "trainer_held_bytes",
                "trainer_held_eigenvector_bytes",
                "fisher_pass_accumulator_bytes",
            ):
                row[f"{key.removesuffix('_bytes')}_over_bf16_weights"] = row[key] / entry["bf16_weight_bytes"]
            entry["by_k"][k] = row
        out["models"][name] = entry
    out["section_wall_seconds"] = time.perf_counter() - started
    return out


def meta_table_markdown(section: dict[str, Any]) -> str:
    """The meta-device table as markdown (GiB; ratios to the bf16 weight bytes in percent)."""
    gib = 1 << 30
    lines = [
        "| model | params | bf16 weights | k | Fisher summary = cache (% of weights) | held in training (%) "
        "| Fisher-pass accumulators (%) | penalty workspace (operators), sampled / exact overlap |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def workspace(row: dict[str, Any], samples: int) -> str:
        peak = row.get(f"penalty_workspace_peak_bytes (overlap_samples={samples})")
        ops = row.get(f"penalty_operators_per_step (overlap_samples={samples})")
        return "–" if peak is None else f"{peak / gib:.2f} GiB ({ops})"

    for name, entry in section["models"].items():
        for k, row in entry["by_k"].items():
            sampled, exact = workspace(row, 64), workspace(row, 0)
            lines.append(
                f"| {name} | {entry['parameters'] / 1e9:.2f} B | {entry['bf16_weight_bytes'] / gib:.1f} GiB | {k} "
                f"| {row['summary_bytes'] / gib:.2f} GiB ({100 * row['summary_over_bf16_weights']:.3f} %) "
                f"| {row['trainer_held_bytes'] / gib:.2f} GiB ({100 * row['trainer_held_over_bf16_weights']:.3f} %) "
                f"| {row['fisher_pass_accumulator_bytes'] / gib:.2f} GiB "
                f"({100 * row['fisher_pass_accumulator_over_bf16_weights']:.2f} %) "
                f"| {sampled} / {exact} |"
            )
    return "\n".join(lines)


def capture_smollm2_rows(n_examples: int, layers: tuple[int, ...]) -> tuple[dict[str, dict[str, list]], int]:
    """Masked per-token inputs and output gradients of 6 target modules in ``layers`` of the real SmolLM2-135M
    (the cached checkpoint of ``axolotl_agl.experiments.smollm2``) on the shipped alignment data, in Fisher-pass batches."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from axolotl_agl.core.examples import pad_batch
    from axolotl_agl.core.nll import per_example_mean_nll
    from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint
    from axolotl_agl.integration.alignment_data import load_alignment_examples

    checkpoint = ensure_smollm2_checkpoint()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval().requires_grad_(False)
    examples = load_alignment_examples(None, tokenizer, n_examples, 256)
    targets = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.down_proj")
    names = [f"model.layers.{layer}.{t}" for layer in layers for t in targets]
    modules = dict(model.named_modules())
    rows: dict[str, dict[str, list]] = {name: {"x": [], "g": []} for name in names}
    mask: list[torch.Tensor] = []

    def hook(name: str):
        def forward_hook(_module, inputs, output):
            keep = mask[0].reshape(-1)
            rows[name]["x"].append(inputs[0].detach().reshape(-1, inputs[0].shape[-1])[keep])
            output.register_hook(lambda g: rows[name]["g"].append(g.detach().reshape(-1, g.shape[-1])[keep]))

        return forward_hook

    handles = [modules[name].register_forward_hook(hook(name)) for name in names]
    leaves: list[torch.Tensor] = []
    handles.append(
        model.get_input_embeddings().register_forward_hook(
            lambda _m, _i, out: leaves.append(out.detach().requires_grad_()) or leaves[-1]
        )
    )
    try:
        for start in range(0, len(examples), 8):
            batch = pad_batch(examples[start : start + 8], tokenizer.pad_token_id)
            mask[:] = [batch["attention_mask"].bool()]
            leaves.clear()
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            torch.autograd.grad(per_example_mean_nll(logits, batch["labels"]).sum(), leaves)
    finally:
        for handle in handles:
            handle.remove()
    return rows, len(examples)


def sketch_quality_section(n_examples: int, layers: tuple[int, ...], oversample: int) -> dict[str, Any]:
    """Sketched vs exact K-FAC factors of the real SmolLM2-135M (float32 sums, as in the Fisher pass):
    eigenvalue errors, subspace angles, residual σ, and the four penalty terms on a random LoRA update."""
    from axolotl_agl.core.fisher_state import low_rank_factor_from_dense

    started = time.perf_counter()
    rows, n = capture_smollm2_rows(n_examples, layers)
    gen = torch.Generator().manual_seed(0)
    per_passes: dict[int, dict[str, list[float]]] = {1: {}, 2: {}, 3: {}}
    for data in rows.values():
        factors: dict[str, dict] = {}
        for side, count in (("x", sum(x.shape[0] for x in data["x"])), ("g", n)):
            dim = data[side][0].shape[1]
            dense = DenseMomentAccumulator(dim)
            for chunk in data[side]:
                dense.add(chunk)
            exact = low_rank_factor_from_dense(dense.result(count), K)
            factors[side] = {"exact": exact, "moment": dense.result(count).double()}
            acc = SketchMomentAccumulator(orthonormal_test_matrix(dim, sketch_width(dim, K, oversample), seed=dim))
            for passes in (1, 2, 3):
                if passes > 1:
                    acc.next_pass()
                for chunk in data[side]:
                    acc.add(chunk)
                factors[side][passes] = acc.result(count).low_rank(K)
        d_in, d_out = factors["x"]["moment"].shape[0], factors["g"]["moment"].shape[0]
        a = torch.randn(R, d_in, generator=gen) / d_in**0.5
        b = torch.randn(d_out, R, generator=gen) * 1e-2
        reference = compute_module_terms(a, b, 2.0, ModuleFisher(factors["g"]["exact"], factors["x"]["exact"]))
        for passes in (1, 2, 3):
            stats = per_passes[passes]
            for side in ("x", "g"):
                exact, approx, moment = factors[side]["exact"], factors[side][passes], factors[side]["moment"]
                rel = (approx.values - exact.values).abs() / exact.values
                cosines = torch.linalg.svdvals(exact.vectors[:, :8].T @ approx.vectors).clamp(max=1)
                captured = torch.trace(approx.vectors.T @ moment @ approx.vectors) / exact.values.sum()
                for key, value in (
                    ("rel_err_top8_eigenvalues", rel[:8].max()),
                    ("rel_err_all_k_eigenvalues", rel.max()),
                    ("sin_theta_max_top8_subspace", (1 - cosines.min() ** 2).clamp_min(0).sqrt()),
                    ("captured_energy_ratio", captured),
                    ("residual_ratio", approx.residual / exact.residual),
                ):
                    stats.setdefault(f"{'input' if side == 'x' else 'grad'}_{key}", []).append(float(value))
            terms = compute_module_terms(a, b, 2.0, ModuleFisher(factors["g"][passes], factors["x"][passes]))
            for term, value in terms.items():
                stats.setdefault(f"rel_err_term_{term}", []).append(float((value / reference[term] - 1).abs()))
    return {
        "model": "SmolLM2-135M-Instruct (Q4_1 GGUF de-quantised, axolotl_agl.experiments.smollm2)",
        "examples": n,
        "layers": list(layers),
        "modules": len(rows),
        "k": K,
        "oversample": oversample,
        "sketch_columns_note": "min(d, k + oversample)",
        "by_passes": {
            passes: {key: {"mean": statistics.fmean(v), "max": max(v), "min": min(v)} for key, v in stats.items()}
            for passes, stats in per_passes.items()
        },
        "section_wall_seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--reps", type=int, default=5, help="timed rounds of the SmolLM2-shaped cases (after 1 warm-up)"
    )
    parser.add_argument("--reps-7b", type=int, default=3, help="timed rounds of the 7B-shaped cases (after 1 warm-up)")
    parser.add_argument("--tokens", type=int, default=512, help="tokens per LoRA step (one sequence)")
    parser.add_argument("--layers-7b", type=int, default=2, help="7B-shaped decoder layers in the stack")
    parser.add_argument("--overlap-samples", type=int, default=64, help="lines per module for the sampled overlap")
    parser.add_argument("--overlap-modules", type=int, default=3, help="4096 x 4096 modules in the memory test")
    parser.add_argument(
        "--sketch-quality",
        action="store_true",
        help="only the sketch-vs-exact comparison on the real SmolLM2-135M (~1 min; writes sketch_quality_<date>.json)",
    )
    parser.add_argument("--quality-examples", type=int, default=48, help="alignment examples for --sketch-quality")
    parser.add_argument(
        "--meta-table",
        action="store_true",
        help="only the meta-device table of Mistral-7B / Llama-3-8B / Llama-3-70B (~1 min; writes meta_table_<date>.json)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a small shared machine, multi-threaded small matrix products stall "
        "behind other processes and the timings mean nothing)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output JSON (default benchmarks/results/...)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    SHAPES["7b_layers"]["layers"] = args.layers_7b
    if args.sketch_quality:
        quality = sketch_quality_section(args.quality_examples, layers=(1, 20), oversample=default_oversample(K))
        quality["date"] = dt.datetime.now().isoformat(timespec="seconds")
        quality["load_average_at_end"] = os.getloadavg()
        out = args.out or ROOT / "benchmarks" / "results" / f"sketch_quality_{dt.date.today().isoformat()}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(quality, indent=2) + "\n")
        compact = {
            f"{passes} pass(es)": {key: round(v["mean"], 4) for key, v in stats.items()}
            for passes, stats in quality["by_passes"].items()
        }
        print(json.dumps(compact, indent=2))
        print(f"wrote {out} in {quality['section_wall_seconds']:.0f} s")
        return
    if args.meta_table:
        table = meta_table_section()
        table["date"] = dt.datetime.now().isoformat(timespec="seconds")
        table["command"] = " ".join(sys.argv)
        out = args.out or ROOT / "benchmarks" / "results" / f"meta_table_{dt.date.today().isoformat()}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(table, indent=2) + "\n")
        print(meta_table_markdown(table))
        print(f"wrote {out} in {table['section_wall_seconds']:.0f} s")
        return
    result: dict[str, Any] = {
        "benchmark": "axolotl_agl overhead",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
        "r": R,
        "k": K,
    }
    result["step_time"] = {
        "smollm2_135m": step_time_section(SHAPES["smollm2_135m"], args.tokens, args.reps, args.overlap_samples),
        "7b_layers": step_time_section(SHAPES["7b_layers"], args.tokens, args.reps_7b, args.overlap_samples),
    }
    result["fisher_state"] = fisher_state_section(rows=args.tokens)
    result["overlap_memory"] = overlap_memory_section(n_modules=args.overlap_modules, dim=4096)
    result["meta_table"] = meta_table_section(overlap_samples=(64,))  # the exact overlap: --meta-table
    result["environment"]["load_average_at_end"] = os.getloadavg()
    result["wall_seconds"] = time.perf_counter() - started
    result["summary"] = summarise(result)
    out = args.out or ROOT / "benchmarks" / "results" / f"overhead_{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    print(meta_table_markdown(result["meta_table"]))
    print(f"wrote {out} in {result['wall_seconds']:.0f} s")


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    mib = 1 << 20
    summary: dict[str, Any] = {
        "load_average_start_end": [
            result["environment"]["load_average_at_start"][0],
            result["environment"]["load_average_at_end"][0],
        ],
    }
    for name, sec in result["step_time"].items():
        label = f"{name} ({sec['lora_modules']} LoRA modules, {sec['tokens_per_step']} tokens)"
        summary[f"{label}: median seconds wall / CPU"] = {
            case: [round(t["wall_median"], 3), round(t["cpu_median"], 3)] for case, t in sec["times"].items()
        }
        summary[f"{label}: penalty / LoRA step, CPU time"] = {
            case: round(v, 3) for case, v in sec["ratio_to_lora_step"]["cpu"].items()
        }
        summary[f"{label}: penalty costs a LoRA step over this many tokens (CPU time)"] = {
            case: round(v * sec["tokens_per_step"]) for case, v in sec["ratio_to_lora_step"]["cpu"].items()
        }
    for name, model in result["fisher_state"]["models"].items():
        summary[f"{name}: Fisher-pass state MiB per layer"] = {
            kind: round(v / mib, 2) for kind, v in model["per_layer_bytes"].items()
        }
        summary[f"{name}: Fisher-pass state MiB per module, exact -> sketch"] = {
            t: f"{m['exact_bytes'] / mib:.2f} -> {m['sketch_bytes'] / mib:.2f}" for t, m in model["per_module"].items()
        }
    upd = result["fisher_state"]["update_d4096"]
    summary[f"Fisher update d=4096, {upd['rows']} rows: CPU seconds exact / sketch"] = [
        round(upd["exact"]["cpu_median"], 4),
        round(upd["sketch"]["cpu_median"], 4),
    ]
    mem = result["overlap_memory"]
    key = f"exact overlap, {mem['modules']} x (4096 x 4096) modules: MiB peak RSS increase / saved for backward"
    summary[key] = {
        mode: [
            round(c["peak_rss_increase_bytes"] / mib, 1),
            round(c["saved_for_backward_beyond_inputs_bytes"] / mib, 1),
        ]
        for mode, c in mem["cases"].items()
    }
    summary["one 4096 x 4096 float32 matrix, MiB"] = mem["one_d_out_x_d_in_float32_bytes"] / mib
    return summary


if __name__ == "__main__":
    main()
