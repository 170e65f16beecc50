"""Worker for tests/test_distributed.py, run with ``torchrun --nproc_per_node 2`` (gloo, CPU).

Builds the same tiny PEFT model on every rank, wraps it with DDP or FSDP2 (``fully_shard``), computes
the AlignGuard penalty from the (gathered) LoRA factors, back-propagates, and writes the penalty value
and the full gradients of every LoRA factor to ``<out>/rank<r>.safetensors``. The test compares them
with a single-process computation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import save_file

from axolotl_agl.core.fisher_state import ModuleFisher, low_rank_factor_from_dense
from axolotl_agl.core.lora_modules import find_lora_linears
from axolotl_agl.core.penalty import combine_terms, compute_module_terms
from tests.helpers import tiny_peft_llama

WEIGHTS = (2.0, 0.5, 0.3, 0.4)  # λ_A, λ_T, λ_NC, α


def build_model_and_fishers() -> tuple[torch.nn.Module, dict[str, ModuleFisher]]:
    """Deterministic tiny PEFT model (random non-zero B) and random Fisher summaries."""
    model = tiny_peft_llama(["q_proj", "v_proj", "down_proj"], num_layers=2, r=4, lora_alpha=8, init_lora_weights=False)
    gen = torch.Generator().manual_seed(1)
    fishers = {}
    for h in find_lora_linears(model):
        mats = []
        for dim in (h.base_layer.out_features, h.base_layer.in_features):
            m = torch.randn(dim, dim, generator=gen)
            mats.append(low_rank_factor_from_dense(m @ m.T / dim, 3))
        fishers[h.name] = ModuleFisher(*mats)
    return model, fishers


def penalty_of(model: torch.nn.Module, fishers: dict[str, ModuleFisher]) -> torch.Tensor:
    terms = [compute_module_terms(*h.factors(), h.scale, fishers[h.name]) for h in find_lora_linears(model)]
    total, _ = combine_terms(terms, *WEIGHTS)
    return total


def lora_grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    grads = {}
    for name, param in model.named_parameters():
        if "lora_" in name and param.grad is not None:
            grad = param.grad
            grad = grad.full_tensor() if hasattr(grad, "full_tensor") else grad
            grads[name.replace("_fsdp_wrapped_module.", "").replace("module.", "", 1)] = grad.detach().clone()
    return grads


def rank_batch(rank: int) -> torch.Tensor:
    """Different data on each rank."""
    return torch.randint(0, 40, (2, 6), generator=torch.Generator().manual_seed(100 + rank))


def loss_of(model: torch.nn.Module, forward_model: torch.nn.Module, fishers: dict, rank: int) -> torch.Tensor:
    """Task loss through the (wrapped) model plus the penalty, as AlignGuardTrainer adds them."""
    ids = rank_batch(rank)
    return forward_model(input_ids=ids, labels=ids).loss + penalty_of(model, fishers)


def main() -> None:
    mode, out = sys.argv[1], Path(sys.argv[2])
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    model, fishers = build_model_and_fishers()
    if mode == "ddp":
        forward_model = torch.nn.parallel.DistributedDataParallel(model)
    elif mode in ("fsdp2", "fsdp2-keep-unsharded"):
        from torch.distributed.fsdp import fully_shard

        reshard = mode == "fsdp2"
        for h in find_lora_linears(model):
            fully_shard(h.module.lora_A[h.adapter], reshard_after_forward=reshard)
            fully_shard(h.module.lora_B[h.adapter], reshard_after_forward=reshard)
        forward_model = model
    else:
        raise ValueError(mode)
    loss = loss_of(model, forward_model, fishers, rank)
    loss.backward()
    tensors = {f"grad::{k}": v.contiguous() for k, v in lora_grads(model).items()}
    tensors["penalty"] = penalty_of(model, fishers).detach().reshape(1)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / f"rank{rank}.safetensors"))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
