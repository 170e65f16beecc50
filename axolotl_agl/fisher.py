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
``Σ ‖x‖²`` (:class:`~axolotl_agl.fisher_state.SketchedMoment`, summarised by the fixed-rank Nyström method
of Tropp et al. 2017), i.e. ``O(d·(k + p))`` memory. ``sketch="auto"`` (default) keeps factors with
``d ≤ exact_max_dim`` exact and sketches the others; ``"exact"`` / ``"sketch"`` force one kind. ``Ω`` is
drawn from a fixed seed on the CPU, so it is identical on every rank and sketches all-reduce by summing.

**Shared inputs.** Layers that read the *same input tensor* in a forward pass (q/k/v read the attention
input, gate/up the MLP input) share one input statistic: it is accumulated once per distinct input
(detected by tensor identity within each forward, fixed on the first batch and checked on every later
one), and every such layer's :class:`KFACFactors` refers to the same moment object.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from tqdm.auto import tqdm

from axolotl_agl.alignment_data import IGNORE_INDEX, TokenizedExample
from axolotl_agl.fisher_state import (
    ModuleFisher,
    SketchedMoment,
    clone_factor,
    low_rank_factor,
    orthonormal_test_matrix,
)

FisherSketchMode = Literal["auto", "exact", "sketch"]

#: Under ``sketch="auto"``, factors up to this dimension are accumulated exactly (2048² float32 = 16 MiB).
EXACT_MAX_DIM = 2048
#: Default ``k`` the sketch is sized for (``alignguard.rank_k``'s default).
DEFAULT_SKETCH_RANK = 32
#: Seed of the sketches' test matrices (identical on every rank).
SKETCH_SEED = 20170601
#: Passes over the alignment data when some factor is sketched (1 streaming pass + 1 subspace iteration).
DEFAULT_SKETCH_PASSES = 2


def default_oversample(k: int) -> int:
    """Default oversampling ``p`` of a sketch for rank ``k``: ``max(10, k)``, i.e. ``l = max(k + 10, 2k)`` columns.

    Without power iterations (a single streaming pass cannot do them), the accuracy of the top-``k``
    subspace depends on the oversampling; ``p = k`` costs ``O(d·2k)`` memory, still tiny next to ``d²``.
    """
    return max(10, k)


def sketch_width(dim: int, k: int, oversample: int | None = None) -> int:
    """Columns of a sketch of a ``dim``-dimensional factor: ``k + p``, at most ``dim``."""
    p = default_oversample(k) if oversample is None else oversample
    if p < 0:
        raise ValueError(f"oversample must be >= 0, got {p}")
    return min(dim, k + p)


def uses_sketch(dim: int, mode: FisherSketchMode, width: int, exact_max_dim: int = EXACT_MAX_DIM) -> bool:
    """Whether a ``dim``-dimensional factor is sketched (``True``) or accumulated exactly.

    ``"exact"``: never; ``"sketch"``: whenever the sketch is narrower than the matrix (a sketch as wide as
    the matrix would hold as many numbers as the matrix); ``"auto"``: when ``dim > exact_max_dim`` too.
    """
    if mode not in ("auto", "exact", "sketch"):
        raise ValueError(f"sketch must be 'auto', 'exact' or 'sketch', got {mode!r}")
    if mode == "exact" or width >= dim:
        return False
    return mode == "sketch" or dim > exact_max_dim


