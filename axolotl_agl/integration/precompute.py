"""Obtain the Fisher summary for a PEFT model: reuse a matching cache, or run the Fisher pass.

``alignguard.fisher_cache`` decides what happens to an existing cache file:

* ``reuse`` (default): use it when its metadata match this config; otherwise, or when the file is
  unreadable, recompute it with a warning naming the mismatched keys;
* ``rebuild``: always recompute;
* ``strict``: use it when it matches; stop with a :class:`FisherCacheError` naming each mismatched
  key (or the problem with the file) and the fix. A missing cache is computed in every mode.

The statistics are checked for NaN/Inf before anything is cached: a poisoned Fisher stops the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from axolotl_agl import __version__
from axolotl_agl.core.examples import TokenizedExample, fingerprint_examples
from axolotl_agl.core.fisher_state import ModuleFisher
from axolotl_agl.core.kfac import FisherPassSettings, KFACFactors, collect_kfac_factors
from axolotl_agl.core.kfac_summary import summarise_factors
from axolotl_agl.core.lora_modules import LoraHandle, find_lora_linears
from axolotl_agl.integration.args import AlignGuardConfig
from axolotl_agl.integration.fisher_cache import (
    FisherCacheError,
    describe_mismatches,
    load_fisher_cache,
    nonfinite_modules,
    save_fisher_cache,
    summary_checksum,
)
from axolotl_agl.utils.distributed import barrier, is_main_process
from axolotl_agl.utils.memory import release_freed_memory

LOG = logging.getLogger(__name__)

#: Identifies the definition of the statistics (see axolotl_agl/fisher.py); bump when it changes.
FISHER_DEFINITION = "kfac-expand/per-example-reply-nll-sum/v3"

_CACHE_FIX = (
    "Fix: set alignguard.fisher_cache: rebuild (or reuse) to recompute it, delete the file, or point "
    "alignguard.fisher_cache_path to a cache built for this config"
)


class FisherNonFiniteError(FloatingPointError):
    """The Fisher statistics contain NaN/Inf: nothing is cached and training does not start."""


@dataclass
class FisherResult:
    """A Fisher summary, its metadata (including ``checksum``), where it is cached and whether it was reused."""

    summary: dict[str, ModuleFisher]
    metadata: dict[str, str]
    path: Path
    reused: bool


def default_cache_path(output_dir: str) -> Path:
    """``<output_dir>/alignguard_fisher.safetensors``."""
    return Path(output_dir) / "alignguard_fisher.safetensors"


def cache_path_of(agl: AlignGuardConfig, output_dir: str) -> Path:
    """The cache file this config reads and writes."""
    return Path(agl.fisher_cache_path) if agl.fisher_cache_path else default_cache_path(output_dir)


def _pad_id(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if candidate is not None:
            return int(candidate)
    return 0


def expected_metadata(
    agl: AlignGuardConfig, base_model: str, module_names: list[str], examples: list[TokenizedExample]
) -> dict[str, str]:
    """The identifying metadata a reusable cache must carry for this config (``fisher_replies`` only when not the
    default, so caches written before that key existed still match)."""
    replies = {} if agl.fisher_replies == "alignment" else {"fisher_replies": agl.fisher_replies}
    return replies | {
        "base_model": base_model,
        "target_modules_sha256": hashlib.sha256(json.dumps(sorted(module_names)).encode()).hexdigest(),
        "rank_k": str(agl.rank_k),
        "fisher_definition": FISHER_DEFINITION,
        "fisher_type": agl.fisher_type,
        "fisher_reply_tokens": str(agl.fisher_reply_tokens or "all"),
        "fisher_sketch": f"{agl.fisher_sketch}/passes={agl.fisher_sketch_passes}",
        "data_fingerprint": fingerprint_examples(examples),
        "num_examples": str(len(examples)),
    }


def _shape_problems(summary: dict[str, ModuleFisher], handles: list[LoraHandle]) -> list[str]:
    """Modules of the model missing from ``summary`` or with other dimensions than the model's layers."""
    problems = []
    for handle in handles:
        fisher = summary.get(handle.name)
        if fisher is None:
            problems.append(f"{handle.name}: missing")
            continue
        d_out, d_in = int(handle.base_layer.out_features), int(handle.base_layer.in_features)
        if (fisher.output_factor.dim, fisher.input_factor.dim) != (d_out, d_in):
            problems.append(
                f"{handle.name}: cache has d_out×d_in={fisher.output_factor.dim}×{fisher.input_factor.dim}, "
                f"model has {d_out}×{d_in}"
            )
    return problems


