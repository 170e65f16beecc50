"""The Fisher pass: K-FAC statistics of the LoRA-targeted layers on alignment data.

For every targeted linear layer ``y = W x`` we collect, over the alignment examples ``n`` and their
non-padding token positions ``t``:

* ``S = (1 / T) Σ_{n,t} x_nt x_ntᵀ``  — ``T`` is the number of non-padding tokens;
* ``G = (1 / N) Σ_{n,t} g_nt g_ntᵀ``  — ``g_nt = ∂ℓ_n / ∂y_nt`` and ``ℓ_n`` is example ``n``'s mean
  negative log-likelihood over its target (reply) tokens; ``N`` is the number of examples.

``G ⊗ S`` is the "expand" K-FAC approximation of the empirical Fisher ``(1/N) Σ_n ∇ℓ_n ∇ℓ_nᵀ`` of
``W`` (exact when an example has one token). Gradients are taken per example — the batch loss is the
*sum* of the per-example losses, so each example's ``g`` is its own — never from a squared batch mean.

Statistics come from hooks on the *base* layers (the adapter is disabled), so frozen or 4-bit base
weights are fine: only activations need gradients. Under ``torch.distributed`` the sums and counts
are all-reduced, so every rank ends with the same factors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from axolotl_agl.alignment_data import IGNORE_INDEX, TokenizedExample
from axolotl_agl.fisher_state import ModuleFisher, low_rank_factor_from_dense


@dataclass
class KFACAccumulator:
    """Running sums for one layer (float32 unless told otherwise)."""

    input_sum: torch.Tensor
    grad_sum: torch.Tensor
    tokens: int = 0
    examples: int = 0

    @classmethod
    def zeros(cls, d_in: int, d_out: int, dtype: torch.dtype = torch.float32) -> KFACAccumulator:
        return cls(torch.zeros(d_in, d_in, dtype=dtype), torch.zeros(d_out, d_out, dtype=dtype))


@dataclass
class KFACFactors:
    """Normalised factors of one layer: ``S`` (inputs) and ``G`` (output gradients)."""

    input_moment: torch.Tensor
    grad_moment: torch.Tensor
    tokens: int
    examples: int


@dataclass
class _HookState:
    token_mask: torch.Tensor | None = None
    handles: list = field(default_factory=list)


def per_example_mean_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token NLL over each example's target tokens, shape ``(batch,)``."""
    shift_logits = logits[:, :-1]
    if torch.finfo(shift_logits.dtype).bits < 32:
        shift_logits = shift_logits.float()
    shift_labels = labels[:, 1:]
    mask = shift_labels != IGNORE_INDEX
    nll = torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]),
        shift_labels.clamp_min(0).reshape(-1),
        reduction="none",
    ).view_as(shift_labels)
    return (nll * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1)


