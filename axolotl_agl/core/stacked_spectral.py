"""The spectral terms (Fisher penalty, stabiliser, geodesic parts) of a stacked group of same-shaped modules."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from axolotl_agl.core.module_groups import ModuleGroup
from axolotl_agl.core.penalty import COLLISION_SCALE


@dataclass
class SpectralParts:
    """Per-step products shared by the spectral terms and the overlap (leading dimension ``G``)."""

    b_u: torch.Tensor  # UᵀB, (G, k_out, r)
    a_v: torch.Tensor  # AV, (G, r, k_in)
    coords: torch.Tensor  # s·UᵀΔW V / s = s Bᵤ Aᵥ, (G, k_out, k_in)
    energies: tuple[torch.Tensor, ...]  # E_kk (G,k_out,k_in), E_kr (G,k_out), E_rk (G,k_in), E_rr (G,)
    v: torch.Tensor  # the input eigenvectors as read this step, (G / v_share, d_in, k_in)
    v_share: int  # consecutive modules per entry of v (ModuleGroup.input_vectors)


def shared_input_product(lhs: torch.Tensor, v: torch.Tensor, v_share: int) -> torch.Tensor:
    """``lhs[j] @ v[j // v_share]`` for every module ``j``: ``(G, n, d_in) @ (G/m, d_in, k) → (G, n, k)``.

    The ``m = v_share`` modules sharing an entry of ``v`` are multiplied side by side, as one
    ``(m·n) × d_in`` block, so ``v`` is read where it is (no per-module copy).
    """
    g, n, d_in = lhs.shape
    if v_share == 1:
        return lhs @ v
    return (lhs.reshape(g // v_share, v_share * n, d_in) @ v).reshape(g, n, v.shape[-1])


def spectral_parts(group: ModuleGroup, lora_a: torch.Tensor, lora_b: torch.Tensor) -> SpectralParts:
    """ΔW's energies in the eigen-blocks, batched (as :func:`~axolotl_agl.core.penalty.compute_spectral_energies`)."""
    s = group.scale[:, None, None]
    s2 = group.scale.square()
    v, v_share = group.input_vectors()
    b_u = group.u.mT @ lora_b
    a_v = shared_input_product(lora_a, v, v_share)
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
    return SpectralParts(b_u, a_v, coords, (e_kk, e_kr, e_rk, e_rr), v, v_share)


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
