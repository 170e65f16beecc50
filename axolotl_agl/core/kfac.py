"""The Fisher pass: K-FAC statistics of the LoRA-targeted layers on alignment data.

For every targeted linear layer ``y = W x`` we collect, over the alignment examples ``n`` and their
non-padding token positions ``t``:

* ``S = (1 / T) Σ_{n,t} x_nt x_ntᵀ``  — ``T`` is the number of non-padding tokens;
* ``G = (1 / N) Σ_{n,t} g_nt g_ntᵀ``  — ``g_nt = ∂ℓ_n / ∂y_nt`` and ``ℓ_n`` is example ``n``'s negative
  log-likelihood of its target (reply) tokens — summed or averaged, optionally only the first ``m`` reply
  tokens (:func:`per_example_reply_nll`); ``N`` is the number of examples.

``G ⊗ S`` is the "expand" K-FAC approximation of the empirical Fisher ``(1/N) Σ_n ∇ℓ_n ∇ℓ_nᵀ`` of
``W`` (exact when an example has one token). Gradients are taken per example — the batch loss is the
*sum* of the per-example losses, so each example's ``g`` is its own — never from a squared batch mean.

Statistics come from hooks on the *base* layers (the adapter is disabled), so frozen or 4-bit base
weights are fine: only activations need gradients. Under ``torch.distributed`` the sums and counts
are all-reduced, so every rank ends with the same factors.

**Scaling.** A factor of dimension ``d`` is accumulated either exactly (``d × d`` float sums) or, for wide
layers, as a streaming randomised sketch ``Y = M Ω`` with ``k + p`` columns plus the exact trace
``Σ ‖x‖²`` (:class:`~axolotl_agl.core.fisher_state.SketchedMoment`, summarised by the fixed-rank Nyström method
of Tropp et al. 2017), i.e. ``O(d·(k + p))`` memory. ``sketch="auto"`` (default) keeps factors with
``d ≤ exact_max_dim`` exact and sketches the others; ``"exact"`` / ``"sketch"`` force one kind. ``Ω`` is
drawn from a fixed seed on the CPU, so it is identical on every rank and sketches all-reduce by summing.

**Shared inputs.** Layers that read the *same input tensor* in a forward pass (q/k/v read the attention
input, gate/up the MLP input) share one input statistic: it is accumulated once per distinct input
(detected by tensor identity within each forward, fixed on the first batch and checked on every later
one), and every such layer's :class:`KFACFactors` refers to the same moment object.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from tqdm.auto import tqdm

from axolotl_agl.core.examples import TokenizedExample, length_sorted_batches, pad_batch
from axolotl_agl.core.fisher_state import SketchedMoment
from axolotl_agl.core.kfac_hooks import (
    HookState,
    KFACAccumulator,
    differentiable_embeddings,
    in_features_of,
    install_kfac_hooks,
    out_features_of,
)
from axolotl_agl.core.moments import (
    DEFAULT_SKETCH_PASSES,
    DEFAULT_SKETCH_RANK,
    EXACT_MAX_DIM,
    SKETCH_SEED,
    FisherSketchMode,
    MomentAccumulator,
    MomentFactory,
    SketchMomentAccumulator,
)
from axolotl_agl.core.nll import (
    per_example_reply_nll,
    per_example_reply_nll_at,
    reply_logit_positions,
    sample_model_labels,
)


@dataclass
class KFACFactors:
    """Normalised factors of one layer: ``S`` (inputs) and ``G`` (output gradients).

    Each moment is a dense ``d × d`` tensor or a :class:`~axolotl_agl.core.fisher_state.SketchedMoment`.
    Layers that read the same input share one ``input_moment`` object; ``input_source`` names the layer
    whose forward accumulated it and ``input_updates`` counts its accumulations (once per batch and pass).
    """

    input_moment: torch.Tensor | SketchedMoment
    grad_moment: torch.Tensor | SketchedMoment
    tokens: int
    examples: int
    input_source: str = ""
    input_updates: int = 0


@dataclass(frozen=True)
class FisherPassSettings:
    """Every setting of the Fisher pass, with its one default (the ``alignguard:`` keys map onto these).

    * ``fisher_type``: ``"mc"`` (default) draws each target token from the model (true Fisher, one Monte-Carlo
      sample per position, seeded so every pass and every run on the same data draws the same tokens; see
      :func:`~axolotl_agl.core.nll.sample_model_labels`); ``"empirical"`` takes the gradients of the data's own
      target tokens.
    * ``reduction`` and ``max_reply_tokens`` define each example's loss ``ℓ_n``
      (:func:`~axolotl_agl.core.nll.per_example_reply_nll`): the reply's summed NLL by default.
    * ``sketch`` (``"auto"`` | ``"exact"`` | ``"sketch"``) chooses exact ``d × d`` sums or streaming sketches with
      ``rank_k + oversample`` columns (default oversampling :func:`~axolotl_agl.core.moments.default_oversample`);
      ``"auto"`` sketches factors wider than ``exact_max_dim``. Summarise with the same ``rank_k`` (or smaller).
    * ``sketch_passes`` passes over the data refine the sketches by subspace iteration (only when some factor is
      sketched; exact sums, traces and counts come from the first pass). One pass is a pure streaming sketch; two
      (default) make the summary accurate on the slowly decaying spectra of real models (``docs/method.md`` §1).
    * ``share_inputs`` accumulates one input statistic per distinct input tensor (q/k/v, gate/up).
    * ``batch_size`` examples per forward/backward; ``seed`` seeds the sketches' test matrices and the MC labels.
    """

    batch_size: int = 4
    fisher_type: Literal["mc", "empirical"] = "mc"
    reduction: Literal["sum", "mean"] = "sum"
    max_reply_tokens: int | None = None
    sketch: FisherSketchMode = "auto"
    rank_k: int = DEFAULT_SKETCH_RANK
    oversample: int | None = None
    exact_max_dim: int = EXACT_MAX_DIM
    sketch_passes: int = DEFAULT_SKETCH_PASSES
    share_inputs: bool = True
    seed: int = SKETCH_SEED

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.sketch_passes < 1:
            raise ValueError(f"sketch_passes must be >= 1, got {self.sketch_passes}")
        if self.fisher_type not in ("empirical", "mc"):
            raise ValueError(f"fisher_type must be 'empirical' or 'mc', got {self.fisher_type!r}")
        if self.reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', got {self.reduction!r}")
        if self.max_reply_tokens is not None and self.max_reply_tokens < 1:
            raise ValueError(f"max_reply_tokens must be >= 1 or None, got {self.max_reply_tokens}")
        if self.sketch not in ("auto", "exact", "sketch"):
            raise ValueError(f"sketch must be 'auto', 'exact' or 'sketch', got {self.sketch!r}")


def collect_kfac_factors(
    model: nn.Module,
    layers: dict[str, nn.Module],
    examples: list[TokenizedExample],
    pad_id: int,
    settings: FisherPassSettings | None = None,
    show_progress: bool = True,
) -> dict[str, KFACFactors]:
    """Run ``model`` over ``examples`` and return each layer's normalised K-FAC factors.

    ``layers`` maps names to the linear modules to observe (for a PEFT model: the ``base_layer`` of
    each LoRA layer; disable the adapter around this call). Batches are formed by length (shortest first), which
    changes nothing but the padding. Examples are split across ranks when
    ``torch.distributed`` is initialised and the statistics are summed over ranks. ``settings``: see
    :class:`FisherPassSettings` (its defaults when None).
    """
    s = settings or FisherPassSettings()
    batch_size, sketch, rank_k, oversample = s.batch_size, s.sketch, s.rank_k, s.oversample
    exact_max_dim, share_inputs, seed, sketch_passes = s.exact_max_dim, s.share_inputs, s.seed, s.sketch_passes
    fisher_type, reduction, max_reply_tokens = s.fisher_type, s.reduction, s.max_reply_tokens
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    first_param = next(model.parameters())
    device = first_param.device
    # float32 sums for 16-bit/4-bit models, float64 sums for a float64 model.
    dtype = torch.promote_types(first_param.dtype, torch.float32) if first_param.is_floating_point() else torch.float32
    factory = MomentFactory(sketch, rank_k, oversample, exact_max_dim, dtype, device, seed)
    accumulators = {
        name: KFACAccumulator(input_acc=None, grad_acc=factory.new(out_features_of(layer)))
        for name, layer in layers.items()
    }
    local = examples[rank::world]
    was_training = model.training
    model.eval()
    try:
        with install_kfac_hooks(layers, accumulators, factory, share_inputs) as state:
            kinds = {
                "fisher_type": fisher_type,
                "label_seed": seed,
                "loss_kind": (reduction, max_reply_tokens),
            }
            tokens, examples_seen = _fisher_pass(
                model, local, pad_id, batch_size, device, state, show_progress, rank, **kinds
            )
            _fill_unseen_inputs(layers, accumulators, factory)
            if distributed:
                _agree_on_input_groups(layers, accumulators, factory, rank_had_data=bool(local))
                tokens, examples_seen = _all_reduce_accumulators(accumulators, tokens, examples_seen, device)
            sketches = _distinct_sketches(accumulators)
            for pass_index in range(2, sketch_passes + 1):
                if not sketches:
                    break
                for moment in _distinct_moments(accumulators):
                    moment.next_pass()
                need_grad = any(isinstance(acc.grad_acc, SketchMomentAccumulator) for acc in accumulators.values())
                label = f"{pass_index}/{sketch_passes}"
                _fisher_pass(
                    model, local, pad_id, batch_size, device, state, show_progress, rank, label, need_grad, **kinds
                )
                if distributed:
                    _all_reduce_accumulators(accumulators, tokens, examples_seen, device)
    finally:
        model.train(was_training)
    moments: dict[int, torch.Tensor | SketchedMoment] = {}
    factors = {}
    for name, acc in accumulators.items():
        if id(acc.input_acc) not in moments:
            moments[id(acc.input_acc)] = acc.input_acc.result(tokens)
        factors[name] = KFACFactors(
            input_moment=moments[id(acc.input_acc)],
            grad_moment=acc.grad_acc.result(examples_seen),
            tokens=tokens,
            examples=examples_seen,
            input_source=acc.input_source,
            input_updates=acc.input_acc.updates,
        )
    return factors


def _fisher_pass(
    model: nn.Module,
    local: list[TokenizedExample],
    pad_id: int,
    batch_size: int,
    device: torch.device,
    state: HookState,
    show_progress: bool,
    rank: int,
    label: str = "",
    need_grad: bool = True,
    fisher_type: str = "mc",
    label_seed: int = 0,
    loss_kind: tuple = ("mean", None),
) -> tuple[int, int]:
    """One pass over this rank's examples with the hooks installed; returns (tokens, examples) seen.

    With ``fisher_type="mc"`` the target tokens are re-drawn from the model, seeded by ``label_seed`` and
    each example's index in the whole data set (the same labels in every pass, for any batch size or
    number of ranks); ``"empirical"`` uses the data's own tokens. ``loss_kind`` is
    ``(reduction, max_reply_tokens)`` of :func:`per_example_reply_nll`. With the empirical Fisher, a model that
    takes ``logits_to_keep`` computes logits only at the positions that predict a counted reply token (the loss and
    its gradients are the same; tested); Monte-Carlo labels keep every position's logits, so the tokens drawn stay
    those of earlier passes.
    """
    reduction, max_reply_tokens = loss_kind
    tokens = examples_seen = 0
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    leaves: list[torch.Tensor] = []
    keeps_logits = accepts_logits_to_keep(model)
    embed_handle = differentiable_embeddings(model, leaves)
    try:
        batches = length_sorted_batches(local, batch_size)
        desc = f"AlignGuard Fisher pass {label}".rstrip()
        for indices in tqdm(batches, desc=desc, disable=not show_progress or rank != 0):
            batch = pad_batch([local[i] for i in indices], pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            state.new_batch(batch["attention_mask"].bool())
            leaves.clear()
            inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
            labels = batch["labels"]
            with torch.set_grad_enabled(need_grad):
                if not need_grad:  # a pass for the input statistics only: no logits are needed
                    model(**inputs, **({"logits_to_keep": 1} if keeps_logits else {}))
                elif fisher_type == "empirical" and keeps_logits:
                    positions = reply_logit_positions(labels, max_reply_tokens)
                    logits = model(**inputs, logits_to_keep=positions).logits
                    nll = per_example_reply_nll_at(logits, labels, positions, reduction, max_reply_tokens)
                    torch.autograd.grad(nll.sum(), leaves)  # fires the gradient hooks; no parameter .grad
                else:
                    logits = model(**inputs).logits
                    if fisher_type == "mc":
                        # One generator per example, seeded by its index in the whole data set.
                        global_index = [rank + world * i for i in indices]
                        gens = [torch.Generator().manual_seed(label_seed * 1_000_003 + i) for i in global_index]
                        labels = sample_model_labels(logits, labels, gens)
                    # Sum of per-example losses: each example's output gradients are its own.
                    loss = per_example_reply_nll(logits, labels, reduction, max_reply_tokens).sum()
                    torch.autograd.grad(loss, leaves)  # fires the gradient hooks; no parameter .grad
            tokens += int(state.token_mask.sum())
            examples_seen += batch["input_ids"].shape[0]
            state.new_batch(None)  # drop the references to this batch's inputs
    finally:
        embed_handle.remove()
    return tokens, examples_seen


def accepts_logits_to_keep(model: nn.Module) -> bool:
    """True when ``model``'s forward (the wrapped model's, for PEFT) takes Hugging Face's ``logits_to_keep``."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(inner.forward).parameters
    except (TypeError, ValueError):
        return False


