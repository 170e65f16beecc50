"""``utils.memory.release_freed_memory``: glibc's malloc_trim after garbage collection, a no-op elsewhere."""

from __future__ import annotations

import platform

import torch

import axolotl_agl.utils.memory as memory


def test_release_keeps_every_live_tensor_and_reports_whether_it_trimmed():
    kept = [torch.arange(1000, dtype=torch.float32) * i for i in range(50)]
    freed = [torch.ones(1 << 18) for _ in range(50)]
    del freed
    trimmed = memory.release_freed_memory()
    is_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert trimmed is is_glibc
    for i, tensor in enumerate(kept):
        assert torch.equal(tensor, torch.arange(1000, dtype=torch.float32) * i)


def test_without_malloc_trim_it_only_collects_garbage(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.release_freed_memory() is False
