"""AlignGuard regularisation terms, computed from the LoRA factors without forming ``d_out × d_in``
matrices (except one row chunk at a time inside the exact coordinate-overlap term, or a few sampled rows
when the overlap is estimated by importance sampling).

Notation (one LoRA-targeted linear layer): ``ΔW = s·B·A`` with ``B`` (``d_out × r``), ``A``
(``r × d_in``) and ``s = lora_alpha / r``. The Fisher of the layer is ``F = G ⊗ S`` (see
:mod:`axolotl_agl.core.fisher_state`); its eigenvectors are ``u_i ⊗ v_j`` with eigenvalues
``μ_ij = g_i · s_j`` (``i`` / ``j`` run over the kept eigenvectors and one "rest" block each).

The update is split softly along those eigen-directions:

    ΔW_A = Ω(ΔW),  ΔW_T = ΔW - ΔW_A,  Ω = F (F + ρ I)^-1,  i.e. weight w_ij = μ_ij / (μ_ij + ρ)

so a direction whose Fisher eigenvalue is far above ``ρ`` belongs to the alignment-critical part,
one far below belongs to the task part. ``ρ = split_damping · mean eigenvalue of F``. Because every
weight lies strictly in (0, 1), ``ΔW_A`` and ``ΔW_T`` overlap, so no term vanishes by construction.
Full derivations and the reasons for each choice: ``docs/method.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from axolotl_agl.core.fisher_state import ModuleFisher
from axolotl_agl.core.fused_overlap import FusedOverlapNumerator

#: ‖ΔW‖_F scale below which the two scale-free collision terms fade out smoothly.
COLLISION_SCALE = 1e-2
#: Default size of one row chunk of the exact overlap, in elements (rows × d_in; 16 MiB per float32 temporary).
CHUNK_ELEMENTS = 1 << 22
#: Share of the uniform distribution mixed into the sampled overlap's line distribution (keeps every line
#: possible, so the estimator stays unbiased whatever round-off does to the metric masses).
UNIFORM_MIX = 0.01

TERM_NAMES = ("fisher", "stabiliser", "overlap", "geodesic")


@dataclass
class SpectralEnergies:
    """``ΔW``'s squared coordinates in the Kronecker eigenbasis of ``F``, grouped in blocks.

    ``energies[b]`` is the squared norm of ``ΔW`` inside eigen-block ``b`` and ``eigenvalues[b]``
    the Fisher eigenvalue of that block (the blocks are: kept×kept pairs, kept-output×rest-input,
    rest-output×kept-input, rest×rest).
    """

    energies: torch.Tensor
    eigenvalues: torch.Tensor


def compute_spectral_energies(
    lora_a: torch.Tensor, lora_b: torch.Tensor, scale: float, fisher: ModuleFisher
) -> SpectralEnergies:
    """Project ``ΔW = scale·B·A`` onto the eigen-blocks of ``G ⊗ S`` in ``O((d_in + d_out)·r·k)``."""
    u, g, sigma_g = fisher.output_factor.vectors, fisher.output_factor.values, fisher.output_factor.residual
    v, s, sigma_s = fisher.input_factor.vectors, fisher.input_factor.values, fisher.input_factor.residual
    b_u = u.T @ lora_b  # k_out × r
    a_v = lora_a @ v  # r × k_in
    gram_a = lora_a @ lora_a.T  # r × r
    gram_b = lora_b.T @ lora_b  # r × r
    scale2 = scale * scale
    coords_sq = (scale * (b_u @ a_v)).square()  # (u_iᵀ ΔW v_j)²
    row_energy = scale2 * ((b_u @ gram_a) * b_u).sum(dim=1)  # ‖u_iᵀ ΔW‖²
    col_energy = scale2 * ((gram_b @ a_v) * a_v).sum(dim=0)  # ‖ΔW v_j‖²
    total = scale2 * (gram_a * gram_b).sum()  # ‖ΔW‖²_F
    kept_rest = row_energy - coords_sq.sum(dim=1)
    rest_kept = col_energy - coords_sq.sum(dim=0)
    rest_rest = total - coords_sq.sum() - kept_rest.sum() - rest_kept.sum()
    energies = torch.cat([coords_sq.flatten(), kept_rest, rest_kept, rest_rest.reshape(1)])
    eigenvalues = torch.cat(
        [
            torch.outer(g, s).flatten(),
            g * sigma_s,
            sigma_g * s,
            (sigma_g * sigma_s).reshape(1),
        ]
    )
    return SpectralEnergies(energies, eigenvalues)


def split_weights(eigenvalues: torch.Tensor, damping: torch.Tensor | float) -> torch.Tensor:
    """Share of each Fisher eigen-direction assigned to the alignment-critical part ``ΔW_A``."""
    return eigenvalues / (eigenvalues + damping)


def compute_spectral_terms(spectral: SpectralEnergies, damping: torch.Tensor | float) -> dict[str, torch.Tensor]:
    """Fisher penalty, stabiliser and geodesic separation of one module (all spectral)."""
    e, mu = spectral.energies, spectral.eigenvalues
    w = split_weights(mu, damping)
    norm_a = (w.square() * e).sum()  # ‖ΔW_A‖²
    norm_t = ((1 - w).square() * e).sum()  # ‖ΔW_T‖²
    inner = (w * (1 - w) * e).sum()  # ⟨ΔW_A, ΔW_T⟩
    return {
        "fisher": 0.5 * (mu * w.square() * e).sum(),  # ½ vec(ΔW_A)ᵀ F vec(ΔW_A)
        "stabiliser": 0.5 * norm_t,
        "geodesic": inner.square() / (norm_a * norm_t + COLLISION_SCALE**4),
    }


@dataclass
class LowRankSplit:
    """``ΔW``, ``ΔW_A`` and ``ΔW_T`` as products ``left @ right`` (ranks ``r``, ``r + k_out + k_in`` twice).

    With ``P_U = UUᵀ``, ``P_V = VVᵀ``, ``Bᵤ = UᵀB``, ``Aᵥ = AV``, ``C = s·Bᵤ Aᵥ`` and the block weights
    ``w_kk`` (``k_out × k_in``), ``w_kr``, ``w_rk``, ``w_rr``:

        ΔW_A = w_rr·ΔW + U diag(w_kr − w_rr) UᵀΔW + ΔW V diag(w_rk − w_rr) Vᵀ + U K Vᵀ,
        K = (w_kk − w_kr 1ᵀ − 1 w_rkᵀ + w_rr) ∘ C

    (each of the four eigen-blocks ``P_U·P_V``, ``P_U·(I − P_V)``, ... gets its own weight), i.e.
    ``left = [s·w_rr·B, U, s·B Aᵥ diag(w_rk − w_rr)]`` and
    ``right = [A; diag(w_kr − w_rr)·s·Bᵤ A + K Vᵀ; Vᵀ]``. ``ΔW_T`` is the same with weights ``1 − w``.
    """

    dw_left: torch.Tensor
    dw_right: torch.Tensor
    a_left: torch.Tensor
    a_right: torch.Tensor
    t_left: torch.Tensor
    t_right: torch.Tensor

    def transposed(self) -> LowRankSplit:
        """The split of ``ΔWᵀ`` (with the roles of the output and input factors swapped)."""
        return LowRankSplit(
            self.dw_right.T, self.dw_left.T, self.a_right.T, self.a_left.T, self.t_right.T, self.t_left.T
        )


def low_rank_split(
    lora_a: torch.Tensor, lora_b: torch.Tensor, scale: float, fisher: ModuleFisher, damping: torch.Tensor | float
) -> LowRankSplit:
    """Low-rank factors of ``ΔW``, ``ΔW_A`` and ``ΔW_T`` in ``O((d_in + d_out)·(r + k)·k)``."""
    out_f, in_f = fisher.output_factor, fisher.input_factor
    u, v = out_f.vectors, in_f.vectors
    b_u = u.T @ lora_b  # k_out × r
    a_v = lora_a @ v  # r × k_in
    coords = scale * (b_u @ a_v)  # C = Uᵀ ΔW V
    ut_dw = scale * (b_u @ lora_a)  # Uᵀ ΔW, k_out × d_in
    dw_v = scale * (lora_b @ a_v)  # ΔW V, d_out × k_in
    w_kk = split_weights(torch.outer(out_f.values, in_f.values), damping)
    w_kr = split_weights(out_f.values * in_f.residual, damping)
    w_rk = split_weights(out_f.residual * in_f.values, damping)
    w_rr = split_weights(out_f.residual * in_f.residual, damping)

    def factors(kk: torch.Tensor, kr: torch.Tensor, rk: torch.Tensor, rr: torch.Tensor) -> tuple:
        core = (kk - kr[:, None] - rk[None, :] + rr) * coords
        left = torch.cat([(scale * rr) * lora_b, u, dw_v * (rk - rr)[None, :]], dim=1)
        right = torch.cat([lora_a, (kr - rr)[:, None] * ut_dw + core @ v.T, v.T], dim=0)
        return left, right

    a_left, a_right = factors(w_kk, w_kr, w_rk, w_rr)
    t_left, t_right = factors(1 - w_kk, 1 - w_kr, 1 - w_rk, 1 - w_rr)
    return LowRankSplit(scale * lora_b, lora_a, a_left, a_right, t_left, t_right)


def overlap_metric(fisher: ModuleFisher) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column factors of the overlap metric ``m_pq = diag(G)_p diag(S)_q``, each divided by its mean."""
    diag_g, diag_s = fisher.output_factor.diagonal(), fisher.input_factor.diagonal()
    metric_rows = diag_g / diag_g.mean().clamp_min(torch.finfo(diag_g.dtype).tiny)
    metric_cols = diag_s / diag_s.mean().clamp_min(torch.finfo(diag_s.dtype).tiny)
    return metric_rows, metric_cols


