"""AlignGuard regularisation terms, computed from the LoRA factors without forming ``d_out × d_in``
matrices (except inside the row-chunked coordinate-overlap term).

Notation (one LoRA-targeted linear layer): ``ΔW = s·B·A`` with ``B`` (``d_out × r``), ``A``
(``r × d_in``) and ``s = lora_alpha / r``. The Fisher of the layer is ``F = G ⊗ S`` (see
:mod:`axolotl_agl.fisher_state`); its eigenvectors are ``u_i ⊗ v_j`` with eigenvalues
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
from torch.utils.checkpoint import checkpoint

from axolotl_agl.fisher_state import ModuleFisher

#: ‖ΔW‖_F scale below which the two scale-free collision terms fade out smoothly.
COLLISION_SCALE = 1e-2

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


def _overlap_chunk(
    lora_b_rows: torch.Tensor,
    u_rows: torch.Tensor,
    metric_rows: torch.Tensor,
    lora_a: torch.Tensor,
    scale: float,
    v: torch.Tensor,
    weights: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    coords: torch.Tensor,
    ut_dw: torch.Tensor,
    metric_cols: torch.Tensor,
) -> torch.Tensor:
    w_kk, w_kr, w_rk, w_rr = weights
    dw = scale * (lora_b_rows @ lora_a)  # c × d_in rows of ΔW
    dw_v = dw @ v  # c × k_in
    u_c = u_rows @ coords  # rows of U·C
    part_kk = u_rows @ (w_kk * coords) @ v.T
    part_kr = (u_rows * w_kr) @ (ut_dw - coords @ v.T)
    part_rk = ((dw_v - u_c) * w_rk) @ v.T
    part_rr = w_rr * (dw - u_rows @ ut_dw - dw_v @ v.T + u_c @ v.T)
    dw_a = part_kk + part_kr + part_rk + part_rr
    dw_t = dw - dw_a
    metric = metric_rows[:, None] * metric_cols[None, :]
    overlap = (metric * dw_a.abs() * dw_t.abs()).sum()
    mass = 0.5 * (metric * (dw_a.square() + dw_t.square())).sum()
    return torch.stack([overlap, mass])


def compute_coordinate_overlap(
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    scale: float,
    fisher: ModuleFisher,
    damping: torch.Tensor | float,
    chunk_rows: int = 1024,
) -> torch.Tensor:
    """Fisher-metric coordinate overlap of ``ΔW_A`` and ``ΔW_T``, in ``[0, 1]``.

    ``Σ_pq m_pq |ΔW_A[p,q]|·|ΔW_T[p,q]|  /  (½ Σ_pq m_pq (ΔW_A[p,q]² + ΔW_T[p,q]²) + δ²)`` with the
    metric ``m`` the diagonal of ``G ⊗ S`` divided by its mean. Rows are processed in chunks and
    recomputed in the backward pass, so at most ``chunk_rows × d_in`` values are alive at once.
    """
    out_f, in_f = fisher.output_factor, fisher.input_factor
    u, v = out_f.vectors, in_f.vectors
    w_kk = split_weights(torch.outer(out_f.values, in_f.values), damping)
    w_kr = split_weights(out_f.values * in_f.residual, damping)
    w_rk = split_weights(out_f.residual * in_f.values, damping)
    w_rr = split_weights(out_f.residual * in_f.residual, damping)
    coords = scale * ((u.T @ lora_b) @ (lora_a @ v))
    ut_dw = scale * ((u.T @ lora_b) @ lora_a)
    diag_g, diag_s = out_f.diagonal(), in_f.diagonal()
    metric_rows = diag_g / diag_g.mean().clamp_min(torch.finfo(diag_g.dtype).tiny)
    metric_cols = diag_s / diag_s.mean().clamp_min(torch.finfo(diag_s.dtype).tiny)
    totals = torch.zeros(2, dtype=lora_a.dtype, device=lora_a.device)
    weights = (w_kk, w_kr, w_rk, w_rr)
    for start in range(0, lora_b.shape[0], chunk_rows):
        rows = slice(start, start + chunk_rows)
        args = (lora_b[rows], u[rows], metric_rows[rows], lora_a, scale, v, weights, coords, ut_dw, metric_cols)
        if torch.is_grad_enabled() and lora_b.shape[0] > chunk_rows:
            totals = totals + checkpoint(_overlap_chunk, *args, use_reentrant=False)
        else:
            totals = totals + _overlap_chunk(*args)
    return totals[0] / (totals[1] + COLLISION_SCALE**2)


def compute_module_terms(
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    scale: float,
    fisher: ModuleFisher,
    split_damping: float = 1.0,
) -> dict[str, torch.Tensor]:
    """All four AlignGuard terms of one module, in float32 whatever the autocast state."""
    with torch.autocast(device_type=lora_a.device.type, enabled=False):
        a = lora_a.float()
        b = lora_b.float()
        fisher = fisher.to(a.device, torch.float32)
        # A module with no Fisher mass (all eigenvalues 0) gets weights 0/(0+tiny) = 0, not NaN.
        damping = (split_damping * fisher.mean_eigenvalue()).clamp_min(torch.finfo(torch.float32).tiny)
        terms = compute_spectral_terms(compute_spectral_energies(a, b, scale, fisher), damping)
        terms["overlap"] = compute_coordinate_overlap(a, b, scale, fisher, damping)
    return terms


def combine_terms(
    per_module: list[dict[str, torch.Tensor]],
    lambda_alignment: float,
    lambda_task: float,
    lambda_collision: float,
    alpha: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total penalty and the per-term aggregates.

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
    total = (
        lambda_alignment * agg["fisher"]
        + lambda_task * agg["stabiliser"]
        + lambda_collision * (alpha * agg["overlap"] + (1 - alpha) * agg["geodesic"])
    )
    return total, agg
