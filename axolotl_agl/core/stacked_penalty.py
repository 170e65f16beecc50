"""The AlignGuard penalty of every LoRA module at once: modules of the same shape are stacked and batched.

:mod:`axolotl_agl.core.penalty` computes the four terms of *one* module with a few dozen small tensor
operations; a model with ~200 LoRA modules then costs thousands of tiny kernel launches (and their backward)
per optimiser step, which dominates a short-sequence, small-batch training step. Here the modules that share
``(d_out, d_in, r, k_out, k_in, device)`` form a *group* (a Llama layer has four: q/o, k/v, gate/up, down) and
every term of a group is computed with batched matrix products over a leading ``G`` dimension, so the cost
per step is ~60 batched operations per group, whatever the number of layers. The values and gradients are
the same as the per-module code's (tested in float64 against it and against the dense references).

Only the Fisher factors are held between steps: the eigenvectors, eigenvalues and residuals in stacked tensors,
with the input factors that layers reading the same input share stored once
(:mod:`axolotl_agl.core.module_groups`); :meth:`StackedPenalty.module_fishers` gives per-module summaries that
are views into them, so a trainer keeps no second copy. What derives from them (the split weights
``w = μ/(μ + ρ)`` of the four eigen-blocks, each term's block coefficients, the overlap metric ``m_pq = m_p m_q``
and the metric Grams ``Uᵀ diag(m) U``, ``Vᵀ diag(m) V``) is recomputed from those tensors in every step
(:class:`~axolotl_agl.core.module_groups.ModuleGroup`), without autograd: ``O(k²)`` elementwise and ``O(d·k²)``
per module, next to the step's ``O(d·(r + k)²)``.

**Low-rank core form.** With ``P = [B, U]`` (``d_out × (r + k_out)``) and ``Q = [A; Vᵀ]``
(``(r + k_in) × d_in``), ``ΔW = P C_W Q`` and ``ΔW_A = P C_A Q`` (``ΔW_T = P (C_W − C_A) Q``), where

    C_W = [[s I_r, 0], [0, 0]],
    C_A = [[s w_rr I_r, s Aᵥ diag(w_rk − w_rr)], [s diag(w_kr − w_rr) Bᵤ, K]],
    K = (w_kk − w_kr 1ᵀ − 1 w_rkᵀ + w_rr) ∘ (s Bᵤ Aᵥ),  Bᵤ = UᵀB, Aᵥ = AV

— the four-block soft split of :class:`axolotl_agl.core.penalty.LowRankSplit`, with the columns of its factors
gathered into the spans of ``[B, U]`` and ``[A; Vᵀ]``. The overlap's denominator is then
``½ Σ_{C ∈ {C_A, C_T}} tr(Cᵀ G_P C G_Q)`` with the ``(r + k)²`` metric Grams ``G_P = Pᵀ diag(m_rows) P`` and
``G_Q = Q diag(m_cols) Qᵀ``, and the line masses of the sampled numerator are ``m_p · P_p H P_pᵀ`` with
``H = C_A G_Q C_Aᵀ + C_T G_Q C_Tᵀ``: ``O((d_in + d_out)·(r + k)²)`` per module instead of the
``(r + 2k)``-wide Grams of the per-module code.

**Sampling modules for the overlap (``overlap_module_fraction = f < 1``).** The overlap is *averaged* over
modules. Within each group of ``G`` modules, ``m = max(1, round(f·G))`` modules are drawn uniformly without
replacement each step and the group's overlap sum is estimated by ``(G/m) Σ_{i ∈ S} ô_i`` (Horvitz–Thompson:
each module is drawn with probability ``m/G``); the other three terms are always computed for every module.
With ``M`` modules in all, groups ``g`` of ``G_g`` modules of exact overlaps ``o_i`` and (line-sampling)
estimates ``ô_i`` of variance ``V_i`` (``V_i = 0`` for the exact numerator), the estimate of the mean overlap
``ō = (1/M) Σ_i o_i`` is unbiased and

    Var = (1/M²) Σ_g [ G_g² (1 − m_g/G_g) s_g² / m_g  +  (G_g/m_g) Σ_{i∈g} V_i ],
    s_g² = Σ_{i∈g} (o_i − ō_g)² / (G_g − 1)

(the without-replacement variance of a sampled total, plus the line-sampling variance of the drawn modules;
the draws of modules and of lines are independent). The weights are constants for autograd, so the gradient is
unbiased too. Tested in ``tests/core/test_stacked_penalty.py`` (mean of many draws against the exact value
within a confidence interval from this variance, and the sample variance against it).

Nothing in a step reads a tensor value on the host: no ``.item()``, no Python branch on tensor values (the
sampling distribution falls back to uniform with ``torch.where``), so on a GPU the step never synchronises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from axolotl_agl.core.fisher_state import ModuleFisher
from axolotl_agl.core.fused_overlap import FusedOverlapNumerator
from axolotl_agl.core.lora_modules import LoraHandle
from axolotl_agl.core.module_groups import ModuleGroup, build_module_groups
from axolotl_agl.core.penalty import CHUNK_ELEMENTS, COLLISION_SCALE, UNIFORM_MIX, weighted_total
from axolotl_agl.core.stacked_spectral import (
    SpectralParts,
    shared_input_product,
    spectral_group_terms,
    spectral_parts,
)


@dataclass
class CoreForm:
    """``P``, ``Q``, ``C_A``, ``C_T`` and the metric Grams ``G_P``, ``G_Q`` of a group (see the module docstring)."""

    p: torch.Tensor
    q: torch.Tensor
    c_a: torch.Tensor
    c_t: torch.Tensor
    gram_p: torch.Tensor
    gram_q: torch.Tensor


def core_form(group: ModuleGroup, lora_a: torch.Tensor, lora_b: torch.Tensor, parts: SpectralParts) -> CoreForm:
    """``P``, ``Q``, ``C_A``, ``C_T``, ``G_P``, ``G_Q`` of every module of ``group`` (``O((d_in + d_out)·r·(r+k))``).

    ``V`` is read as ``parts`` holds it (shared by ``parts.v_share`` consecutive modules); ``Q = [A; Vᵀ]`` is the
    one per-module copy of it (and ``P = [B, U]`` of ``U``) that the overlap needs.
    """
    b_u, a_v, coords, v, v_share = parts.b_u, parts.a_v, parts.coords, parts.v, parts.v_share
    g, r, d_in = lora_a.shape
    s = group.scale[:, None, None]
    w_rr = group.w_rr[:, None, None]
    k_core = (group.w_kk - group.w_kr[:, :, None] - group.w_rk[:, None, :] + w_rr) * coords
    eye = torch.eye(r, dtype=lora_a.dtype, device=lora_a.device).expand(g, r, r)
    top = torch.cat([s * w_rr * eye, s * a_v * (group.w_rk - group.w_rr[:, None])[:, None, :]], dim=2)
    bottom = torch.cat([s * (group.w_kr - group.w_rr[:, None])[:, :, None] * b_u, k_core], dim=2)
    c_a = torch.cat([top, bottom], dim=1)
    c_w = torch.zeros_like(c_a)
    c_w[:, :r, :r] = s * eye
    metric_b = group.metric_rows[:, :, None] * lora_b  # diag(m_rows) B
    gram_bb = lora_b.mT @ metric_b
    gram_bu = metric_b.mT @ group.u
    gram_p = torch.cat([torch.cat([gram_bb, gram_bu], 2), torch.cat([gram_bu.mT, group.gram_u], 2)], 1)
    metric_a = lora_a * group.metric_cols[:, None, :]  # A diag(m_cols)
    gram_aa = metric_a @ lora_a.mT
    gram_av = shared_input_product(metric_a, v, v_share)
    gram_q = torch.cat([torch.cat([gram_aa, gram_av], 2), torch.cat([gram_av.mT, group.gram_v], 2)], 1)
    p = torch.cat([lora_b, group.u], dim=2)
    if v_share == 1:
        q = torch.cat([lora_a, v.mT], dim=1)
    else:  # one copy: each entry of V written beside the factors of its v_share modules
        k_in = v.shape[-1]
        shared = v.mT[:, None].expand(g // v_share, v_share, k_in, d_in)
        q = torch.cat([lora_a.reshape(g // v_share, v_share, r, d_in), shared], dim=2).reshape(g, r + k_in, d_in)
    return CoreForm(p, q, c_a, c_w - c_a, gram_p, gram_q)


def overlap_denominator(form: CoreForm) -> torch.Tensor:
    """``½ Σ_pq m_pq (ΔW_A² + ΔW_T²)_pq + δ²`` per module, exactly (``tr(Cᵀ G_P C G_Q)`` for C_A and C_T)."""

    def mass(c: torch.Tensor) -> torch.Tensor:
        return ((c.mT @ form.gram_p @ c) * form.gram_q).sum((-2, -1))

    return 0.5 * (mass(form.c_a) + mass(form.c_t)) + COLLISION_SCALE**2


def line_probabilities(
    p: torch.Tensor, c_a: torch.Tensor, c_t: torch.Tensor, metric_lines: torch.Tensor, gram_other: torch.Tensor
) -> torch.Tensor:
    """``π`` of :func:`~axolotl_agl.core.penalty.overlap_sampling_distribution` for every module, ``(G, lines)``.

    ``D_p = m_p P_p H P_pᵀ`` with ``H = C_A G C_Aᵀ + C_T G C_Tᵀ`` (``G`` the metric Gram of the other side);
    ``π = (1 − ε) D/ΣD + ε/n``, uniform where ``ΣD`` is not positive and finite (chosen by ``torch.where``,
    without reading the value on the host). No gradient: the distribution is a constant.
    """
    with torch.no_grad():
        h = c_a @ gram_other @ c_a.mT + c_t @ gram_other @ c_t.mT
        masses = (metric_lines * ((p @ h) * p).sum(-1)).clamp_min(0.0)
        n_lines = masses.shape[-1]
        total = masses.sum(-1, keepdim=True)
        usable = (total > 0) & torch.isfinite(total)
        mixed = (1 - UNIFORM_MIX) * masses / torch.where(usable, total, torch.ones_like(total)) + UNIFORM_MIX / n_lines
        return torch.where(usable, mixed, torch.full_like(mixed, 1.0 / n_lines))


def _oriented(form: CoreForm, group: ModuleGroup, lora_a: torch.Tensor, lora_b: torch.Tensor) -> tuple:
    """``(P, C_A, C_T, Q, m_lines, m_other, G_other, B, A)`` with the lines as rows (ΔWᵀ's when columns are lines)."""
    if group.columns_are_lines:
        return (
            form.q.mT,
            form.c_a.mT,
            form.c_t.mT,
            form.p.mT,
            group.metric_cols,
            group.metric_rows,
            form.gram_p,
            lora_a.mT,
            lora_b.mT,
        )
    return (
        form.p,
        form.c_a,
        form.c_t,
        form.q,
        group.metric_rows,
        group.metric_cols,
        form.gram_q,
        lora_b,
        lora_a,
    )


def sampled_numerators(
    group: ModuleGroup,
    form: CoreForm,
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    samples: int,
    generator: torch.Generator | None = None,
    lines: torch.Tensor | None = None,
) -> torch.Tensor:
    """``N̂ = (1/n) Σ_i N_{p_i}/π_{p_i}`` per module (:func:`~axolotl_agl.core.penalty.sampled_overlap_numerator`).

    ``lines`` (``(G, n)`` line indices) replaces the draw, so tests can compare with the per-module code.
    """
    p, c_a, c_t, q, m_lines, m_other, gram_other, b_lines, a_other = _oriented(form, group, lora_a, lora_b)
    probs = line_probabilities(p, c_a, c_t, m_lines, gram_other)
    if lines is None:
        lines = torch.multinomial(probs, samples, replacement=True, generator=generator)
    p_rows = p.gather(1, lines[:, :, None].expand(-1, -1, p.shape[2]))
    b_rows = b_lines.gather(1, lines[:, :, None].expand(-1, -1, b_lines.shape[2]))
    rows_a = (p_rows @ c_a) @ q
    rows_w = group.scale[:, None, None] * (b_rows @ a_other)
    per_line = ((rows_a.abs() * (rows_w - rows_a).abs()) @ m_other[:, :, None]).squeeze(-1)
    return (m_lines.gather(1, lines) * per_line / probs.gather(1, lines)).mean(-1)


def exact_numerators(
    group: ModuleGroup, form: CoreForm, lora_a: torch.Tensor, lora_b: torch.Tensor, chunk_rows: int | None = None
) -> torch.Tensor:
    """``N`` per module exactly, over row chunks of ``G × rows × d_in`` ≈ :data:`CHUNK_ELEMENTS` values."""
    g, d_in = lora_a.shape[0], lora_a.shape[2]
    rows = chunk_rows or max(1, CHUNK_ELEMENTS // max(g * d_in, 1))
    return FusedOverlapNumerator.apply(
        group.scale[:, None, None] * lora_b,
        form.p @ form.c_a,
        lora_a,
        form.q,
        group.metric_rows,
        group.metric_cols,
        rows,
    )


def overlap_group_terms(
    group: ModuleGroup,
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    parts: SpectralParts,
    samples: int = 0,
    generator: torch.Generator | None = None,
    lines: torch.Tensor | None = None,
    chunk_rows: int | None = None,
) -> torch.Tensor:
    """The coordinate overlap of every module of ``group`` (sampled numerator when ``0 < samples < min(d)``)."""
    form = core_form(group, lora_a, lora_b, parts)
    if 0 < samples < min(group.d_out, group.d_in):
        numerator = sampled_numerators(group, form, lora_a, lora_b, samples, generator, lines)
    else:
        numerator = exact_numerators(group, form, lora_a, lora_b, chunk_rows)
    return numerator / overlap_denominator(form)


def modules_drawn(size: int, fraction: float) -> int:
    """Modules of a group of ``size`` whose overlap is evaluated per step: ``max(1, round(fraction·size))``."""
    if not 0 < fraction <= 1:
        raise ValueError(f"overlap_module_fraction must lie in (0, 1], got {fraction}")
    return min(size, max(1, round(fraction * size)))


@dataclass
class GroupTerms:
    """Terms of one group: ``(G,)`` tensors for fisher, stabiliser, geodesic; the overlap of the drawn modules
    and its Horvitz–Thompson weight ``G/m`` (1 when every module was evaluated)."""

    fisher: torch.Tensor
    stabiliser: torch.Tensor
    geodesic: torch.Tensor
    overlap: torch.Tensor
    overlap_weight: float


def group_terms(
    group: ModuleGroup,
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    overlap_samples: int = 0,
    overlap_module_fraction: float = 1.0,
    generator: torch.Generator | None = None,
) -> GroupTerms:
    """All four terms of a group from its stacked factors ``lora_a`` (G×r×d_in) and ``lora_b`` (G×d_out×r)."""
    parts = spectral_parts(group, lora_a, lora_b)
    spectral = spectral_group_terms(group, parts)
    drawn = modules_drawn(group.size, overlap_module_fraction)
    if drawn == group.size:
        overlap = overlap_group_terms(group, lora_a, lora_b, parts, overlap_samples, generator)
        return GroupTerms(**spectral, overlap=overlap, overlap_weight=1.0)
    index = torch.randperm(group.size, generator=generator, device=lora_a.device)[:drawn]
    chosen = group.select(index)
    sub = SpectralParts(parts.b_u[index], parts.a_v[index], parts.coords[index], (), *chosen.input_vectors())
    overlap = overlap_group_terms(chosen, lora_a[index], lora_b[index], sub, overlap_samples, generator)
    return GroupTerms(**spectral, overlap=overlap, overlap_weight=group.size / drawn)


class StackedPenalty:
    """The four AlignGuard terms of many modules, computed group by group (see the module docstring).

    Built once from each module's LoRA scale and Fisher summary (``example_factors`` only give the shapes and the
    device of the LoRA factors); :meth:`terms` then takes the current ``(A, B)`` of every module, in the same
    order, and returns the aggregates of :func:`~axolotl_agl.core.penalty.combine_terms`: Fisher penalty and
    stabiliser summed over modules, overlap and geodesic averaged. Computed in ``dtype`` (float32 by default,
    whatever the autocast state or the factors' dtype).

    The eigenvectors are copied once, onto each module's device in ``dtype``; input factors that are the same
    tensors or equal in every value (the Fisher pass's shared inputs, e.g. q/k/v) are stored once unless
    ``share_inputs=False``. Nothing of ``fishers`` is kept: drop them and use :meth:`module_fishers`.
    """

    def __init__(
        self,
        example_factors: Sequence[tuple[torch.Tensor, torch.Tensor]],
        scales: Sequence[float],
        fishers: Sequence[ModuleFisher],
        split_damping: float = 1.0,
        dtype: torch.dtype = torch.float32,
        share_inputs: bool = True,
    ) -> None:
        if not example_factors:
            raise ValueError("no LoRA modules to regularise")
        if not len(example_factors) == len(scales) == len(fishers):
            raise ValueError("example_factors, scales and fishers must have one entry per module")
        self.dtype = dtype
        self.n_modules = len(example_factors)
        self.groups = build_module_groups(example_factors, scales, fishers, split_damping, dtype, share_inputs)
        self.device = example_factors[0][0].device

    def module_fishers(self) -> list[ModuleFisher]:
        """Every module's Fisher summary, in the order of construction, as views into the stacked tensors.

        Holding these instead of the summaries the penalty was built from keeps one copy of every eigenvector
        matrix (values as stored here: ``dtype``, on the modules' devices; shared inputs stored once).
        """
        by_position = {
            position: fisher
            for group in self.groups
            for position, fisher in zip(group.positions, group.module_fishers(), strict=True)
        }
        return [by_position[i] for i in range(self.n_modules)]

    def group_terms(
        self,
        factors: Sequence[tuple[torch.Tensor, torch.Tensor]],
        overlap_samples: int = 0,
        overlap_module_fraction: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> list[GroupTerms]:
        """:func:`group_terms` of every group from the modules' current ``(A, B)``."""
        if len(factors) != self.n_modules:
            raise ValueError(f"expected the factors of {self.n_modules} modules, got {len(factors)}")
        out = []
        with torch.autocast(device_type=self.device.type, enabled=False):
            for group in self.groups:
                a = torch.stack([factors[i][0] for i in group.positions]).to(self.dtype)
                b = torch.stack([factors[i][1] for i in group.positions]).to(self.dtype)
                out.append(group_terms(group, a, b, overlap_samples, overlap_module_fraction, generator))
        return out

    def terms(
        self,
        factors: Sequence[tuple[torch.Tensor, torch.Tensor]],
        overlap_samples: int = 0,
        overlap_module_fraction: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """The four aggregated terms (scalars on the first module's device)."""
        per_group = self.group_terms(factors, overlap_samples, overlap_module_fraction, generator)

        def total(values: list[torch.Tensor]) -> torch.Tensor:
            return torch.stack([v.to(self.device) for v in values]).sum()

        return {
            "fisher": total([g.fisher.sum() for g in per_group]),
            "stabiliser": total([g.stabiliser.sum() for g in per_group]),
            "overlap": total([g.overlap.sum() * g.overlap_weight for g in per_group]) / self.n_modules,
            "geodesic": total([g.geodesic.sum() for g in per_group]) / self.n_modules,
        }

    def penalty(
        self,
        factors: Sequence[tuple[torch.Tensor, torch.Tensor]],
        lambda_alignment: float,
        lambda_task: float,
        lambda_collision: float,
        alpha: float,
        overlap_samples: int = 0,
        overlap_module_fraction: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total (:func:`~axolotl_agl.core.penalty.weighted_total`) and the four terms of :meth:`terms`."""
        agg = self.terms(factors, overlap_samples, overlap_module_fraction, generator)
        return weighted_total(agg, lambda_alignment, lambda_task, lambda_collision, alpha), agg


#: Penalties built by :func:`penalty_for_modules`, keyed by the identity of the module list (a few at most).
_BUILT: dict[int, tuple[Sequence, float, StackedPenalty]] = {}
_MAX_BUILT = 4


def penalty_for_modules(modules: Sequence[tuple[LoraHandle, ModuleFisher]], split_damping: float) -> StackedPenalty:
    """The :class:`StackedPenalty` of ``[(handle, fisher), ...]``, built on first use and reused while the same
    list object (same length, same ``split_damping``) is passed again — a trainer's module list is built once."""
    entry = _BUILT.get(id(modules))
    if entry is not None and entry[0] is modules and len(modules) == entry[2].n_modules and entry[1] == split_damping:
        return entry[2]
    penalty = StackedPenalty(
        [handle.factors() for handle, _ in modules],
        [handle.scale for handle, _ in modules],
        [fisher for _, fisher in modules],
        split_damping,
    )
    while len(_BUILT) >= _MAX_BUILT:
        _BUILT.pop(next(iter(_BUILT)))
    _BUILT[id(modules)] = (modules, split_damping, penalty)
    return penalty


def modules_penalty(
    modules: Sequence[tuple[LoraHandle, ModuleFisher]],
    split_damping: float,
    lambda_alignment: float,
    lambda_task: float,
    lambda_collision: float,
    alpha: float,
    overlap_samples: int = 0,
    overlap_module_fraction: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total penalty and the four terms of LoRA modules ``[(handle, fisher), ...]`` from their current factors."""
    penalty = penalty_for_modules(modules, split_damping)
    factors = [handle.factors() for handle, _ in modules]
    return penalty.penalty(
        factors, lambda_alignment, lambda_task, lambda_collision, alpha, overlap_samples, overlap_module_fraction
    )