def _distinct_moments(accumulators: dict[str, KFACAccumulator]) -> list[MomentAccumulator]:
    """Every distinct statistic, in a rank-independent order (input then gradient, layer by layer)."""
    seen: dict[int, MomentAccumulator] = {}
    for acc in accumulators.values():
        for moment in (acc.input_acc, acc.grad_acc):
            if moment is not None:
                seen.setdefault(id(moment), moment)
    return list(seen.values())


def _distinct_sketches(accumulators: dict[str, KFACAccumulator]) -> list[SketchMomentAccumulator]:
    return [m for m in _distinct_moments(accumulators) if isinstance(m, SketchMomentAccumulator)]


def _fill_unseen_inputs(
    layers: dict[str, nn.Module], accumulators: dict[str, KFACAccumulator], factory: MomentFactory
) -> None:
    """Zero input statistics for layers no forward reached (e.g. a rank with no examples)."""
    for name, acc in accumulators.items():
        if acc.input_acc is None:
            acc.input_acc = factory.new(in_features_of(layers[name]))
            acc.input_source = name


def _input_groups(accumulators: dict[str, KFACAccumulator]) -> dict[str, str]:
    return {name: acc.input_source for name, acc in accumulators.items()}


def _agree_on_input_groups(
    layers: dict[str, nn.Module], accumulators: dict[str, KFACAccumulator], factory: MomentFactory, rank_had_data: bool
) -> None:
    """Make every rank use rank 0's input groups, so the all-reduces below line up.

    Rank 0 always has data (it takes the first example); a rank without examples saw no forward and
    adopts rank 0's groups with zero statistics. Ranks that saw data but grouped differently are an error.
    """
    groups = [_input_groups(accumulators)]
    torch.distributed.broadcast_object_list(groups, src=0)
    reference = groups[0]
    if reference == _input_groups(accumulators):
        return
    if rank_had_data:
        raise RuntimeError("AlignGuard Fisher pass: ranks found different shared-input groups; use share_inputs=False")
    sources: dict[str, MomentAccumulator] = {}
    for name in accumulators:
        source = reference[name]
        if source not in sources:
            sources[source] = factory.new(in_features_of(layers[source]))
        accumulators[name].input_acc = sources[source]
        accumulators[name].input_source = source


def _all_reduce_accumulators(
    accumulators: dict[str, KFACAccumulator], tokens: int, examples: int, device: torch.device
) -> tuple[int, int]:
    """Sum every distinct statistic (dense sums, or sketches ``Y`` and traces) and the counts over ranks."""
    backend_device = device if torch.distributed.get_backend() != "gloo" else torch.device("cpu")
    for moment in _distinct_moments(accumulators):  # the same order on every rank
        reduced = []
        for tensor in moment.state_tensors():
            home = tensor.device
            tensor = tensor.to(backend_device)
            torch.distributed.all_reduce(tensor)
            reduced.append(tensor.to(home))
        moment.set_state_tensors(reduced)
    counts = torch.tensor([tokens, examples], dtype=torch.float64, device=backend_device)
    torch.distributed.all_reduce(counts)
    return int(counts[0]), int(counts[1])
