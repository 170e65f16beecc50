"""Stacking the Fisher factors of same-shaped LoRA modules for the stacked penalty.

**One copy of every eigenvector matrix.** The eigenvectors are the bulk of the Fisher state (``(d_out + d_in)·k``
floats per module). They are copied once, into stacked tensors on the LoRA factors' device: each group's output
factors into its own :class:`FactorBank`, and the input factors into one bank per ``(d_in, k_in, device)`` shared
by every group. Everything else the penalty needs per step (split weights, block coefficients, overlap metric and
its Grams) is recomputed from those tensors when the step reads it (:class:`ModuleGroup`): nothing derived is held
between steps. The per-module summaries the trainer keeps are views into the banks
(:meth:`ModuleGroup.module_fishers`).

**Shared inputs.** Layers that read the same input (q/k/v, gate/up) have the same input factor ``S``: the Fisher
pass accumulates it once (:mod:`axolotl_agl.core.kfac`) and the summary gives every such layer the same factor.
Factors that are the same tensors or equal in every value (:func:`~axolotl_agl.core.shared_factors.distinct_factors`) are stored once in the input
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
from axolotl_agl.core.penalty import CHUNK_ELEMENTS, split_weights
from axolotl_agl.core.shared_factors import distinct_factors, share_pattern

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


@dataclass
class ModuleGroup:
    """``G`` modules of one shape (leading dimension ``G``): their Fisher factors, stacked, and what derives from them.

    Held (see the module docstring): ``outputs`` (``G`` entries, ``u`` = their vectors), entries ``input_index`` of
    the shared ``inputs`` bank, each module's LoRA ``scale`` and split ``damping`` ``ρ``; ``v`` is the view
    ``(G/v_share, d_in, k_in)`` of the bank that the batched products read, or None when the group's entries follow
    no such pattern (then :meth:`input_vectors` gathers them).

    Derived, recomputed from those tensors on each access (nothing derived is held between steps; the values are
    the formulas of :mod:`axolotl_agl.core.penalty`, batched): the split weights ``w = μ/(μ + ρ)`` of the four
    eigen-blocks (:attr:`w_kk` ``(G, k_out, k_in)``, :attr:`w_kr` ``(G, k_out)``, :attr:`w_rk` ``(G, k_in)``,
    :attr:`w_rr` ``(G,)``), the block :attr:`coefficients`, the overlap metric's diagonals :attr:`metric_rows`
    ``(G, d_out)`` and :attr:`metric_cols` ``(G, d_in)``, and the metric Grams :attr:`gram_u` ``= Uᵀ diag(m_rows) U``
    and :attr:`gram_v` ``= Vᵀ diag(m_cols) V``. The weights and coefficients are elementwise in ``(G, k, k)``; the
    metric diagonals and Grams cost ``O(d·k)`` and ``O(d·k²)`` per module and are computed without autograd in
    chunks of about :data:`~axolotl_agl.core.penalty.CHUNK_ELEMENTS` values, so no eigenvector-sized temporary
    is made.
    """

    positions: tuple[int, ...]
    scale: torch.Tensor  # (G,)
    damping: torch.Tensor  # (G,) split damping ρ = split_damping · mean eigenvalue (at least the smallest normal)
    outputs: FactorBank  # (G, d_out, k_out)
    inputs: FactorBank  # (n, d_in, k_in), shared with the other groups of that d_in
    input_index: torch.Tensor  # (G,) entries of `inputs`, on the device
    input_entries: tuple[int, ...]  # the same on the host (empty in a `select`ed group)
    v: torch.Tensor | None  # (G / v_share, d_in, k_in) view of inputs.vectors, or None
    v_share: int  # consecutive modules per entry of v
    v_entries: slice | None = None  # the entries of `inputs` that v views (v = inputs.vectors[v_entries])

    @property
    def size(self) -> int:
        return len(self.positions)

    @property
    def u(self) -> torch.Tensor:
        """The output eigenvectors ``(G, d_out, k_out)``."""
        return self.outputs.vectors

    @property
    def d_out(self) -> int:
        return int(self.outputs.vectors.shape[1])

    @property
    def d_in(self) -> int:
        return int(self.inputs.vectors.shape[1])

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

    # ------------------------------------------------------------------ derived from the factors, per access
    def _input_values(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The input eigenvalues ``(G, k_in)`` and residuals ``(G,)`` of every module."""
        return self.inputs.values.index_select(0, self.input_index), self.inputs.residual.index_select(
            0, self.input_index
        )

    def _block_eigenvalues(self) -> tuple[torch.Tensor, ...]:
        """``μ`` of the four eigen-blocks: ``g sᵀ``, ``g σ_S``, ``σ_G s``, ``σ_G σ_S``."""
        g, sigma_g = self.outputs.values, self.outputs.residual
        s, sigma_s = self._input_values()
        return g[:, :, None] * s[:, None, :], g * sigma_s[:, None], sigma_g[:, None] * s, sigma_g * sigma_s

    def _block_weights(self) -> tuple[torch.Tensor, ...]:
        rho = self.damping
        mu_kk, mu_kr, mu_rk, mu_rr = self._block_eigenvalues()
        return (
            split_weights(mu_kk, rho[:, None, None]),
            split_weights(mu_kr, rho[:, None]),
            split_weights(mu_rk, rho[:, None]),
            split_weights(mu_rr, rho),
        )

    @property
    def w_kk(self) -> torch.Tensor:
        return self._block_weights()[0]

    @property
    def w_kr(self) -> torch.Tensor:
        return self._block_weights()[1]

    @property
    def w_rk(self) -> torch.Tensor:
        return self._block_weights()[2]

    @property
    def w_rr(self) -> torch.Tensor:
        return self._block_weights()[3]

    @property
    def coefficients(self) -> dict[str, tuple[torch.Tensor, ...]]:
        """Per spectral quantity, the block constants ``c_b`` with ``term = Σ_b c_b E_b`` (in :data:`BLOCKS` order):
        ``fisher`` ``½ μ w²``, ``stabiliser`` ``½ (1 − w)²``, ``norm_a`` ``w²`` (‖ΔW_A‖²), ``norm_t`` ``(1 − w)²``
        (‖ΔW_T‖²), ``inner`` ``w (1 − w)`` (⟨ΔW_A, ΔW_T⟩)."""
        mu, w = self._block_eigenvalues(), self._block_weights()
        return {
            "fisher": tuple(0.5 * m * x.square() for m, x in zip(mu, w, strict=True)),
            "stabiliser": tuple(0.5 * (1 - x).square() for x in w),
            "norm_a": tuple(x.square() for x in w),
            "norm_t": tuple((1 - x).square() for x in w),
            "inner": tuple(x * (1 - x) for x in w),
        }

    def _input_bank_entries(self) -> tuple[FactorBank, int]:
        """The input factors as the group reads them, and ``m``: ``(G/m)`` entries, module ``j`` using ``j // m``."""
        bank = self.inputs
        if self.v is not None and self.v_entries is not None:
            return FactorBank(self.v, bank.values[self.v_entries], bank.residual[self.v_entries]), self.v_share
        values, residual = self._input_values()
        vectors = self.v if self.v is not None else bank.vectors.index_select(0, self.input_index)
        return FactorBank(vectors, values, residual), 1

    @property
    def metric_rows(self) -> torch.Tensor:
        """``diag(G)`` of every module divided by its mean, ``(G, d_out)`` (as :func:`~.penalty.overlap_metric`)."""
        return _metric(self.outputs)

    @property
    def metric_cols(self) -> torch.Tensor:
        """``diag(S)`` of every module divided by its mean, ``(G, d_in)``; computed once per distinct input."""
        bank, share = self._input_bank_entries()
        metric = _metric(bank)
        return metric if share == 1 else metric.repeat_interleave(share, dim=0)

    @property
    def gram_u(self) -> torch.Tensor:
        """``Uᵀ diag(m_rows) U`` of every module, ``(G, k_out, k_out)``."""
        return _metric_gram(self.outputs.vectors, self.metric_rows)

    @property
    def gram_v(self) -> torch.Tensor:
        """``Vᵀ diag(m_cols) V`` of every module, ``(G, k_in, k_in)``; computed once per distinct input."""
        bank, share = self._input_bank_entries()
        gram = _metric_gram(bank.vectors, _metric(bank))
        return gram if share == 1 else gram.repeat_interleave(share, dim=0)

    def select(self, index: torch.Tensor) -> ModuleGroup:
        """The modules at ``index`` (a device tensor), for one step's computation.

        The selected modules' output factors and input eigenvectors are gathered (``v_share = 1``); ``positions``
        stay the whole group's and ``input_entries`` is empty (the step needs neither).
        """
        entries = self.input_index[index]
        return ModuleGroup(
            positions=self.positions,
            scale=self.scale[index],
            damping=self.damping[index],
            outputs=FactorBank(*(t[index] for t in (self.outputs.vectors, self.outputs.values, self.outputs.residual))),
            inputs=self.inputs,
            input_index=entries,
            input_entries=(),
            v=self.inputs.vectors.index_select(0, entries),
            v_share=1,
        )