class DenseMomentAccumulator:
    """Exact running sum ``Σ x xᵀ`` (``d × d``), kept on the CPU like the original Fisher pass."""

    def __init__(self, dim: int, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        self.sum = torch.zeros(dim, dim, dtype=dtype, device=device)
        self.updates = 0
        self.complete = False  # set after the first pass: later passes do not touch an exact sum

    @property
    def nbytes(self) -> int:
        return self.sum.numel() * self.sum.element_size()

    def add(self, rows: torch.Tensor) -> None:
        """Add ``rowsᵀ rows`` for ``rows`` of shape ``(n, d)``."""
        if self.complete:
            return
        rows = rows.to(self.sum.dtype)
        self.sum += (rows.T @ rows).to(self.sum.device)
        self.updates += 1

    def next_pass(self) -> None:
        self.complete = True

    def state_tensors(self) -> list[torch.Tensor]:
        """The tensors summed over ranks after the current pass (none once complete)."""
        return [] if self.complete else [self.sum]

    def set_state_tensors(self, tensors: list[torch.Tensor]) -> None:
        if tensors:
            (self.sum,) = tensors

    def result(self, count: int) -> torch.Tensor:
        return self.sum / max(count, 1)


class SketchMomentAccumulator:
    """Streaming sketch ``Y = Σ x (xᵀ Ω)`` (``d × l``) and exact trace ``Σ ‖x‖²`` of ``M = Σ x xᵀ``.

    The first pass uses the seeded ``Ω`` shared with every other sketch of the same dimension (its memory
    is not counted in :attr:`nbytes`). :meth:`next_pass` turns the sketch into its own orthonormal basis,
    ``Ω ← orth(Y)``, and restarts ``Y``: a pass over the data with that ``Ω`` is one step of subspace
    (power) iteration, so after ``q + 1`` passes ``Y = M·orth(M^q Ω)`` (Halko, Martinsson & Tropp 2011,
    Alg. 4.4; Nyström with power iterations: Gittens & Mahoney 2016). The trace is summed in the first
    pass only. Each update costs ``O(n·d·l)`` instead of ``O(n·d²)``.
    """

    def __init__(self, test_matrix: torch.Tensor) -> None:
        self.test_matrix = test_matrix
        self.sketch = torch.zeros_like(test_matrix)
        self.trace = torch.zeros((), dtype=test_matrix.dtype, device=test_matrix.device)
        self.updates = 0
        self.passes = 1

    @property
    def nbytes(self) -> int:
        return (self.sketch.numel() + 1) * self.sketch.element_size()

    def add(self, rows: torch.Tensor) -> None:
        rows = rows.to(device=self.sketch.device, dtype=self.sketch.dtype)
        self.sketch += rows.T @ (rows @ self.test_matrix)
        if self.passes == 1:
            self.trace += rows.square().sum()
        self.updates += 1

    def next_pass(self) -> None:
        """``Ω ← orth(Y)`` (float64 QR, deterministic: identical on every rank after the all-reduce), ``Y ← 0``."""
        q, r = torch.linalg.qr(self.sketch.to(torch.float64))
        signs = torch.sign(torch.diagonal(r))
        q = q * torch.where(signs == 0, torch.ones_like(signs), signs)
        self.test_matrix = q.to(self.sketch.dtype).contiguous()
        self.sketch = torch.zeros_like(self.sketch)
        self.passes += 1

    def state_tensors(self) -> list[torch.Tensor]:
        """The tensors summed over ranks after the current pass (the trace only after the first)."""
        return [self.sketch, self.trace] if self.passes == 1 else [self.sketch]

    def set_state_tensors(self, tensors: list[torch.Tensor]) -> None:
        if self.passes == 1:
            self.sketch, self.trace = tensors
        else:
            (self.sketch,) = tensors

    def result(self, count: int) -> SketchedMoment:
        n = max(count, 1)
        return SketchedMoment(self.sketch / n, self.test_matrix, self.trace / n)


MomentAccumulator = DenseMomentAccumulator | SketchMomentAccumulator


class MomentFactory:
    """Creates exact or sketched accumulators; one shared test matrix per (dimension, device)."""

    def __init__(
        self,
        mode: FisherSketchMode = "auto",
        rank_k: int = DEFAULT_SKETCH_RANK,
        oversample: int | None = None,
        exact_max_dim: int = EXACT_MAX_DIM,
        dtype: torch.dtype = torch.float32,
        sketch_device: torch.device | str = "cpu",
        seed: int = SKETCH_SEED,
    ) -> None:
        if rank_k < 1:
            raise ValueError(f"rank_k must be >= 1, got {rank_k}")
        uses_sketch(1, mode, 1)  # validates mode
        self.mode, self.rank_k, self.oversample = mode, rank_k, oversample
        self.exact_max_dim, self.dtype, self.sketch_device, self.seed = exact_max_dim, dtype, sketch_device, seed
        self._test_matrices: dict[tuple[int, int, str], torch.Tensor] = {}

    def width(self, dim: int) -> int:
        return sketch_width(dim, self.rank_k, self.oversample)

    def sketched(self, dim: int) -> bool:
        return uses_sketch(dim, self.mode, self.width(dim), self.exact_max_dim)

    def test_matrix(self, dim: int) -> torch.Tensor:
        """``Ω`` for dimension ``dim`` (seeded by ``seed`` and ``dim``: the same on every rank)."""
        width = self.width(dim)
        key = (dim, width, str(self.sketch_device))
        if key not in self._test_matrices:
            self._test_matrices[key] = orthonormal_test_matrix(
                dim, width, self.seed + dim, self.dtype, self.sketch_device
            )
        return self._test_matrices[key]

    def new(self, dim: int) -> MomentAccumulator:
        if self.sketched(dim):
            return SketchMomentAccumulator(self.test_matrix(dim))
        return DenseMomentAccumulator(dim, self.dtype)


@dataclass
class KFACAccumulator:
    """Running statistics of one layer: its input moment (possibly shared) and its gradient moment."""

    input_acc: MomentAccumulator | None
    grad_acc: MomentAccumulator
    input_source: str = ""


@dataclass
class KFACFactors:
    """Normalised factors of one layer: ``S`` (inputs) and ``G`` (output gradients).

    Each moment is a dense ``d × d`` tensor or a :class:`~axolotl_agl.fisher_state.SketchedMoment`.
    Layers that read the same input share one ``input_moment`` object; ``input_source`` names the layer
    whose forward accumulated it and ``input_updates`` counts its accumulations (once per batch and pass).
    """

    input_moment: torch.Tensor | SketchedMoment
    grad_moment: torch.Tensor | SketchedMoment
    tokens: int
    examples: int
    input_source: str = ""
    input_updates: int = 0


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
class _HookState:
    token_mask: torch.Tensor | None = None
    handles: list = field(default_factory=list)
    seen: list[_SeenInput] = field(default_factory=list)
    updated: set[int] = field(default_factory=set)
    members: dict[int, int] = field(default_factory=dict)

    def new_batch(self, token_mask: torch.Tensor | None) -> None:
        self.token_mask = token_mask
        self.seen.clear()
        self.updated.clear()


def reply_token_mask(labels: torch.Tensor, max_reply_tokens: int | None = None) -> torch.Tensor:
    """Mask of the next-token targets (shape ``labels[:, 1:]``), cut to each example's first ``max_reply_tokens``."""
    mask = labels[:, 1:] != IGNORE_INDEX
    if max_reply_tokens is not None:
        mask = mask & (mask.cumsum(dim=1) <= max_reply_tokens)
    return mask


def per_example_reply_nll(
    logits: torch.Tensor,
    labels: torch.Tensor,
    reduction: Literal["sum", "mean"] = "sum",
    max_reply_tokens: int | None = None,
) -> torch.Tensor:
    """Next-token NLL of each example's target (reply) tokens.

    ``reduction="sum"`` gives the negative log-likelihood of the reply (of its first ``max_reply_tokens``
    tokens when set): its Fisher is the Hessian of the KL divergence between the reply *distributions*,
    in nats per reply. ``"mean"`` divides by the number of target tokens. Shape ``(batch,)``.
    """
    shift_logits = logits[:, :-1]
    if torch.finfo(shift_logits.dtype).bits < 32:
        shift_logits = shift_logits.float()
    shift_labels = labels[:, 1:]
    mask = reply_token_mask(labels, max_reply_tokens)
    nll = torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.shape[-1]),
        shift_labels.clamp_min(0).reshape(-1),
        reduction="none",
    ).view_as(shift_labels)
    total = (nll * mask).sum(dim=1)
    return total if reduction == "sum" else total / mask.sum(dim=1).clamp_min(1)