def pad_batch(examples: list[TokenizedExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; ``attention_mask`` marks real tokens."""
    length = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), length), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


@contextlib.contextmanager
def _kfac_hooks(layers: dict[str, nn.Module], accumulators: dict[str, KFACAccumulator]) -> Iterator[_HookState]:
    state = _HookState()

    def make_hooks(name: str) -> None:
        acc = accumulators[name]

        def forward_hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            x = inputs[0].detach().to(acc.input_sum.dtype)
            mask = state.token_mask
            x = x.reshape(-1, x.shape[-1])
            if mask is not None:
                x = x[mask.reshape(-1)]
            acc.input_sum += (x.T @ x).to(acc.input_sum.device)
            if output.requires_grad:

                def grad_hook(grad: torch.Tensor) -> None:
                    g = grad.detach().to(acc.grad_sum.dtype).reshape(-1, grad.shape[-1])
                    if mask is not None:
                        g = g[mask.reshape(-1)]
                    acc.grad_sum += (g.T @ g).to(acc.grad_sum.device)

                output.register_hook(grad_hook)

        state.handles.append(layers[name].register_forward_hook(forward_hook))

    for layer_name in layers:
        make_hooks(layer_name)
    try:
        yield state
    finally:
        for handle in state.handles:
            handle.remove()


def _differentiable_embeddings(model: nn.Module, store: list[torch.Tensor]) -> torch.utils.hooks.RemovableHandle:
    """Make activations differentiable even when every parameter is frozen; keep the leaf in ``store``."""

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        leaf = output.detach().requires_grad_(True)
        store.append(leaf)
        return leaf

    return model.get_input_embeddings().register_forward_hook(hook)


def collect_kfac_factors(
    model: nn.Module,
    layers: dict[str, nn.Module],
    examples: list[TokenizedExample],
    pad_id: int,
    batch_size: int = 4,
    show_progress: bool = True,
) -> dict[str, KFACFactors]:
    """Run ``model`` over ``examples`` and return each layer's normalised K-FAC factors.

    ``layers`` maps names to the linear modules to observe (for a PEFT model: the ``base_layer`` of
    each LoRA layer; disable the adapter around this call). Examples are split across ranks when
    ``torch.distributed`` is initialised and the statistics are summed over ranks.
    """
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    first_param = next(model.parameters())
    device = first_param.device
    # float32 sums for 16-bit/4-bit models, float64 sums for a float64 model.
    dtype = torch.promote_types(first_param.dtype, torch.float32) if first_param.is_floating_point() else torch.float32
    accumulators = {
        name: KFACAccumulator.zeros(_in_features(layer), _out_features(layer), dtype) for name, layer in layers.items()
    }
    local = examples[rank::world]
    was_training = model.training
    model.eval()
    leaves: list[torch.Tensor] = []
    embed_handle = _differentiable_embeddings(model, leaves)
    try:
        with _kfac_hooks(layers, accumulators) as state:
            batches = range(0, len(local), batch_size)
            for start in tqdm(batches, desc="AlignGuard Fisher pass", disable=not show_progress or rank != 0):
                batch = pad_batch(local[start : start + batch_size], pad_id)
                batch = {k: v.to(device) for k, v in batch.items()}
                state.token_mask = batch["attention_mask"].bool()
                leaves.clear()
                with torch.enable_grad():
                    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                    # Sum of per-example losses: each example's output gradients are its own.
                    loss = per_example_mean_nll(logits, batch["labels"]).sum()
                    torch.autograd.grad(loss, leaves)  # fires the gradient hooks; no parameter .grad
                tokens = int(state.token_mask.sum())
                for acc in accumulators.values():
                    acc.tokens += tokens
                    acc.examples += batch["input_ids"].shape[0]
    finally:
        embed_handle.remove()
        model.train(was_training)
    if distributed:
        _all_reduce_accumulators(accumulators, device)
    return {
        name: KFACFactors(
            input_moment=acc.input_sum / max(acc.tokens, 1),
            grad_moment=acc.grad_sum / max(acc.examples, 1),
            tokens=acc.tokens,
            examples=acc.examples,
        )
        for name, acc in accumulators.items()
    }


def _all_reduce_accumulators(accumulators: dict[str, KFACAccumulator], device: torch.device) -> None:
    backend_device = device if torch.distributed.get_backend() != "gloo" else torch.device("cpu")
    for acc in accumulators.values():
        for tensor_name in ("input_sum", "grad_sum"):
            tensor = getattr(acc, tensor_name).to(backend_device)
            torch.distributed.all_reduce(tensor)
            setattr(acc, tensor_name, tensor.cpu())
        counts = torch.tensor([acc.tokens, acc.examples], dtype=torch.float64, device=backend_device)
        torch.distributed.all_reduce(counts)
        acc.tokens, acc.examples = int(counts[0]), int(counts[1])


def _in_features(layer: nn.Module) -> int:
    return int(layer.in_features)


def _out_features(layer: nn.Module) -> int:
    return int(layer.out_features)


def summarise_factors(factors: dict[str, KFACFactors], k: int) -> dict[str, ModuleFisher]:
    """Top-``k`` eigen-summary of each layer's factors (see :class:`ModuleFisher`)."""
    summary = {}
    for name, f in factors.items():
        d_in, d_out = f.input_moment.shape[0], f.grad_moment.shape[0]
        if k > min(d_in, d_out):
            raise ValueError(
                f"alignguard.rank_k={k} is larger than module {name!r} (d_in={d_in}, d_out={d_out}); "
                f"set alignguard.rank_k <= {min(d_in, d_out)}"
            )
        summary[name] = ModuleFisher(
            output_factor=low_rank_factor_from_dense(f.grad_moment, k),
            input_factor=low_rank_factor_from_dense(f.input_moment, k),
        )
    return summary
