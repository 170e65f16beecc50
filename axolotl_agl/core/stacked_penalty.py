"""The AlignGuard penalty of every LoRA module at once: modules of the same shape are stacked and batched.

:mod:`axolotl_agl.core.penalty` computes the four terms of *one* module with a few dozen small tensor
operations; a model with ~200 LoRA modules then costs thousands of tiny kernel launches (and their backward)
per optimiser step, which dominates a short-sequence, small-batch training step. Here the modules that share
``(d_out, d_in, r, k_out, k_in, device)`` form a *group* (a Llama layer has four: q/o, k/v, gate/up, down) and
every term of a group is computed with batched matrix products over a leading ``G`` dimension, so the cost
per step is ~60 batched operations per group, whatever the number of layers. The values and gradients are
the same as the per-module code's (tested in float64 against it and against the dense references).

What does not change between steps is computed once, when the penalty is built: the split weights
``w = μ/(μ + ρ)`` of the four eigen-blocks, each term's block coefficients, the overlap metric
``m_pq = m_p m_q`` and the metric Grams ``Uᵀ diag(m) U``, ``Vᵀ diag(m) V``.

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
from axolotl_agl.core.lora_modules import LoraHandle
from axolotl_agl.core.penalty import CHUNK_ELEMENTS, COLLISION_SCALE, UNIFORM_MIX, overlap_metric, split_weights

#: Order of the four eigen-blocks in the coefficient tuples: kept×kept, kept×rest, rest×kept, rest×rest.
BLOCKS = ("kk", "kr", "rk", "rr")


@dataclass
class ModuleGroup:
    """Constants of ``G`` modules of one shape (leading dimension ``G``), built once from the Fisher summaries.

    ``coefficients[name]`` holds, per eigen-block, the constant ``c_b`` with ``term = Σ_b c_b E_b`` for the
    spectral quantities (``fisher``, ``stabiliser``, ``norm_a`` = ‖ΔW_A‖², ``norm_t`` = ‖ΔW_T‖²,
    ``inner`` = ⟨ΔW_A, ΔW_T⟩), ``E_b`` being ΔW's energy in block ``b``.
    """

    positions: tuple[int, ...]
    scale: torch.Tensor  # (G,)
    u: torch.Tensor  # (G, d_out, k_out)
    v: torch.Tensor  # (G, d_in, k_in)
    w_kk: torch.Tensor  # (G, k_out, k_in)
    w_kr: torch.Tensor  # (G, k_out)
    w_rk: torch.Tensor  # (G, k_in)
    w_rr: torch.Tensor  # (G,)
    coefficients: dict[str, tuple[torch.Tensor, ...]]
    metric_rows: torch.Tensor  # (G, d_out)
    metric_cols: torch.Tensor  # (G, d_in)
    metric_u: torch.Tensor  # (G, d_out, k_out) = diag(m_rows) U
    metric_v: torch.Tensor  # (G, d_in, k_in) = diag(m_cols) V
    gram_u: torch.Tensor  # (G, k_out, k_out) = Uᵀ diag(m_rows) U
    gram_v: torch.Tensor  # (G, k_in, k_in) = Vᵀ diag(m_cols) V

    @property
    def size(self) -> int:
        return len(self.positions)

    @property
    def columns_are_lines(self) -> bool:
        """The sampled overlap draws columns (``d_in > d_out``), as :mod:`~axolotl_agl.core.penalty` does."""
        return self.v.shape[1] > self.u.shape[1]

    def lines(self) -> int:
        return max(self.u.shape[1], self.v.shape[1])

    def select(self, index: torch.Tensor) -> ModuleGroup:
        """The constants of the modules at ``index`` (a device tensor; the positions are not needed there)."""
        return ModuleGroup(
            positions=self.positions,
            coefficients={},
            **{name: getattr(self, name)[index] for name in _TENSOR_FIELDS},
        )


_TENSOR_FIELDS = (
    "scale",
    "u",
    "v",
    "w_kk",
    "w_kr",
    "w_rk",
    "w_rr",
    "metric_rows",
    "metric_cols",
    "metric_u",
    "metric_v",
    "gram_u",
    "gram_v",
)


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
    fishers: Sequence[ModuleFisher],
    split_damping: float,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> ModuleGroup:
    """Stack the Fisher-derived constants of same-shaped modules (see :class:`ModuleGroup`)."""
    fishers = [f.to(device, dtype) for f in fishers]
    tiny = torch.finfo(dtype).tiny
    weights: dict[str, list[torch.Tensor]] = {b: [] for b in BLOCKS}
    values: dict[str, list[torch.Tensor]] = {b: [] for b in BLOCKS}
    rows, cols = [], []
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
    w = {b: torch.stack(weights[b]) for b in BLOCKS}
    mu = {b: torch.stack(values[b]) for b in BLOCKS}
    coefficients = {
        "fisher": tuple(0.5 * mu[b] * w[b].square() for b in BLOCKS),
        "stabiliser": tuple(0.5 * (1 - w[b]).square() for b in BLOCKS),
        "norm_a": tuple(w[b].square() for b in BLOCKS),
        "norm_t": tuple((1 - w[b]).square() for b in BLOCKS),
        "inner": tuple(w[b] * (1 - w[b]) for b in BLOCKS),
    }
    u = torch.stack([f.output_factor.vectors for f in fishers])
    v = torch.stack([f.input_factor.vectors for f in fishers])
    metric_rows, metric_cols = torch.stack(rows), torch.stack(cols)
    metric_u, metric_v = metric_rows[:, :, None] * u, metric_cols[:, :, None] * v
    return ModuleGroup(
        positions=tuple(positions),
        scale=torch.tensor(list(scales), dtype=dtype, device=device),
        u=u,
        v=v,
        w_kk=w["kk"],
        w_kr=w["kr"],
        w_rk=w["rk"],
        w_rr=w["rr"],
        coefficients=coefficients,
        metric_rows=metric_rows,
        metric_cols=metric_cols,
        metric_u=metric_u,
        metric_v=metric_v,
        gram_u=u.mT @ metric_u,
        gram_v=v.mT @ metric_v,
    )


@dataclass
class SpectralParts:
    """Per-step products shared by the spectral terms and the overlap (leading dimension ``G``)."""

    b_u: torch.Tensor  # UᵀB, (G, k_out, r)
    a_v: torch.Tensor  # AV, (G, r, k_in)
    coords: torch.Tensor  # s·UᵀΔW V / s = s Bᵤ Aᵥ, (G, k_out, k_in)
    energies: tuple[torch.Tensor, ...]  # E_kk (G,k_out,k_in), E_kr (G,k_out), E_rk (G,k_in), E_rr (G,)


def spectral_parts(group: ModuleGroup, lora_a: torch.Tensor, lora_b: torch.Tensor) -> SpectralParts:
    """ΔW's energies in the eigen-blocks, batched (as :func:`~axolotl_agl.core.penalty.compute_spectral_energies`)."""
    s = group.scale[:, None, None]
    s2 = group.scale.square()
    b_u = group.u.mT @ lora_b
    a_v = lora_a @ group.v
    gram_a = lora_a @ lora_a.mT
    gram_b = lora_b.mT @ lora_b
    coords = s * (b_u @ a_v)
    e_kk = coords.square()
    row_energy = s2[:, None] * ((b_u @ gram_a) * b_u).sum(-1)
    col_energy = s2[:, None] * ((gram_b @ a_v) * a_v).sum(-2)
    total = s2 * (gram_a * gram_b).sum((-2, -1))
    e_kr = row_energy - e_kk.sum(-1)
    e_rk = col_energy - e_kk.sum(-2)
    e_rr = total - e_kk.sum((-2, -1)) - e_kr.sum(-1) - e_rk.sum(-1)
    return SpectralParts(b_u, a_v, coords, (e_kk, e_kr, e_rk, e_rr))