def per_example_mean_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token NLL over each example's target tokens, shape ``(batch,)``."""
    return per_example_reply_nll(logits, labels, reduction="mean")


def sample_model_labels(
    logits: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator | list[torch.Generator],
) -> torch.Tensor:
    """Replace every target token by a token drawn from the model's own next-token distribution.

    ``generator`` is one generator, or one per row (then each example's draw depends only on its own
    generator, so the Fisher does not depend on how examples are split into batches or across ranks).

    With these labels the per-example gradients give the *true* Fisher (Monte-Carlo, one sample per
    position), ``E_{y~p_θ}[∇log p_θ(y) ∇log p_θ(y)ᵀ]``: the Hessian of the KL divergence between the
    model before and after an update, which does not vanish where the model already fits its data
    (the empirical Fisher does).
    """
    with torch.no_grad():
        probs = torch.softmax(logits[:, :-1].float(), dim=-1)
        if isinstance(generator, list):
            rows = [
                torch.multinomial(row.cpu(), 1, generator=gen).squeeze(1)
                for row, gen in zip(probs, generator, strict=True)
            ]
            drawn = torch.stack(rows).to(labels.device)
        else:
            flat = probs.reshape(-1, probs.shape[-1]).cpu()
            drawn = torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1]).to(labels.device)
    sampled = labels.clone()
    targets = labels[:, 1:] != IGNORE_INDEX
    sampled[:, 1:] = torch.where(targets, drawn, labels[:, 1:])
    return sampled


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


