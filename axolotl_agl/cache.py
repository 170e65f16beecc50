"""Fisher cache: one safetensors file with the per-module eigen-summaries and JSON metadata.

Written atomically (temporary file in the same directory, then ``os.replace``); read only with
``safetensors`` (no pickle). The metadata identifies what the Fisher was computed from, so a cache
is reused only for the same base model, target modules, k and alignment data.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from axolotl_agl.fisher_state import LowRankFactor, ModuleFisher

FORMAT_VERSION = "1"
_FIELDS = ("vectors", "values", "residual")


def _tensors_of(summary: dict[str, ModuleFisher]) -> dict[str, torch.Tensor]:
    tensors = {}
    for name, fisher in summary.items():
        for side, factor in (("output", fisher.output_factor), ("input", fisher.input_factor)):
            for field in _FIELDS:
                tensors[f"{name}::{side}::{field}"] = getattr(factor, field).detach().to(torch.float32).contiguous()
    return tensors


def _checksum(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(tensors[key].numpy().tobytes())
    return digest.hexdigest()


def save_fisher_cache(path: str | Path, summary: dict[str, ModuleFisher], metadata: dict[str, str]) -> Path:
    """Write ``summary`` and ``metadata`` to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = _tensors_of(summary)
    meta = {k: str(v) for k, v in metadata.items()}
    meta.update(format_version=FORMAT_VERSION, modules=json.dumps(sorted(summary)), checksum=_checksum(tensors))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class FisherCacheError(RuntimeError):
    """A cache file that cannot be used (corrupt, truncated, or from another format)."""


def load_fisher_cache(path: str | Path) -> tuple[dict[str, ModuleFisher], dict[str, str]]:
    """Read a cache written by :func:`save_fisher_cache`; verifies its checksum."""
    path = Path(path)
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise FisherCacheError(
            f"Fisher cache {path} is unreadable ({err}); delete it or set alignguard.fisher_cache_path elsewhere"
        ) from err
    if metadata.get("format_version") != FORMAT_VERSION:
        raise FisherCacheError(f"Fisher cache {path} has format {metadata.get('format_version')!r}, expected 1")
    if _checksum(tensors) != metadata.get("checksum"):
        raise FisherCacheError(f"Fisher cache {path} fails its checksum; delete it to recompute")
    summary = {}
    for name in json.loads(metadata["modules"]):
        factors = []
        for side in ("output", "input"):
            factors.append(LowRankFactor(*(tensors[f"{name}::{side}::{field}"] for field in _FIELDS)))
        summary[name] = ModuleFisher(output_factor=factors[0], input_factor=factors[1])
    return summary, metadata


def metadata_mismatches(found: dict[str, str], expected: dict[str, str]) -> list[str]:
    """Keys of ``expected`` whose value differs in ``found`` (e.g. base model, k, data fingerprint)."""
    return [key for key, value in expected.items() if found.get(key) != str(value)]
