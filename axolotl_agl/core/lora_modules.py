"""Finding the LoRA layers of a PEFT model and reading their factors."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

_PEFT_PREFIXES = ("base_model.model.", "module.")


@dataclass
class LoraHandle:
    """One LoRA-wrapped linear layer: ``ΔW = scale · B · A``.

    Keeps the module, not its parameters: FSDP2 replaces parameter objects after wrapping.
    """

    name: str
    module: nn.Module
    adapter: str

    @property
    def base_layer(self) -> nn.Module:
        return self.module.base_layer

    @property
    def scale(self) -> float:
        return float(self.module.scaling[self.adapter])

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(A, B)`` as full tensors (gathered from DTensor shards under FSDP2, differentiably)."""
        a = self.module.lora_A[self.adapter].weight
        b = self.module.lora_B[self.adapter].weight
        if hasattr(a, "full_tensor"):
            a = a.full_tensor()
        if hasattr(b, "full_tensor"):
            b = b.full_tensor()
        return a, b


def canonical_name(name: str) -> str:
    """Module name without PEFT / DDP wrapper prefixes, stable across wrapping."""
    changed = True
    while changed:
        changed = False
        for prefix in _PEFT_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                changed = True
    return name


def find_lora_linears(model: nn.Module) -> list[LoraHandle]:
    """Every LoRA layer of ``model`` that adapts a linear map, with its active adapter."""
    handles = []
    for name, module in model.named_modules():
        lora_a = getattr(module, "lora_A", None)
        if not isinstance(lora_a, nn.ModuleDict) or not hasattr(module, "base_layer"):
            continue
        active = getattr(module, "active_adapters", None) or list(lora_a.keys())
        adapter = active[0]
        if adapter in lora_a and isinstance(lora_a[adapter], nn.Linear):
            handles.append(LoraHandle(canonical_name(name), module, adapter))
    return handles