def _chunk_modules(bank_vectors: torch.Tensor) -> int:
    """Modules per chunk so that one chunk of ``(n, d, k)`` holds about :data:`CHUNK_ELEMENTS` values."""
    per_module = max(1, bank_vectors.shape[1] * bank_vectors.shape[2])
    return max(1, CHUNK_ELEMENTS // per_module)


def _metric(bank: FactorBank) -> torch.Tensor:
    """``diag(M) / mean(diag(M))`` of every entry, ``diag(M) = σ + Σ_j Q_·j² (λ_j − σ)`` (``LowRankFactor.diagonal``)."""
    vectors, values, residual = bank.vectors, bank.values, bank.residual
    with torch.no_grad():
        step = _chunk_modules(vectors)
        diagonal = torch.cat(
            [
                residual[i : i + step, None]
                + (
                    vectors[i : i + step].square() * (values[i : i + step] - residual[i : i + step, None])[:, None, :]
                ).sum(-1)
                for i in range(0, vectors.shape[0], step)
            ]
        )
        return diagonal / diagonal.mean(-1, keepdim=True).clamp_min(torch.finfo(diagonal.dtype).tiny)


def _metric_gram(vectors: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """``Qᵀ diag(m) Q = (√m ∘ Q)ᵀ (√m ∘ Q)`` of every entry, ``(n, k, k)`` (``m ≥ 0``: a PSD matrix's diagonal)."""
    with torch.no_grad():
        step = _chunk_modules(vectors)
        chunks = []
        for i in range(0, vectors.shape[0], step):
            weighted = vectors[i : i + step] * metric[i : i + step, :, None].sqrt()
            chunks.append(weighted.mT @ weighted)
        return torch.cat(chunks)


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
    tiny = torch.finfo(dtype).tiny
    # A module with no Fisher mass gets weights 0/(0+tiny) = 0, not NaN (as compute_module_terms).
    damping = [
        (split_damping * ModuleFisher(outputs.factor(j), inputs.factor(i)).mean_eigenvalue()).clamp_min(tiny)
        for j, i in enumerate(input_index)
    ]
    pattern = share_pattern(input_index)
    if pattern is None:
        v_view, v_share, v_entries = None, 1, None
    else:
        start, stride, v_share = pattern
        v_entries = slice(start, start + stride * (len(input_index) // v_share - 1) + 1, stride)
        v_view = inputs.vectors[v_entries]
    return ModuleGroup(
        positions=tuple(positions),
        scale=torch.tensor(list(scales), dtype=dtype, device=device),
        damping=torch.stack(damping),
        outputs=outputs,
        inputs=inputs,
        input_index=torch.tensor(list(input_index), dtype=torch.long, device=device),
        input_entries=tuple(input_index),
        v=v_view,
        v_share=v_share,
        v_entries=v_entries,
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
