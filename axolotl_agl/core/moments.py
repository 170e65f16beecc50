"""Running second-moment statistics of one K-FAC factor: exact ``d × d`` sums or streaming Nyström sketches.

The Fisher pass (:mod:`axolotl_agl.core.kfac`) asks :class:`MomentFactory` for one accumulator per factor;
which kind it gets depends on the factor's width and the ``sketch`` mode (:func:`uses_sketch`).
"""

from __future__ import annotations

from typing import Literal

import torch

from axolotl_agl.core.fisher_state import (
    SketchedMoment,
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


#: Narrowest block of the symmetric (block upper-triangular) Gram update; at most :data:`GRAM_MAX_BLOCKS` blocks.
GRAM_BLOCK_MIN = 192
GRAM_MAX_BLOCKS = 4


def gram_blocks(dim: int) -> list[tuple[int, int]]:
    """The column blocks ``[(start, stop), ...]`` of a ``dim``-wide Gram sum updated block-upper-triangularly.

    ``b = min(GRAM_MAX_BLOCKS, dim // GRAM_BLOCK_MIN)`` blocks (at least one) cost ``(b + 1) / (2b)`` of the full
    product: a 1536-wide update of 300 rows took 9.5 ms CPU in 4 blocks instead of 16.7 ms, a 576-wide one 1.7 ms in
    3 blocks instead of 2.2 ms (two threads, the project's machine).
    """
    count = max(1, min(GRAM_MAX_BLOCKS, dim // GRAM_BLOCK_MIN))
    bounds = [dim * i // count for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


class DenseMomentAccumulator:
    """Exact running sum ``Σ x xᵀ`` (``d × d``), kept on the CPU like the original Fisher pass.

    The sum is symmetric, so each update computes only its block upper triangle (:func:`gram_blocks`): ``sum``
    holds the diagonal blocks and the blocks above them, the blocks below stay zero until :meth:`result` mirrors
    them. The sums over ranks (:meth:`state_tensors`) add these partial matrices, which is the same.
    """

    def __init__(self, dim: int, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> None:
        self.sum = torch.zeros(dim, dim, dtype=dtype, device=device)
        self.blocks = gram_blocks(dim)
        self.updates = 0
        self.complete = False  # set after the first pass: later passes do not touch an exact sum

    @property
    def nbytes(self) -> int:
        return self.sum.numel() * self.sum.element_size()

    def add(self, rows: torch.Tensor) -> None:
        """Add ``rowsᵀ rows`` (its block upper triangle) for ``rows`` of shape ``(n, d)``."""
        if self.complete:
            return
        rows = rows.to(self.sum.dtype)
        for start, stop in self.blocks:
            block = self.sum[start:stop, start:]
            if rows.device == self.sum.device:
                block.addmm_(rows[:, start:stop].T, rows[:, start:])  # in place: no temporary of the sum's size
            else:  # the product where the rows are (e.g. the GPU), the sum where it is kept
                block += (rows[:, start:stop].T @ rows[:, start:]).to(self.sum.device)
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
        """``Σ x xᵀ / count``, the whole symmetric matrix (the blocks below the diagonal blocks mirrored)."""
        moment = self.sum / max(count, 1)
        for start, stop in self.blocks[1:]:
            moment[start:stop, :start] = moment[:start, start:stop].T
        return moment


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
