"""Obtain the Fisher summary for a PEFT model: reuse a matching cache, or run the Fisher pass."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from axolotl_agl import __version__
from axolotl_agl.alignment_data import fingerprint_examples, load_alignment_examples
from axolotl_agl.args import AlignGuardConfig
from axolotl_agl.cache import FisherCacheError, load_fisher_cache, metadata_mismatches, save_fisher_cache
from axolotl_agl.fisher import collect_kfac_factors, summarise_factors
from axolotl_agl.fisher_state import ModuleFisher
from axolotl_agl.lora_modules import find_lora_linears

LOG = logging.getLogger(__name__)

#: Identifies the definition of the statistics (see axolotl_agl/fisher.py); bump when it changes.
FISHER_DEFINITION = "kfac-expand/empirical/per-example-mean-nll/v1"


@dataclass
class FisherResult:
    summary: dict[str, ModuleFisher]
    metadata: dict[str, str]
    path: Path
    reused: bool


def default_cache_path(output_dir: str) -> Path:
    return Path(output_dir) / "alignguard_fisher.safetensors"


def _is_main_process() -> bool:
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _barrier() -> None:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _pad_id(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if candidate is not None:
            return int(candidate)
    return 0


def obtain_fisher_summary(
    model: nn.Module,
    tokenizer: Any,
    agl: AlignGuardConfig,
    base_model: str,
    sequence_len: int,
    output_dir: str,
    show_progress: bool = True,
) -> FisherResult:
    """Fisher summary of every LoRA linear layer of ``model`` (a PEFT model).

    The cache at ``agl.fisher_cache_path`` (default ``<output_dir>/alignguard_fisher.safetensors``)
    is reused when its metadata matches the base model, the target modules, ``k``, the definition
    of the statistics and the fingerprint of the tokenised alignment data; otherwise the Fisher pass
    runs with the adapter disabled and the cache is (re)written by rank 0.
    """
    handles = find_lora_linears(model)
    if not handles:
        raise ValueError(
            "AlignGuard found no LoRA linear layers: check lora_target_modules / lora_target_linear in your YAML"
        )
    max_tokens = agl.fisher_max_tokens or sequence_len
    examples = load_alignment_examples(agl.alignment_datasets, tokenizer, agl.fisher_num_samples, max_tokens)
    names = sorted(h.name for h in handles)
    expected = {
        "base_model": base_model,
        "target_modules_sha256": hashlib.sha256(json.dumps(names).encode()).hexdigest(),
        "rank_k": str(agl.rank_k),
        "fisher_definition": FISHER_DEFINITION,
        "data_fingerprint": fingerprint_examples(examples),
        "num_examples": str(len(examples)),
    }
    path = Path(agl.fisher_cache_path) if agl.fisher_cache_path else default_cache_path(output_dir)
    if path.exists():
        try:
            summary, found = load_fisher_cache(path)
        except FisherCacheError as err:
            LOG.warning("AlignGuard: %s; recomputing", err)
        else:
            mismatched = metadata_mismatches(found, expected)
            if not mismatched:
                LOG.info("AlignGuard: reusing Fisher cache %s (%d modules)", path, len(summary))
                return FisherResult(summary, found, path, reused=True)
            LOG.warning("AlignGuard: Fisher cache %s was built for other %s; recomputing", path, mismatched)

    started = time.perf_counter()
    layers = {h.name: h.base_layer for h in handles}
    with model.disable_adapter():
        factors = collect_kfac_factors(
            model, layers, examples, _pad_id(tokenizer), batch_size=agl.fisher_batch_size, show_progress=show_progress
        )
    summary = summarise_factors(factors, agl.rank_k)
    any_factor = next(iter(factors.values()))
    metadata = dict(
        expected,
        total_tokens=str(any_factor.tokens),
        total_examples=str(any_factor.examples),
        seconds=f"{time.perf_counter() - started:.1f}",
        axolotl_agl_version=__version__,
    )
    if _is_main_process():
        save_fisher_cache(path, summary, metadata)
        LOG.info(
            "AlignGuard: Fisher pass over %d examples took %ss; saved %s", len(examples), metadata["seconds"], path
        )
    _barrier()
    return FisherResult(summary, metadata, path, reused=False)