def _block_sum(coefficients: tuple[torch.Tensor, ...], energies: tuple[torch.Tensor, ...]) -> torch.Tensor:
    c_kk, c_kr, c_rk, c_rr = coefficients
    e_kk, e_kr, e_rk, e_rr = energies
    return (c_kk * e_kk).sum((-2, -1)) + (c_kr * e_kr).sum(-1) + (c_rk * e_rk).sum(-1) + c_rr * e_rr


def spectral_group_terms(group: ModuleGroup, parts: SpectralParts) -> dict[str, torch.Tensor]:
    """Fisher penalty, stabiliser and geodesic separation of every module of the group, shape ``(G,)``."""
    c, e = group.coefficients, parts.energies
    norm_a, norm_t, inner = _block_sum(c["norm_a"], e), _block_sum(c["norm_t"], e), _block_sum(c["inner"], e)
    return {
        "fisher": _block_sum(c["fisher"], e),
        "stabiliser": _block_sum(c["stabiliser"], e),
        "geodesic": inner.square() / (norm_a * norm_t + COLLISION_SCALE**4),
    }


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
    """``P``, ``Q``, ``C_A``, ``C_T``, ``G_P``, ``G_Q`` of every module of ``group`` (``O((d_in + d_out)·r·(r+k))``)."""
    b_u, a_v, coords = parts.b_u, parts.a_v, parts.coords
    r = lora_a.shape[1]
    s = group.scale[:, None, None]
    w_rr = group.w_rr[:, None, None]
    k_core = (group.w_kk - group.w_kr[:, :, None] - group.w_rk[:, None, :] + w_rr) * coords
    eye = torch.eye(r, dtype=lora_a.dtype, device=lora_a.device).expand(lora_a.shape[0], r, r)
    top = torch.cat([s * w_rr * eye, s * a_v * (group.w_rk - group.w_rr[:, None])[:, None, :]], dim=2)
    bottom = torch.cat([s * (group.w_kr - group.w_rr[:, None])[:, :, None] * b_u, k_core], dim=2)
    c_a = torch.cat([top, bottom], dim=1)
    c_w = torch.zeros_like(c_a)
    c_w[:, :r, :r] = s * eye
    gram_bb = lora_b.mT @ (group.metric_rows[:, :, None] * lora_b)
    gram_bu = lora_b.mT @ group.metric_u
    gram_p = torch.cat([torch.cat([gram_bb, gram_bu], 2), torch.cat([gram_bu.mT, group.gram_u], 2)], 1)
    gram_aa = lora_a @ (group.metric_cols[:, :, None] * lora_a.mT)
    gram_av = lora_a @ group.metric_v
    gram_q = torch.cat([torch.cat([gram_aa, gram_av], 2), torch.cat([gram_av.mT, group.gram_v], 2)], 1)
    p = torch.cat([lora_b, group.u], dim=2)
    q = torch.cat([lora_a, group.v.mT], dim=1)
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


