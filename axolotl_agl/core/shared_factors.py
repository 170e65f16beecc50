"""Which low-rank Fisher factors are the same, and how a group's modules share them (pure functions).

Layers that read the same input (q/k/v, gate/up) have the same input factor; the Fisher summary gives them one
object, a cache stores it once (:mod:`axolotl_agl.integration.fisher_cache`) and the stacked penalty puts it in its
input bank once (:mod:`axolotl_agl.core.module_groups`). Two factors are "the same" when they are the same tensors
or, off the meta device, equal in every value.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from axolotl_agl.core.fisher_state import LowRankFactor

__all__ = ["distinct_factors", "same_factor", "share_pattern"]


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