def _reusable_cache(path: Path, expected: dict[str, str], handles: list[LoraHandle], mode: str) -> FisherResult | None:
    """A matching cache at ``path``, or None (after a warning) when it must be recomputed; raises under strict."""
    if mode == "rebuild":
        LOG.info("AlignGuard: alignguard.fisher_cache: rebuild; recomputing %s", path)
        return None
    if not path.exists():
        return None
    try:
        summary, found = load_fisher_cache(path)
    except FisherCacheError as err:
        if mode == "strict":
            raise FisherCacheError(
                f"{err}, or set alignguard.fisher_cache: rebuild (alignguard.fisher_cache: strict)"
            ) from None
        LOG.warning("AlignGuard: %s. Recomputing it (alignguard.fisher_cache: reuse)", err)
        return None
    mismatched = describe_mismatches(found, expected, [h.name for h in handles])
    if not mismatched:
        mismatched = [f"module dimensions: {p}" for p in _shape_problems(summary, handles)[:5]]
    if not mismatched:
        LOG.info("AlignGuard: reusing Fisher cache %s (%d modules)", path, len(summary))
        return FisherResult(summary, found, path, reused=True)
    listing = "; ".join(mismatched)
    if mode == "strict":
        raise FisherCacheError(
            f"Fisher cache {path} does not match this config (alignguard.fisher_cache: strict): {listing}. {_CACHE_FIX}"
        )
    LOG.warning("AlignGuard: Fisher cache %s was built for another config (%s); recomputing it", path, listing)
    return None


def _moment_is_finite(moment: Any) -> bool:
    """A dense moment tensor, or a sketched moment (every tensor field checked), holds no NaN/Inf."""
    tensors = [moment] if isinstance(moment, torch.Tensor) else list(getattr(moment, "__dict__", {}).values())
    return all(bool(torch.isfinite(t).all()) for t in tensors if isinstance(t, torch.Tensor))


def check_factors_finite(factors: dict[str, KFACFactors]) -> None:
    """Raise :class:`FisherNonFiniteError` when a K-FAC factor holds NaN/Inf (before anything is cached)."""
    bad = [
        name
        for name, f in factors.items()
        if not (_moment_is_finite(f.input_moment) and _moment_is_finite(f.grad_moment))
    ]
    if bad:
        raise FisherNonFiniteError(
            f"AlignGuard: the Fisher statistics of {len(bad)} module(s) contain NaN/Inf (e.g. {bad[:3]}); "
            "nothing was cached. The base model overflows or produces NaN on the alignment data: load it in "
            "float32 or bf16 instead of fp16 (bf16/fp16/load_in_8bit keys), or check "
            "alignguard.alignment_datasets for broken rows"
        )