class _BatchedFusedOverlapNumerator(torch.autograd.Function):
    """:class:`~axolotl_agl.core.penalty._FusedOverlapNumerator` for ``G`` modules at once (row chunks of all G).

    ``N_g = Σ_pq m_pq |A|_pq |W − A|_pq`` with ``A = a_left a_right``, ``W = dw_left dw_right``; the gradient
    w.r.t. the four factors is accumulated chunk by chunk in the forward pass, so nothing of size
    ``G × rows × d_in`` outlives its chunk and backward only scales the stored sums.
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        dw_left: torch.Tensor,
        a_left: torch.Tensor,
        dw_right: torch.Tensor,
        a_right: torch.Tensor,
        metric_rows: torch.Tensor,
        metric_cols: torch.Tensor,
        chunk_rows: int,
    ) -> torch.Tensor:
        want_grad = any(ctx.needs_input_grad[:4])
        total = dw_left.new_zeros(dw_left.shape[0])
        t_left = torch.cat([dw_left, -a_left], dim=2)
        t_right = torch.cat([dw_right, a_right], dim=1)
        mc = metric_cols[:, :, None]
        if want_grad:
            dw_right_m, a_right_m = dw_right * metric_cols[:, None, :], a_right * metric_cols[:, None, :]
            g_dw_left, g_a_left = torch.empty_like(dw_left), torch.empty_like(a_left)
            g_dw_right, g_a_right = torch.zeros_like(dw_right), torch.zeros_like(a_right)
        for start in range(0, dw_left.shape[1], chunk_rows):
            rows = slice(start, start + chunk_rows)
            mr = metric_rows[:, rows]
            abs_a = a_left[:, rows] @ a_right
            abs_t = t_left[:, rows] @ t_right
            sign_a, sign_t = abs_a.sign(), abs_t.sign()
            abs_a.abs_()
            abs_t.abs_()
            total = total + (mr * ((abs_a * abs_t) @ mc).squeeze(-1)).sum(-1)
            if not want_grad:
                continue
            grad_w = sign_t.mul_(abs_a)
            grad_a = sign_a.mul_(abs_t).sub_(grad_w)
            del abs_a, abs_t
            g_dw_left[:, rows] = mr[:, :, None] * (grad_w @ dw_right_m.mT)
            g_a_left[:, rows] = mr[:, :, None] * (grad_a @ a_right_m.mT)
            g_dw_right.baddbmm_((dw_left[:, rows] * mr[:, :, None]).mT, grad_w)
            g_a_right.baddbmm_((a_left[:, rows] * mr[:, :, None]).mT, grad_a)
        if want_grad:
            scale_cols = metric_cols[:, None, :]
            ctx.save_for_backward(g_dw_left, g_a_left, g_dw_right.mul_(scale_cols), g_a_right.mul_(scale_cols))
        return total

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_output: torch.Tensor) -> tuple:
        grads = [g * grad_output[:, None, None] for g in ctx.saved_tensors]
        return (*grads, None, None, None)


def exact_numerators(
    group: ModuleGroup, form: CoreForm, lora_a: torch.Tensor, lora_b: torch.Tensor, chunk_rows: int | None = None
) -> torch.Tensor:
    """``N`` per module exactly, over row chunks of ``G × rows × d_in`` ≈ :data:`CHUNK_ELEMENTS` values."""
    g, d_in = lora_a.shape[0], lora_a.shape[2]
    rows = chunk_rows or max(1, CHUNK_ELEMENTS // max(g * d_in, 1))
    return _BatchedFusedOverlapNumerator.apply(
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
    if 0 < samples < min(group.u.shape[1], group.v.shape[1]):
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
    sub = SpectralParts(parts.b_u[index], parts.a_v[index], parts.coords[index], ())
    overlap = overlap_group_terms(group.select(index), lora_a[index], lora_b[index], sub, overlap_samples, generator)
    return GroupTerms(**spectral, overlap=overlap, overlap_weight=group.size / drawn)


class StackedPenalty:
    """The four AlignGuard terms of many modules, computed group by group (see the module docstring).

    Built once from each module's LoRA scale and Fisher summary (``example_factors`` only give the shapes and the
    device of the LoRA factors); :meth:`terms` then takes the current ``(A, B)`` of every module, in the same
    order, and returns the aggregates of :func:`~axolotl_agl.core.penalty.combine_terms`: Fisher penalty and
    stabiliser summed over modules, overlap and geodesic averaged. Computed in ``dtype`` (float32 by default,
    whatever the autocast state or the factors' dtype).
    """

    def __init__(
        self,
        example_factors: Sequence[tuple[torch.Tensor, torch.Tensor]],
        scales: Sequence[float],
        fishers: Sequence[ModuleFisher],
        split_damping: float = 1.0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if not example_factors:
            raise ValueError("no LoRA modules to regularise")
        if not len(example_factors) == len(scales) == len(fishers):
            raise ValueError("example_factors, scales and fishers must have one entry per module")
        self.dtype = dtype
        self.n_modules = len(example_factors)
        keyed: dict[tuple, list[int]] = {}
        for i, ((a, b), fisher) in enumerate(zip(example_factors, fishers, strict=True)):
            keyed.setdefault(shape_key(a, b, fisher), []).append(i)
        self.groups = [
            build_module_group(
                positions,
                [scales[i] for i in positions],
                [fishers[i] for i in positions],
                split_damping,
                dtype,
                example_factors[positions[0]][0].device,
            )
            for positions in keyed.values()
        ]
        self.device = example_factors[0][0].device

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
        """``λ_A·fisher + λ_T·stabiliser + λ_NC·(α·overlap + (1−α)·geodesic)`` and the four terms."""
        agg = self.terms(factors, overlap_samples, overlap_module_fraction, generator)
        total = (
            lambda_alignment * agg["fisher"]
            + lambda_task * agg["stabiliser"]
            + lambda_collision * (alpha * agg["overlap"] + (1 - alpha) * agg["geodesic"])
        )
        return total, agg


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
