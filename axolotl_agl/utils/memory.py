"""Handing memory freed by the Fisher pass back to the operating system (glibc's ``malloc_trim``).

The Fisher pass allocates ~1 GB of K-FAC sums on SmolLM2-135M (more on bigger models) next to the activations of
its forward/backward passes. Once they are freed, glibc keeps many of those pages in its heaps. Measured on
SmolLM2-135M in one process (scratch scripts, 2026-12-04): after ``collect_kfac_factors`` + ``summarise_factors`` on
48 examples (batch 8) and freeing the factors, 2.69 GB stayed resident and ``malloc_trim(0)`` brought it to 1.20 GB;
after ``obtain_fisher_summary`` on 64 examples (batch 4), 1.78 GB without the trim and 1.26 GB with it (0.59 GB
before the pass). Through Axolotl's trainer a run that computed its Fisher still began training at 2.88 GB against
0.87 GB for plain LoRA (what else the trainer process keeps is not found yet), and its training peak was as far above
LoRA's as that of a run that loaded a cached Fisher (``docs/performance.md``, 2026-12-04).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` or None (another C library, or no C library found)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Collect garbage, then return the C heap's free pages to the OS; True when ``malloc_trim`` ran.

    Only pages no live object uses are released, so this never changes a tensor; it costs a few milliseconds. Where
    the C library has no ``malloc_trim`` (macOS, musl) it only collects garbage and returns False.
    """
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