def _call_qkv_modules(self: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``apply_qkv`` through the q/k/v modules (what Axolotl's unfused fallback does; v may be absent)."""
    query, key = self.q_proj(x), self.k_proj(x)
    return query, key, (self.v_proj(x) if getattr(self, "v_proj", None) is not None else key)


def _call_o_module(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return self.o_proj(x)


#: Fused-kernel methods the patched attention forward calls unconditionally: replaced by module calls.
_MODULE_CALLS = {"apply_qkv": _call_qkv_modules, "apply_o": _call_o_module}


def _is_lora_layer(module: nn.Module) -> bool:
    return hasattr(module, "lora_A") and hasattr(module, "base_layer")


@contextlib.contextmanager
def lora_layers_called_as_modules(model: nn.Module) -> Iterator[int]:
    """Undo, for the duration of the block, per-module patches that compute LoRA layers without calling them.

    Axolotl's fused LoRA kernels (``lora_qkv_kernel``, ``lora_o_kernel``, ``lora_mlp_kernel``, on by default on
    CUDA) bind methods on the attention and MLP modules (``apply_qkv``/``apply_o``, ``forward``,
    ``apply_in_proj_fused``...) that read the LoRA layers' base weights directly, so the Fisher pass's hooks on
    ``base_layer`` would never fire. Any bound ``forward``/``apply_*`` method set on an instance of a LoRA layer or of
    a block holding one (not on a whole model, where e.g. accelerate binds its autocast forward) is taken away here
    (``apply_qkv``/``apply_o`` replaced by plain module calls, the others removed, so the class's own forward or the
    patched forward's unfused path runs) and put back afterwards. Yields how many were taken away.
    """
    from transformers import PreTrainedModel

    saved: list[tuple[nn.Module, str, Any]] = []
    for module in model.modules():
        holds_lora = _is_lora_layer(module) or any(_is_lora_layer(child) for child in module.children())
        if not holds_lora or isinstance(module, PreTrainedModel):
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, types.MethodType) and (name == "forward" or name.startswith("apply_")):
                saved.append((module, name, value))
                if name in _MODULE_CALLS:
                    setattr(module, name, types.MethodType(_MODULE_CALLS[name], module))
                else:
                    delattr(module, name)
    try:
        yield len(saved)
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def _moment_is_zero(moment: Any) -> bool:
    if isinstance(moment, torch.Tensor):
        return not bool(moment.any())
    return not bool(torch.as_tensor(moment.trace).any())


def check_every_layer_seen(factors: dict[str, KFACFactors]) -> None:
    """Raise when the Fisher pass never reached a targeted layer (its input statistic is exactly zero).

    That happens when something computes the layer without calling it (a fused kernel this module does not know
    how to undo): its Fisher would silently be zero and the penalty would not protect it.
    """
    unseen = [name for name, f in factors.items() if f.examples and _moment_is_zero(f.input_moment)]
    if unseen:
        raise RuntimeError(
            f"AlignGuard: the Fisher pass never reached {len(unseen)} targeted module(s) (e.g. {unseen[:3]}): a "
            "patched forward computes them without calling their base layer (Axolotl's fused LoRA kernels do). "
            "Set lora_qkv_kernel: false, lora_o_kernel: false and lora_mlp_kernel: false in your YAML"
        )


def _compute_summary(
    model: nn.Module,
    tokenizer: Any,
    agl: AlignGuardConfig,
    handles: list[LoraHandle],
    examples: list[TokenizedExample],
    show_progress: bool,
) -> tuple[dict[str, ModuleFisher], int, int]:
    """The Fisher summary and the pass's token and example counts (no factor outlives this call)."""
    layers = {h.name: h.base_layer for h in handles}
    # Sketching Fisher passes keep rank_k + oversampling columns: collect with the k that will be summarised.
    settings = FisherPassSettings(
        batch_size=agl.fisher_batch_size,
        fisher_type=agl.fisher_type,
        reduction="sum",
        max_reply_tokens=agl.fisher_reply_tokens,
        sketch=agl.fisher_sketch,
        rank_k=agl.rank_k,
        sketch_passes=agl.fisher_sketch_passes,
    )
    with model.disable_adapter(), lora_layers_called_as_modules(model) as undone:
        if undone:
            LOG.info("AlignGuard: Fisher pass with %d fused LoRA kernel patch(es) undone", undone)
        factors = collect_kfac_factors(model, layers, examples, _pad_id(tokenizer), settings, show_progress)
    check_every_layer_seen(factors)
    check_factors_finite(factors)
    summary = summarise_factors(factors, agl.rank_k)
    bad = nonfinite_modules(summary)
    if bad:
        raise FisherNonFiniteError(
            f"AlignGuard: the Fisher eigen-summary of module(s) {bad[:3]} is not finite; nothing was cached"
        )
    first = next(iter(factors.values()))
    return summary, first.tokens, first.examples


def obtain_fisher_summary(
    model: nn.Module,
    tokenizer: Any,
    agl: AlignGuardConfig,
    base_model: str,
    output_dir: str,
    examples: list[TokenizedExample],
    show_progress: bool = True,
) -> FisherResult:
    """Fisher summary of every LoRA linear layer of ``model`` (a PEFT model) on the tokenised alignment ``examples``.

    The cache at ``agl.fisher_cache_path`` (default ``<output_dir>/alignguard_fisher.safetensors``)
    is handled according to ``agl.fisher_cache`` (see the module docstring). A cache matches when its
    metadata agree on the base model, the target modules, ``k``, the definition of the statistics
    and the fingerprint of the tokenised alignment data, and its module shapes agree with the model.
    Otherwise the Fisher pass runs with the adapter disabled and rank 0 (re)writes the cache.
    """
    handles = find_lora_linears(model)
    if not handles:
        raise ValueError(
            "AlignGuard found no LoRA linear layers: check lora_target_modules / lora_target_linear in your YAML"
        )
    expected = expected_metadata(agl, base_model, [h.name for h in handles], examples)
    path = cache_path_of(agl, output_dir)
    reused = _reusable_cache(path, expected, handles, agl.fisher_cache)
    if reused is not None:
        return reused

    started = time.perf_counter()
    summary, tokens, examples_seen = _compute_summary(model, tokenizer, agl, handles, examples, show_progress)
    release_freed_memory()  # the pass's K-FAC sums and activations: ~1.5 GB of heap pages on SmolLM2-135M
    metadata = dict(
        expected,
        total_tokens=str(tokens),
        total_examples=str(examples_seen),
        seconds=f"{time.perf_counter() - started:.1f}",
        axolotl_agl_version=__version__,
    )
    if is_main_process():
        save_fisher_cache(path, summary, metadata)
        LOG.info(
            "AlignGuard: Fisher pass over %d examples took %ss; saved %s", len(examples), metadata["seconds"], path
        )
    barrier()
    metadata["checksum"] = summary_checksum(summary)
    return FisherResult(summary, metadata, path, reused=False)