def _weighted_row_masses(
    left: torch.Tensor, right: torch.Tensor, metric_rows: torch.Tensor, metric_cols: torch.Tensor
) -> torch.Tensor:
    """``m_p Σ_q m_q (left @ right)²_pq`` for every row ``p``, through the Gram matrix ``right diag(m) rightᵀ``."""
    gram = (right * metric_cols[None, :]) @ right.T
    return metric_rows * ((left @ gram) * left).sum(dim=1)


def overlap_mass(split: LowRankSplit, metric_rows: torch.Tensor, metric_cols: torch.Tensor) -> torch.Tensor:
    """The overlap's denominator without ``δ²``: ``½ Σ_pq m_pq (ΔW_A² + ΔW_T²)_pq``, exactly, in low rank.

    ``Σ_pq m_p m_q (LR)²_pq = Σ_ij (Lᵀ diag(m_rows) L)_ij (R diag(m_cols) Rᵀ)_ij`` costs
    ``O((d_out + d_in)·(r + 2k)²)``. It is *not* a spectral quantity (the diagonal metric does not commute
    with the Kronecker eigenbasis), but ``ΔW_A`` and ``ΔW_T`` have low rank, which is enough.
    """

    def mass(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        gram_l = (left * metric_rows[:, None]).T @ left
        gram_r = (right * metric_cols[None, :]) @ right.T
        return (gram_l * gram_r).sum()

    return 0.5 * (mass(split.a_left, split.a_right) + mass(split.t_left, split.t_right))


def _overlap_rows(
    dw_left_rows: torch.Tensor,
    a_left_rows: torch.Tensor,
    metric_rows: torch.Tensor,
    dw_right: torch.Tensor,
    a_right: torch.Tensor,
    metric_cols: torch.Tensor,
) -> torch.Tensor:
    """``N_p = m_p Σ_q m_q |ΔW_A|_pq |ΔW_T|_pq`` for a block of rows (the only place entries of ΔW exist)."""
    dw = dw_left_rows @ dw_right
    dw_a = a_left_rows @ a_right
    return metric_rows * ((dw_a.abs() * (dw - dw_a).abs()) @ metric_cols)


def default_chunk_rows(d_in: int) -> int:
    """Rows per chunk so that one ``rows × d_in`` temporary holds about :data:`CHUNK_ELEMENTS` values."""
    return max(1, CHUNK_ELEMENTS // max(d_in, 1))


def exact_overlap_numerator(
    split: LowRankSplit,
    metric_rows: torch.Tensor,
    metric_cols: torch.Tensor,
    chunk_rows: int | None = None,
    fused: bool = True,
) -> torch.Tensor:
    """``N = Σ_pq m_pq |ΔW_A|_pq |ΔW_T|_pq`` over row chunks of ``ΔW``.

    ``fused`` (default): :class:`~axolotl_agl.core.fused_overlap.FusedOverlapNumerator` — the gradient is accumulated chunk by chunk in
    the forward pass, so between forward and backward no module holds anything of size ``rows × d_in``
    (only gradients the size of the low-rank factors), at any moment at most one chunk's temporaries exist,
    and no chunk is recomputed. ``fused=False`` is plain autograd through the chunks: every chunk's
    temporaries are kept for the backward pass (``O(d_out·d_in)`` per module; for measurements only).
    """
    d_in = split.dw_right.shape[1]
    rows_per_chunk = chunk_rows or default_chunk_rows(d_in)
    if fused:
        return FusedOverlapNumerator.apply(
            split.dw_left[None],
            split.a_left[None],
            split.dw_right[None],
            split.a_right[None],
            metric_rows.detach()[None],
            metric_cols.detach()[None],
            rows_per_chunk,
        )[0]
    total = split.dw_left.new_zeros(())
    for start in range(0, split.dw_left.shape[0], rows_per_chunk):
        rows = slice(start, start + rows_per_chunk)
        args = (split.dw_left[rows], split.a_left[rows], metric_rows[rows], split.dw_right, split.a_right, metric_cols)
        total = total + _overlap_rows(*args).sum()
    return total


def overlap_sampling_distribution(
    split: LowRankSplit, metric_rows: torch.Tensor, metric_cols: torch.Tensor
) -> tuple[torch.Tensor, bool]:
    """Line-sampling probabilities ``π`` of the sampled overlap, and whether lines are columns.

    Lines are rows of ``ΔW`` when ``d_in <= d_out`` and columns otherwise (the shorter lines are cheaper
    to evaluate; the variance bound does not depend on the choice). ``π_p ∝ (1 − ε)·D_p/D + ε/n_lines``
    with ``D_p = ½ m_p Σ_q m_q (ΔW_A² + ΔW_T²)_pq`` the metric mass of line ``p`` (exact, low rank) and
    ``ε =`` :data:`UNIFORM_MIX`. Computed without gradient: the sampling distribution is a constant.
    """
    transposed = split.dw_right.shape[1] > split.dw_left.shape[0]
    if transposed:
        split, metric_rows, metric_cols = split.transposed(), metric_cols, metric_rows
    with torch.no_grad():
        masses = _weighted_row_masses(split.a_left, split.a_right, metric_rows, metric_cols)
        masses = masses + _weighted_row_masses(split.t_left, split.t_right, metric_rows, metric_cols)
        masses = masses.clamp_min(0.0)
        n_lines = masses.numel()
        uniform = torch.full_like(masses, 1.0 / n_lines)
        total = masses.sum()
        if not bool(total > 0) or not bool(torch.isfinite(total)):
            return uniform, transposed
        return (1 - UNIFORM_MIX) * masses / total + UNIFORM_MIX * uniform, transposed


def sampled_overlap_numerator(
    split: LowRankSplit,
    metric_rows: torch.Tensor,
    metric_cols: torch.Tensor,
    samples: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Unbiased importance-sampling estimate of ``N = Σ_pq m_pq |ΔW_A|_pq |ΔW_T|_pq`` (value and gradient).

    Draw ``samples`` lines ``p_1..p_n`` i.i.d. from ``π`` (:func:`overlap_sampling_distribution`), evaluate
    each line exactly (``N_p``, ``O((r + k)·line length)``) and return ``N̂ = (1/n) Σ_i N_{p_i} / π_{p_i}``.
    ``E[N̂] = N``, ``Var[N̂] = (Σ_p N_p² / π_p − N²) / n``. Since ``|a||t| ≤ ½(a² + t²)`` gives
    ``N_p ≤ D_p``, each ``N_{p_i}/π_{p_i}`` lies in ``[0, D / (1 − ε)]``, so ``Var[N̂] ≤ D² / (4n(1 − ε)²)``.
    ``π`` is a constant for autograd, so ``E[∇N̂] = ∇N`` as well.
    """
    probs, transposed = overlap_sampling_distribution(split, metric_rows, metric_cols)
    if transposed:
        split, metric_rows, metric_cols = split.transposed(), metric_cols, metric_rows
    idx = torch.multinomial(probs, samples, replacement=True, generator=generator)
    values = _overlap_rows(
        split.dw_left[idx], split.a_left[idx], metric_rows[idx], split.dw_right, split.a_right, metric_cols
    )
    return (values / probs[idx]).mean()


def compute_coordinate_overlap(
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    scale: float,
    fisher: ModuleFisher,
    damping: torch.Tensor | float,
    chunk_rows: int | None = None,
    samples: int = 0,
    generator: torch.Generator | None = None,
    fused: bool = True,
) -> torch.Tensor:
    """Fisher-metric coordinate overlap of ``ΔW_A`` and ``ΔW_T``, in ``[0, 1]``.

    ``Σ_pq m_pq |ΔW_A[p,q]|·|ΔW_T[p,q]|  /  (½ Σ_pq m_pq (ΔW_A[p,q]² + ΔW_T[p,q]²) + δ²)`` with the
    metric ``m`` the diagonal of ``G ⊗ S`` divided by its mean. The denominator is computed exactly in
    low rank (:func:`overlap_mass`). The numerator needs entries of ``ΔW_A``:

    * ``samples == 0`` (default): exactly, over row chunks of ``chunk_rows`` rows (default
      :func:`default_chunk_rows`) whose gradient is accumulated as they are computed
      (:func:`exact_overlap_numerator`);
    * ``samples > 0``: estimated from that many importance-sampled rows or columns
      (:func:`sampled_overlap_numerator`); with the exact denominator the returned ratio is an unbiased
      estimate of the overlap, and so is its gradient. Falls back to the exact value when ``samples`` is at
      least the number of lines.
    """
    split = low_rank_split(lora_a, lora_b, scale, fisher, damping)
    metric_rows, metric_cols = overlap_metric(fisher)
    denominator = overlap_mass(split, metric_rows, metric_cols) + COLLISION_SCALE**2
    if 0 < samples < min(lora_b.shape[0], lora_a.shape[1]):
        numerator = sampled_overlap_numerator(split, metric_rows, metric_cols, samples, generator)
    else:
        numerator = exact_overlap_numerator(split, metric_rows, metric_cols, chunk_rows, fused)
    return numerator / denominator


def compute_module_terms(
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    scale: float,
    fisher: ModuleFisher,
    split_damping: float = 1.0,
    overlap_samples: int = 0,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """All four AlignGuard terms of one module, in float32 whatever the autocast state.

    ``overlap_samples > 0`` replaces the exact coordinate overlap by its unbiased sampled estimate from
    that many rows/columns (:func:`compute_coordinate_overlap`); ``generator`` drives the sampling.
    """
    with torch.autocast(device_type=lora_a.device.type, enabled=False):
        a = lora_a.float()
        b = lora_b.float()
        fisher = fisher.to(a.device, torch.float32)
        # A module with no Fisher mass (all eigenvalues 0) gets weights 0/(0+tiny) = 0, not NaN.
        damping = (split_damping * fisher.mean_eigenvalue()).clamp_min(torch.finfo(torch.float32).tiny)
        terms = compute_spectral_terms(compute_spectral_energies(a, b, scale, fisher), damping)
        terms["overlap"] = compute_coordinate_overlap(
            a, b, scale, fisher, damping, samples=overlap_samples, generator=generator
        )
    return terms


def weighted_total(
    terms: dict[str, torch.Tensor], lambda_alignment: float, lambda_task: float, lambda_collision: float, alpha: float
) -> torch.Tensor:
    """``λ_A·fisher + λ_T·stabiliser + λ_NC·(α·overlap + (1−α)·geodesic)`` of the four aggregated terms."""
    return (
        lambda_alignment * terms["fisher"]
        + lambda_task * terms["stabiliser"]
        + lambda_collision * (alpha * terms["overlap"] + (1 - alpha) * terms["geodesic"])
    )


def combine_terms(
    per_module: list[dict[str, torch.Tensor]],
    lambda_alignment: float,
    lambda_task: float,
    lambda_collision: float,
    alpha: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total penalty (:func:`weighted_total`) and the per-term aggregates.

    Fisher penalty and stabiliser are summed over modules (the Fisher penalty then approximates the
    increase of the alignment loss, in nats); the two scale-free collision terms are averaged.
    """
    if not per_module:
        raise ValueError("no LoRA modules to regularise")
    agg = {
        "fisher": torch.stack([t["fisher"] for t in per_module]).sum(),
        "stabiliser": torch.stack([t["stabiliser"] for t in per_module]).sum(),
        "overlap": torch.stack([t["overlap"] for t in per_module]).mean(),
        "geodesic": torch.stack([t["geodesic"] for t in per_module]).mean(),
    }
    return weighted_total(agg, lambda_alignment, lambda_task, lambda_collision, alpha), agg