def _masked_rows(t: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    rows = t.detach().reshape(-1, t.shape[-1])
    return rows if mask is None else rows[mask.reshape(-1)]


@contextlib.contextmanager
def _kfac_hooks(
    layers: dict[str, nn.Module],
    accumulators: dict[str, KFACAccumulator],
    factory: MomentFactory,
    share_inputs: bool = True,
) -> Iterator[_HookState]:
    state = _HookState()

    def accumulate_input(name: str, x: torch.Tensor) -> None:
        acc = accumulators[name]
        match = next((seen.acc for seen in state.seen if seen.matches(x)), None)
        if acc.input_acc is None:  # first forward through this layer: join a group or start one
            if share_inputs and match is not None:
                acc.input_acc = match
                acc.input_source = next(n for n, a in accumulators.items() if a.input_acc is match)
                state.members[id(match)] += 1
                return
            acc.input_acc = factory.new(_in_features(layers[name]))
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
    sketch: FisherSketchMode = "auto",
    rank_k: int = DEFAULT_SKETCH_RANK,
    oversample: int | None = None,
    exact_max_dim: int = EXACT_MAX_DIM,
    share_inputs: bool = True,
    seed: int = SKETCH_SEED,
    sketch_passes: int = DEFAULT_SKETCH_PASSES,
    fisher_type: str = "empirical",
    reduction: Literal["sum", "mean"] = "mean",
    max_reply_tokens: int | None = None,
) -> dict[str, KFACFactors]:
    """Run ``model`` over ``examples`` and return each layer's normalised K-FAC factors.

    ``fisher_type``: ``"empirical"`` takes the gradients of the data's own target tokens; ``"mc"`` draws
    each target token from the model (true Fisher, one Monte-Carlo sample per position, seeded so every
    pass and every run on the same data draws the same tokens). See :func:`sample_model_labels`.
    ``reduction`` and ``max_reply_tokens`` define each example's loss ``ℓ_n`` (:func:`per_example_reply_nll`).

    ``layers`` maps names to the linear modules to observe (for a PEFT model: the ``base_layer`` of
    each LoRA layer; disable the adapter around this call). Examples are split across ranks when
    ``torch.distributed`` is initialised and the statistics are summed over ranks.

    ``sketch`` (``"auto"`` | ``"exact"`` | ``"sketch"``) chooses exact ``d × d`` sums or streaming sketches
    with ``rank_k + oversample`` columns (default oversampling :func:`default_oversample`); ``"auto"``
    sketches factors wider than ``exact_max_dim``. Summarise with the same ``rank_k`` (or smaller).
    ``sketch_passes`` passes over the data refine the sketches by subspace iteration (only when some
    factor is sketched; exact sums, traces and counts come from the first pass). One pass is a pure
    streaming sketch; two (default) make the summary accurate on the slowly decaying spectra of real
    models (``docs/method.md`` §1). ``share_inputs`` accumulates one input statistic per distinct input
    tensor (q/k/v, gate/up).
    """
    if sketch_passes < 1:
        raise ValueError(f"sketch_passes must be >= 1, got {sketch_passes}")
    if fisher_type not in ("empirical", "mc"):
        raise ValueError(f"fisher_type must be 'empirical' or 'mc', got {fisher_type!r}")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    if max_reply_tokens is not None and max_reply_tokens < 1:
        raise ValueError(f"max_reply_tokens must be >= 1 or None, got {max_reply_tokens}")
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    first_param = next(model.parameters())
    device = first_param.device
    # float32 sums for 16-bit/4-bit models, float64 sums for a float64 model.
    dtype = torch.promote_types(first_param.dtype, torch.float32) if first_param.is_floating_point() else torch.float32
    factory = MomentFactory(sketch, rank_k, oversample, exact_max_dim, dtype, device, seed)
    accumulators = {
        name: KFACAccumulator(input_acc=None, grad_acc=factory.new(_out_features(layer)))
        for name, layer in layers.items()
    }
    local = examples[rank::world]
    was_training = model.training
    model.eval()
    try:
        with _kfac_hooks(layers, accumulators, factory, share_inputs) as state:
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
    state: _HookState,
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
    ``(reduction, max_reply_tokens)`` of :func:`per_example_reply_nll`.
    """
    reduction, max_reply_tokens = loss_kind
    tokens = examples_seen = 0
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    leaves: list[torch.Tensor] = []
    embed_handle = _differentiable_embeddings(model, leaves)
    try:
        batches = range(0, len(local), batch_size)
        desc = f"AlignGuard Fisher pass {label}".rstrip()
        for start in tqdm(batches, desc=desc, disable=not show_progress or rank != 0):
            batch = pad_batch(local[start : start + batch_size], pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            state.new_batch(batch["attention_mask"].bool())
            leaves.clear()
            with torch.set_grad_enabled(need_grad):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                if need_grad:
                    # Sum of per-example losses: each example's output gradients are its own.
                    labels = batch["labels"]
                    if fisher_type == "mc":
                        # One generator per example, seeded by its index in the whole data set.
                        global_index = [rank + world * (start + j) for j in range(labels.shape[0])]
                        gens = [torch.Generator().manual_seed(label_seed * 1_000_003 + i) for i in global_index]
                        labels = sample_model_labels(logits, labels, gens)
                    loss = per_example_reply_nll(logits, labels, reduction, max_reply_tokens).sum()
                    torch.autograd.grad(loss, leaves)  # fires the gradient hooks; no parameter .grad
            tokens += int(state.token_mask.sum())
            examples_seen += batch["input_ids"].shape[0]
            state.new_batch(None)  # drop the references to this batch's inputs
    finally:
        embed_handle.remove()
    return tokens, examples_seen


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
            acc.input_acc = factory.new(_in_features(layers[name]))
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
            sources[source] = factory.new(_in_features(layers[source]))
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


def _in_features(layer: nn.Module) -> int:
    return int(layer.in_features)


def _out_features(layer: nn.Module) -> int:
    return int(layer.out_features)


def summarise_factors(factors: dict[str, KFACFactors], k: int) -> dict[str, ModuleFisher]:
    """Top-``k`` eigen-summary of each layer's factors (see :class:`ModuleFisher`).

    Dense moments are eigendecomposed exactly; sketched ones by the Nyström method. A moment shared by
    several layers is summarised once; each layer gets its own copy (the cache format stays per layer).
    """
    summary = {}
    done: dict[int, object] = {}
    for name, f in factors.items():
        d_in, d_out = f.input_moment.shape[0], f.grad_moment.shape[0]
        if k > min(d_in, d_out):
            raise ValueError(
                f"alignguard.rank_k={k} is larger than module {name!r} (d_in={d_in}, d_out={d_out}); "
                f"set alignguard.rank_k <= {min(d_in, d_out)}"
            )
        for moment in (f.input_moment, f.grad_moment):
            if isinstance(moment, SketchedMoment) and k > moment.width:
                raise ValueError(
                    f"alignguard.rank_k={k} exceeds the {moment.width} columns of module {name!r}'s Fisher sketch; "
                    f"collect the factors with rank_k >= {k}"
                )
        factors_of = []
        for moment in (f.grad_moment, f.input_moment):
            if id(moment) not in done:
                done[id(moment)] = (moment, low_rank_factor(moment, k))  # keep `moment` alive: ids stay unique
            factors_of.append(clone_factor(done[id(moment)][1]))
        summary[name] = ModuleFisher(output_factor=factors_of[0], input_factor=factors_of[1])
    return summary
