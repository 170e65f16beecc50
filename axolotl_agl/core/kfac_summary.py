"""The top-``k`` eigen-summary of collected K-FAC factors (:func:`summarise_factors`), run on every CPU core.

The pass that collects the factors is :mod:`axolotl_agl.core.kfac`; this module only turns its moments into the
:class:`~axolotl_agl.core.fisher_state.ModuleFisher` summaries the penalty and the cache use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import torch

from axolotl_agl.core.fisher_state import LowRankFactor, ModuleFisher, SketchedMoment, low_rank_factor

if TYPE_CHECKING:
    from axolotl_agl.core.kfac import KFACFactors


@contextlib.contextmanager
def single_threaded_on_cpu(tensors: list[torch.Tensor]) -> Iterator[int]:
    """Run the block with one torch thread when any of ``tensors`` is on the CPU (restored afterwards).

    Yields the number of torch threads there were before (1 when nothing is on the CPU): the block can use that
    many Python workers instead, one matrix each. The eigendecompositions of the summary are of 192-1536-wide
    matrices: LAPACK's tridiagonal reduction at that size does not scale across threads: on the project's 2-core
    machine ``eigh`` of a 576-wide float64 matrix took 0.081 s CPU / 0.073 s wall with two threads and 0.039 s /
    0.039 s with one (192-wide: 0.011 / 0.0024 s CPU).
    """
    if not any(t.device.type == "cpu" for t in tensors):
        yield 1
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)


def summarise_moments(
    moments: dict[int, torch.Tensor | SketchedMoment], k: int, workers: int = 1
) -> dict[int, LowRankFactor]:
    """:func:`low_rank_factor` of every moment, on ``workers`` Python threads (widest moments first).

    Each summary is computed exactly as on one thread (the same single-threaded kernels on the same matrix), so
    the result does not depend on ``workers``; torch releases the GIL inside its kernels, so on a CPU with one
    torch thread ``workers`` = cores runs that many eigendecompositions side by side.
    """
    if workers <= 1 or len(moments) <= 1:
        return {key: low_rank_factor(moment, k) for key, moment in moments.items()}
    order = sorted(moments, key=lambda key: -moments[key].shape[0])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(low_rank_factor, moments[key], k) for key in order}
        return {key: futures[key].result() for key in moments}


def summarise_factors(factors: dict[str, KFACFactors], k: int) -> dict[str, ModuleFisher]:
    """Top-``k`` eigen-summary of each layer's factors (see :class:`ModuleFisher`).

    Dense moments are eigendecomposed exactly; sketched ones by the Nyström method, one torch thread each on the
    CPU and as many moments side by side as there were torch threads (:func:`single_threaded_on_cpu`,
    :func:`summarise_moments`). A moment shared by several layers (the shared inputs of q/k/v and gate/up)
    is summarised once and those layers' :class:`ModuleFisher` hold the *same* :class:`LowRankFactor` object: the
    summary keeps one copy of it, and so do the cache (:mod:`axolotl_agl.integration.fisher_cache`) and the
    penalty (:mod:`axolotl_agl.core.module_groups`). Use :func:`~axolotl_agl.core.fisher_state.summary_to` to move
    such a summary without copying a shared factor once per layer.
    """
    moments: dict[int, torch.Tensor | SketchedMoment] = {}
    for name, f in factors.items():
        d_in, d_out = f.input_moment.shape[0], f.grad_moment.shape[0]
        if k > min(d_in, d_out):
            raise ValueError(
                f"alignguard.rank_k={k} is larger than module {name!r} (d_in={d_in}, d_out={d_out}); "
                f"set alignguard.rank_k <= {min(d_in, d_out)}"
            )
        for moment in (f.input_moment, f.grad_moment):
            if isinstance(moment, SketchedMoment) and k > moment.width:
                raise ValueError(
                    f"alignguard.rank_k={k} exceeds the {moment.width} columns of module {name!r}'s Fisher sketch; "
                    f"collect the factors with rank_k >= {k}"
                )
        for moment in (f.grad_moment, f.input_moment):
            moments.setdefault(id(moment), moment)  # the dict keeps `moment` alive: ids stay unique
    tensors = [m.sketch if isinstance(m, SketchedMoment) else m for m in moments.values()]
    with single_threaded_on_cpu(tensors) as workers:
        summaries = summarise_moments(moments, k, workers)
    return {
        name: ModuleFisher(output_factor=summaries[id(f.grad_moment)], input_factor=summaries[id(f.input_moment)])
        for name, f in factors.items()
    }
