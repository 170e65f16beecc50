"""Forward/backward hooks that feed the K-FAC accumulators during the Fisher pass.

A forward hook on each observed linear layer adds its (unpadded) input rows to the input statistic and
registers a tensor hook on its output that adds the output-gradient rows to the gradient statistic.
Layers reading the same input tensor (q/k/v, gate/up) share one input statistic.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from axolotl_agl.core.moments import MomentAccumulator, MomentFactory


@dataclass
class KFACAccumulator:
    """Running statistics of one layer: its input moment (possibly shared) and its gradient moment."""

    input_acc: MomentAccumulator | None
    grad_acc: MomentAccumulator
    input_source: str = ""


class _SeenInput:
    """An input tensor already accumulated in the current forward (weakly referenced: a freed tensor's
    memory may be reused by another tensor, which must not match)."""

    def __init__(self, x: torch.Tensor, acc: MomentAccumulator) -> None:
        self.ref = weakref.ref(x)
        self.key = _tensor_key(x)
        self.acc = acc

    def matches(self, x: torch.Tensor) -> bool:
        """Same live tensor, or a view of the same memory with the same layout, and not modified since."""
        seen = self.ref()
        if seen is None:
            return False
        key = _tensor_key(x)
        same_memory = key[0] is not None and key == self.key
        return (seen is x and self.key[-1] == key[-1]) or same_memory


def _tensor_key(x: torch.Tensor) -> tuple:
    try:
        pointer = x.data_ptr()
    except (RuntimeError, NotImplementedError):  # tensor subclasses without plain storage: identity only
        pointer = None
    return (pointer, tuple(x.shape), tuple(x.stride()), x.dtype, x.device, x._version)


@dataclass
class HookState:
    token_mask: torch.Tensor | None = None
    handles: list = field(default_factory=list)
    seen: list[_SeenInput] = field(default_factory=list)
    updated: set[int] = field(default_factory=set)
    members: dict[int, int] = field(default_factory=dict)

    def new_batch(self, token_mask: torch.Tensor | None) -> None:
        self.token_mask = token_mask
        self.seen.clear()
        self.updated.clear()


def _masked_rows(t: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    rows = t.detach().reshape(-1, t.shape[-1])
    return rows if mask is None else rows[mask.reshape(-1)]


@contextlib.contextmanager
def install_kfac_hooks(
    layers: dict[str, nn.Module],
    accumulators: dict[str, KFACAccumulator],
    factory: MomentFactory,
    share_inputs: bool = True,
) -> Iterator[HookState]:
    state = HookState()

    def accumulate_input(name: str, x: torch.Tensor) -> None:
        acc = accumulators[name]
        match = next((seen.acc for seen in state.seen if seen.matches(x)), None)
        if acc.input_acc is None:  # first forward through this layer: join a group or start one
            if share_inputs and match is not None:
                acc.input_acc = match
                acc.input_source = next(n for n, a in accumulators.items() if a.input_acc is match)
                state.members[id(match)] += 1
                return
            acc.input_acc = factory.new(in_features_of(layers[name]))
            acc.input_source = name
            state.members[id(acc.input_acc)] = 1
        elif match is acc.input_acc:
            return  # this exact tensor is already in the shared statistic
        elif state.members[id(acc.input_acc)] > 1 and id(acc.input_acc) in state.updated:
            group = sorted(n for n, a in accumulators.items() if a.input_acc is acc.input_acc)
            raise RuntimeError(
                f"AlignGuard Fisher pass: layers {group} read the same input on the first batch but not on a "
                f"later one ({name!r} saw another tensor); call collect_kfac_factors(..., share_inputs=False)"
            )
        acc.input_acc.add(_masked_rows(x, state.token_mask))
        state.updated.add(id(acc.input_acc))
        state.seen.append(_SeenInput(x, acc.input_acc))

    def make_hooks(name: str) -> None:
        grad_acc = accumulators[name].grad_acc

        def forward_hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            accumulate_input(name, inputs[0])
            mask = state.token_mask
            if output.requires_grad:

                def grad_hook(grad: torch.Tensor) -> None:
                    grad_acc.add(_masked_rows(grad, mask))

                output.register_hook(grad_hook)

        state.handles.append(layers[name].register_forward_hook(forward_hook))

    for layer_name in layers:
        make_hooks(layer_name)
    try:
        yield state
    finally:
        for handle in state.handles:
            handle.remove()


def differentiable_embeddings(model: nn.Module, store: list[torch.Tensor]) -> torch.utils.hooks.RemovableHandle:
    """Make activations differentiable even when every parameter is frozen; keep the leaf in ``store``."""

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        leaf = output.detach().requires_grad_(True)
        store.append(leaf)
        return leaf

    return model.get_input_embeddings().register_forward_hook(hook)


def in_features_of(layer: nn.Module) -> int:
    return int(layer.in_features)


def out_features_of(layer: nn.Module) -> int:
    return int(layer.out_features)
