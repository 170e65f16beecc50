"""Stacking the Fisher-derived constants of same-shaped LoRA modules (what the stacked penalty computes once).

**One copy of every eigenvector matrix.** The eigenvectors are the bulk of the Fisher state (``(d_out + d_in)·k``
floats per module). They are copied once, into stacked tensors on the LoRA factors' device: each group's output
factors into its own :class:`FactorBank`, and the input factors into one bank per ``(d_in, k_in, device)`` shared
by every group. Everything else the penalty needs per step is computed from those tensors, and the per-module
summaries the trainer keeps afterwards are views into them (:meth:`ModuleGroup.module_fishers`).

**Shared inputs.** Layers that read the same input (q/k/v, gate/up) have the same input factor ``S``: the Fisher
pass accumulates it once (:mod:`axolotl_agl.core.kfac`) and the summary gives every such layer a copy of it.
Factors that are the same tensors or equal in every value (:func:`distinct_factors`) are stored once in the input
bank. Within a group, when the modules' bank entries follow the pattern ``start + stride·⌊j/m⌋`` (``m``
consecutive modules share an entry: Llama's k/v and gate/up pairs, and every group without sharing, ``m = 1``),
the group's input eigenvectors are a *view* ``(G/m, d_in, k_in)`` of the bank and the batched products read it
with the ``m`` modules' factors side by side (``(G/m, m·r, d_in) @ (G/m, d_in, k_in)``); any other pattern (e.g.
q, k, v and o in one group) gathers the group's ``(G, d_in, k_in)`` eigenvectors from the bank at each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from axolotl_agl.core.fisher_state import LowRankFactor, ModuleFisher
from axolotl_agl.core.penalty import overlap_metric, split_weights

#: Order of the four eigen-blocks in the coefficient tuples: kept×kept, kept×rest, rest×kept, rest×rest.
BLOCKS = ("kk", "kr", "rk", "rr")


@dataclass
class FactorBank:
    """``n`` low-rank factors of one ``(dim, k)``, stacked: ``vectors`` ``(n, dim, k)``, ``values`` ``(n, k)``,
    ``residual`` ``(n,)`` (see :class:`~axolotl_agl.core.fisher_state.LowRankFactor`)."""

    vectors: torch.Tensor
    values: torch.Tensor
    residual: torch.Tensor

    def factor(self, index: int) -> LowRankFactor:
        """Entry ``index`` as a :class:`LowRankFactor` whose tensors are views into the bank (no copy)."""
        return LowRankFactor(self.vectors[index], self.values[index], self.residual[index])


def stack_factors(
    factors: Sequence[LowRankFactor], dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> FactorBank:
    """One :class:`FactorBank` holding ``factors`` (all of one ``(dim, k)``) in ``dtype`` on ``device``.

    Each factor is copied straight into its slot, so the device holds the stacked tensors and nothing else.
    """
    first = factors[0]
    vectors = torch.empty((len(factors), first.dim, first.rank), dtype=dtype, device=device)
    with torch.no_grad():
        for slot, factor in zip(vectors, factors, strict=True):
            slot.copy_(factor.vectors)
        values = torch.stack([f.values.detach().to(device=device, dtype=dtype) for f in factors])
        residual = torch.stack([f.residual.detach().to(device=device, dtype=dtype) for f in factors])
    return FactorBank(vectors, values, residual)


def _same_tensor(x: torch.Tensor, y: torch.Tensor) -> bool:
    """``x`` and ``y`` view the same memory the same way (works on the meta device, where values are unknown)."""
    return (
        x.untyped_storage()._cdata == y.untyped_storage()._cdata
        and x.storage_offset() == y.storage_offset()
        and x.shape == y.shape
        and x.stride() == y.stride()
        and x.dtype == y.dtype
    )


def same_factor(x: LowRankFactor, y: LowRankFactor) -> bool:
    """The two factors are the same tensors, or (off the meta device) equal in every value."""
    pairs = ((x.vectors, y.vectors), (x.values, y.values), (x.residual, y.residual))
    if all(_same_tensor(a, b) for a, b in pairs):
        return True
    if any(a.device.type == "meta" or b.device.type == "meta" for a, b in pairs):
        return False
    return all(a.shape == b.shape and a.device == b.device and torch.equal(a, b) for a, b in pairs)


def distinct_factors(factors: Sequence[LowRankFactor]) -> tuple[list[LowRankFactor], list[int]]:
    """The distinct factors in order of first appearance, and each factor's index among them (:func:`same_factor`).

    Candidates are found by a fingerprint (shape, and the eigenvalues and residual read once on the host), so only
    factors with the same eigenvalues are compared in full.
    """
    distinct: list[LowRankFactor] = []
    index: list[int] = []
    candidates: dict[tuple, list[int]] = {}
    for factor in factors:
        key: tuple = (factor.dim, factor.rank)
        if factor.values.device.type != "meta":
            key += (tuple(factor.values.tolist()), float(factor.residual))
        found = next((i for i in candidates.get(key, []) if same_factor(distinct[i], factor)), None)
        if found is None:
            found = len(distinct)
            distinct.append(factor)
            candidates.setdefault(key, []).append(found)
        index.append(found)
    return distinct, index


def share_pattern(index: Sequence[int]) -> tuple[int, int, int] | None:
    """``(start, stride, m)`` when ``index[j] = start + stride·⌊j/m⌋`` for every ``j`` (``stride ≥ 1``), else None."""
    size = len(index)
    m = next((j for j in range(1, size) if index[j] != index[0]), size)
    if size % m:
        return None
    start = index[0]
    stride = index[m] - start if size > m else 1
    if stride < 1:
        return None
    expected = [start + stride * (j // m) for j in range(size)]
    return (start, stride, m) if list(index) == expected else None


@dataclass
class ModuleGroup:
    """Constants of ``G`` modules of one shape (leading dimension ``G``), built once from the Fisher summaries.

    ``coefficients[name]`` holds, per eigen-block, the constant ``c_b`` with ``term = Σ_b c_b E_b`` for the
    spectral quantities (``fisher``, ``stabiliser``, ``norm_a`` = ‖ΔW_A‖², ``norm_t`` = ‖ΔW_T‖²,
    ``inner`` = ⟨ΔW_A, ΔW_T⟩), ``E_b`` being ΔW's energy in block ``b``.

    The eigenvectors are held once (see the module docstring): ``outputs`` (``G`` entries, ``u`` = its vectors)
    and entries ``input_index`` of the shared ``inputs`` bank; ``v`` is the view ``(G/v_share, d_in, k_in)`` of
    the bank that the batched products read, or None when the group's entries follow no such pattern (then
    :meth:`input_vectors` gathers them).
    """

    positions: tuple[int, ...]
    scale: torch.Tensor  # (G,)
    outputs: FactorBank  # (G, d_out, k_out)
    inputs: FactorBank  # (n, d_in, k_in), shared with the other groups of that d_in
    input_index: torch.Tensor  # (G,) entries of `inputs`, on the device
    input_entries: tuple[int, ...]  # the same on the host (empty in a `select`ed group)
    v: torch.Tensor | None  # (G / v_share, d_in, k_in) view of inputs.vectors, or None
    v_share: int  # consecutive modules per entry of v
    w_kk: torch.Tensor  # (G, k_out, k_in)
    w_kr: torch.Tensor  # (G, k_out)
    w_rk: torch.Tensor  # (G, k_in)
    w_rr: torch.Tensor  # (G,)
    coefficients: dict[str, tuple[torch.Tensor, ...]]
    metric_rows: torch.Tensor  # (G, d_out)
    metric_cols: torch.Tensor  # (G, d_in)
    gram_u: torch.Tensor  # (G, k_out, k_out) = Uᵀ diag(m_rows) U
    gram_v: torch.Tensor  # (G, k_in, k_in) = Vᵀ diag(m_cols) V

    @property
    def size(self) -> int:
        return len(self.positions)

    @property
    def u(self) -> torch.Tensor:
        """The output eigenvectors ``(G, d_out, k_out)``."""
        return self.outputs.vectors

    @property
    def d_out(self) -> int:
        return int(self.metric_rows.shape[1])

    @property
    def d_in(self) -> int:
        return int(self.metric_cols.shape[1])

    @property
    def columns_are_lines(self) -> bool:
        """The sampled overlap draws columns (``d_in > d_out``), as :mod:`~axolotl_agl.core.penalty` does."""
        return self.d_in > self.d_out

    def lines(self) -> int:
        return max(self.d_out, self.d_in)

    def input_vectors(self) -> tuple[torch.Tensor, int]:
        """``(V, m)``: the input eigenvectors ``(G/m, d_in, k_in)``, module ``j`` using ``V[j // m]``.

        The bank view :attr:`v` when there is one (no copy), else a ``(G, d_in, k_in)`` gather with ``m = 1``.
        """
        if self.v is not None:
            return self.v, self.v_share
        return self.inputs.vectors.index_select(0, self.input_index), 1

    def module_fishers(self) -> list[ModuleFisher]:
        """Each module's summary (in group order) as views into the group's tensors: no eigenvector is copied."""
        return [ModuleFisher(self.outputs.factor(j), self.inputs.factor(i)) for j, i in enumerate(self.input_entries)]

    def select(self, index: torch.Tensor) -> ModuleGroup:
        """The constants of the modules at ``index`` (a device tensor), for one step's computation.

        The selected modules' input eigenvectors are gathered (``v_share = 1``); ``positions`` stay the whole
        group's and ``input_entries`` is empty (the step needs neither).
        """
        entries = self.input_index[index]
        return ModuleGroup(
            positions=self.positions,
            outputs=FactorBank(*(t[index] for t in (self.outputs.vectors, self.outputs.values, self.outputs.residual))),
            inputs=self.inputs,
            input_index=entries,
            input_entries=(),
            v=self.inputs.vectors.index_select(0, entries),
            v_share=1,
            coefficients={},
            **{name: getattr(self, name)[index] for name in _TENSOR_FIELDS},
        )


_TENSOR_FIELDS = ("scale", "w_kk", "w_kr", "w_rk", "w_rr", "metric_rows", "metric_cols", "gram_u", "gram_v")


def shape_key(lora_a: torch.Tensor, lora_b: torch.Tensor, fisher: ModuleFisher) -> tuple:
    """What modules must share to be stacked: ``(d_out, d_in, r, k_out, k_in, device)``."""
    return (
        int(lora_b.shape[0]),
        int(lora_a.shape[1]),
        int(lora_a.shape[0]),
        fisher.output_factor.rank,
        fisher.input_factor.rank,
        str(lora_a.device),
    )


def build_module_group(
    positions: Sequence[int],
    scales: Sequence[float],
    outputs: FactorBank,
    inputs: FactorBank,
    input_index: Sequence[int],
    split_damping: float,
) -> ModuleGroup:
    """The constants of the modules at ``positions`` (see :class:`ModuleGroup`).

    ``outputs`` holds their output factors (one entry per module, in order); module ``j`` uses entry
    ``input_index[j]`` of ``inputs``. Dtype and device are the banks'.
    """
    dtype, device = outputs.vectors.dtype, outputs.vectors.device
    fishers = [ModuleFisher(outputs.factor(j), inputs.factor(i)) for j, i in enumerate(input_index)]
    tiny = torch.finfo(dtype).tiny
    weights: dict[str, list[torch.Tensor]] = {b: [] for b in BLOCKS}
    values: dict[str, list[torch.Tensor]] = {b: [] for b in BLOCKS}
    rows, cols, grams_u, grams_v = [], [], [], []
    for f in fishers:
        g, sigma_g = f.output_factor.values, f.output_factor.residual
        s, sigma_s = f.input_factor.values, f.input_factor.residual
        # A module with no Fisher mass gets weights 0/(0+tiny) = 0, not NaN (as compute_module_terms).
        damping = (split_damping * f.mean_eigenvalue()).clamp_min(tiny)
        for block, mu in zip(BLOCKS, (torch.outer(g, s), g * sigma_s, sigma_g * s, sigma_g * sigma_s), strict=True):
            values[block].append(mu)
            weights[block].append(split_weights(mu, damping))
        metric_rows, metric_cols = overlap_metric(f)
        rows.append(metric_rows)
        cols.append(metric_cols)
        u, v = f.output_factor.vectors, f.input_factor.vectors
        grams_u.append(u.T @ (metric_rows[:, None] * u))
        grams_v.append(v.T @ (metric_cols[:, None] * v))
    w = {b: torch.stack(weights[b]) for b in BLOCKS}
    mu = {b: torch.stack(values[b]) for b in BLOCKS}
    coefficients = {
        "fisher": tuple(0.5 * mu[b] * w[b].square() for b in BLOCKS),
        "stabiliser": tuple(0.5 * (1 - w[b]).square() for b in BLOCKS),
        "norm_a": tuple(w[b].square() for b in BLOCKS),
        "norm_t": tuple((1 - w[b]).square() for b in BLOCKS),
        "inner": tuple(w[b] * (1 - w[b]) for b in BLOCKS),
    }
    pattern = share_pattern(input_index)
    if pattern is None:
        v_view, v_share = None, 1
    else:
        start, stride, v_share = pattern
        v_view = inputs.vectors[start : start + stride * (len(input_index) // v_share - 1) + 1 : stride]
    return ModuleGroup(
        positions=tuple(positions),
        scale=torch.tensor(list(scales), dtype=dtype, device=device),
        outputs=outputs,
        inputs=inputs,
        input_index=torch.tensor(list(input_index), dtype=torch.long, device=device),
        input_entries=tuple(input_index),
        v=v_view,
        v_share=v_share,
        w_kk=w["kk"],
        w_kr=w["kr"],
        w_rk=w["rk"],
        w_rr=w["rr"],
        coefficients=coefficients,
        metric_rows=torch.stack(rows),
        metric_cols=torch.stack(cols),
        gram_u=torch.stack(grams_u),
        gram_v=torch.stack(grams_v),
    )


def build_module_groups(
    example_factors: Sequence[tuple[torch.Tensor, torch.Tensor]],
    scales: Sequence[float],
    fishers: Sequence[ModuleFisher],
    split_damping: float,
    dtype: torch.dtype = torch.float32,
    share_inputs: bool = True,
) -> list[ModuleGroup]:
    """The groups of same-shaped modules (:func:`shape_key`), in order of first appearance, with their banks.

    Each group's output factors are stacked into its own bank; the input factors into one bank per
    ``(d_in, k_in, device)``, each distinct factor once (:func:`distinct_factors`; every module its own entry
    when ``share_inputs`` is False), in the order the groups first use them. ``example_factors`` give the LoRA
    shapes and devices.
    """
    keyed: dict[tuple, list[int]] = {}
    for i, ((a, b), fisher) in enumerate(zip(example_factors, fishers, strict=True)):
        keyed.setdefault(shape_key(a, b, fisher), []).append(i)

    def bank_key(i: int) -> tuple:
        factor = fishers[i].input_factor
        return factor.dim, factor.rank, str(example_factors[i][0].device)

    members: dict[tuple, list[int]] = {}
    for positions in keyed.values():
        for i in positions:
            members.setdefault(bank_key(i), []).append(i)
    banks: dict[tuple, FactorBank] = {}
    entry: dict[int, int] = {}
    for key, modules in members.items():
        factors = [fishers[i].input_factor for i in modules]
        distinct, index = distinct_factors(factors) if share_inputs else (factors, list(range(len(factors))))
        banks[key] = stack_factors(distinct, dtype, example_factors[modules[0]][0].device)
        entry.update(zip(modules, index, strict=True))
    return [
        build_module_group(
            positions,
            [scales[i] for i in positions],
            stack_factors(
                [fishers[i].output_factor for i in positions], dtype, example_factors[positions[0]][0].device
            ),
            banks[bank_key(positions[0])],
            [entry[i] for i in positions],
            split_damping,
        )
        for positions in keyed.values()
    ]
