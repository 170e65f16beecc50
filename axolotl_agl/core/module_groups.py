"""Stacking the Fisher-derived constants of same-shaped LoRA modules (what the stacked penalty computes once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from axolotl_agl.core.fisher_state import ModuleFisher
from axolotl_agl.core.penalty import overlap_metric, split_weights

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
