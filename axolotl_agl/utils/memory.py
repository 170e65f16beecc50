"""Handing memory freed by the Fisher pass back to the operating system (glibc's ``malloc_trim``).

The Fisher pass allocates ~1 GB of K-FAC sums on SmolLM2-135M (several on bigger models) next to the activations of
its forward/backward passes. Once they are freed, glibc keeps the pages in its heaps: measured on SmolLM2-135M (48
examples, batch 8), the process stayed at 2.69 GB resident after the factors were freed, and ``malloc_trim(0)`` gave
1.49 GB back (1.20 GB). Without it a training run that computed its Fisher starts ~2 GB larger than plain LoRA's and
its peak RSS is higher by what training cannot reuse of those pages.
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
