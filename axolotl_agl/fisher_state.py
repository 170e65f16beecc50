"""The per-module Fisher summary that the penalty consumes.

For a linear layer ``y = W x`` the K-FAC approximation of the Fisher information of ``W`` is a
Kronecker product ``G ⊗ S`` of two small matrices:

* ``S`` (``d_in × d_in``): the second moment of the layer's *inputs* ``x`` over tokens;
* ``G`` (``d_out × d_out``): the second moment of the gradients of the loss with respect to the
  layer's *outputs* ``y``.

Each factor is stored as "top-k eigenpairs + one isotropic value for the rest":
``S ≈ V diag(s) Vᵀ + σ_S (I - V Vᵀ)``, where ``σ_S`` is the mean of the eigenvalues that were not
kept (``(tr S - Σ s) / (d_in - k)``). This needs ``O((d_in + d_out)·k)`` memory, is exact when
``k`` equals the dimension, and keeps the total Fisher mass (the trace) of the factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LowRankFactor:
    """A symmetric PSD matrix ``M ≈ Q diag(values) Qᵀ + residual · (I - Q Qᵀ)``.

    ``Q`` has orthonormal columns (``dim × k``), ``values`` are the top-k eigenvalues in
    descending order, and ``residual`` is the mean of the remaining eigenvalues.
    """

    vectors: torch.Tensor
    values: torch.Tensor
    residual: torch.Tensor

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def rank(self) -> int:
        return int(self.vectors.shape[1])

    def to(self, device: torch.device | str, dtype: torch.dtype = torch.float32) -> LowRankFactor:
        return LowRankFactor(
            self.vectors.to(device=device, dtype=dtype),
            self.values.to(device=device, dtype=dtype),
            self.residual.to(device=device, dtype=dtype),
        )

    def dense(self) -> torch.Tensor:
        """Materialise the ``dim × dim`` matrix (for tests and small layers only)."""
        q = self.vectors
        eye = torch.eye(self.dim, dtype=q.dtype, device=q.device)
        return q @ torch.diag(self.values) @ q.T + self.residual * (eye - q @ q.T)

    def diagonal(self) -> torch.Tensor:
        """The diagonal of :meth:`dense`, in ``O(dim·k)``."""
        return self.residual + (self.vectors.square() * (self.values - self.residual)).sum(dim=1)


@dataclass
class ModuleFisher:
    """K-FAC Fisher summary of one LoRA-targeted linear layer, ``F ≈ G ⊗ S``."""

    output_factor: LowRankFactor  # G, gradient side, d_out
    input_factor: LowRankFactor  # S, activation side, d_in

    def to(self, device: torch.device | str, dtype: torch.dtype = torch.float32) -> ModuleFisher:
        return ModuleFisher(self.output_factor.to(device, dtype), self.input_factor.to(device, dtype))

    def mean_eigenvalue(self) -> torch.Tensor:
        """Mean eigenvalue of ``G ⊗ S``: ``(tr G / d_out) · (tr S / d_in)``."""

        def mean_of(f: LowRankFactor) -> torch.Tensor:
            return (f.values.sum() + f.residual * (f.dim - f.rank)) / f.dim

        return mean_of(self.output_factor) * mean_of(self.input_factor)


def low_rank_factor_from_dense(matrix: torch.Tensor, k: int) -> LowRankFactor:
    """Top-``k`` eigenpairs of a symmetric PSD matrix plus the mean of the rest.

    Eigen-decomposition is done in float64; negative round-off eigenvalues are clipped to 0.
    """
    dim = matrix.shape[0]
    if not 1 <= k <= dim:
        raise ValueError(f"k={k} must lie in [1, {dim}]")
    m64 = matrix.detach().to(torch.float64)
    m64 = 0.5 * (m64 + m64.T)
    values, vectors = torch.linalg.eigh(m64)
    values = values.clamp_min(0.0).flip(0)
    vectors = vectors.flip(1)
    top = values[:k]
    rest = values[k:]
    residual = rest.mean() if rest.numel() else torch.zeros((), dtype=torch.float64)
    return LowRankFactor(vectors[:, :k].contiguous(), top.contiguous(), residual)
