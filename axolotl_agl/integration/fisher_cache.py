"""Fisher cache: one safetensors file with the per-module eigen-summaries and JSON metadata.

Format 2 (written since the shared input factors): every *distinct* low-rank factor is stored once, as
``factor.<i>::vectors`` / ``::values`` / ``::residual``, and the metadata key ``module_factors`` maps each module
to the indices of its output and input factor, so the input factor that q/k/v (and gate/up) share is one tensor
in the file and one object in the loaded summary. Factors are distinct unless they are the same tensors or equal
in every value (:func:`~axolotl_agl.core.shared_factors.distinct_factors`). Format 1 files (one copy of every
factor per module, ``<module>::<side>::<field>``) still load, each module with its own copy. The ``checksum`` is
the same for both: SHA-256 of the per-module summary (:func:`summary_checksum`), whatever the file layout.

Written atomically (temporary file in the same directory, then ``os.replace``); read only with
``safetensors`` and ``json`` (no pickle). The metadata identifies what the Fisher was computed from,
so a cache is reused only for the same base model, target modules, k and alignment data. Anything
wrong with a file (truncated, corrupt, wrong format, non-finite values) is reported as a
:class:`FisherCacheError` naming the path and the fix, never as a raw safetensors error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from axolotl_agl.core.fisher_state import LowRankFactor, ModuleFisher
from axolotl_agl.core.shared_factors import distinct_factors
from axolotl_agl.utils.io import atomic_path

FORMAT_VERSION = "2"
#: Older formats this version still reads ("1": one copy of every factor per module).
READABLE_VERSIONS = ("1", FORMAT_VERSION)
_FIELDS = ("vectors", "values", "residual")
_SIDES = ("output", "input")

#: How each identifying metadata key is set in the YAML (used in mismatch messages).
METADATA_KEY_SOURCES = {
    "base_model": "base_model",
    "target_modules_sha256": "lora_target_modules / lora_target_linear",
    "rank_k": "alignguard.rank_k",
    "fisher_definition": "the Fisher definition of this axolotl_agl version",
    "data_fingerprint": "alignguard.alignment_datasets / fisher_num_samples / fisher_max_tokens / tokenizer",
    "num_examples": "alignguard.alignment_datasets / fisher_num_samples",
    "fisher_replies": "alignguard.fisher_replies",
}


class FisherCacheError(RuntimeError):
    """A cache file that cannot be used (corrupt, truncated, from another format, or not matching the config)."""


def _tensors_of(summary: dict[str, ModuleFisher]) -> dict[str, torch.Tensor]:
    tensors = {}
    for name, fisher in summary.items():
        for side, factor in zip(_SIDES, (fisher.output_factor, fisher.input_factor), strict=True):
            for field in _FIELDS:
                tensors[f"{name}::{side}::{field}"] = getattr(factor, field).detach().to(torch.float32).contiguous()
    return tensors


def _checksum(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(tensors[key].cpu().numpy().tobytes())
    return digest.hexdigest()


def summary_checksum(summary: dict[str, ModuleFisher]) -> str:
    """SHA-256 of a Fisher summary, module by module in float32: identifies the penalty's Fisher state exactly.

    Independent of how a file stores it (format 1 or 2) and of which modules share a factor object.
    """
    return _checksum(_tensors_of(summary))


def nonfinite_modules(summary: dict[str, ModuleFisher]) -> list[str]:
    """Names of the modules whose summary holds a NaN or an infinity."""
    bad = []
    for name, fisher in summary.items():
        tensors = [getattr(f, field) for f in (fisher.output_factor, fisher.input_factor) for field in _FIELDS]
        if not all(bool(torch.isfinite(t).all()) for t in tensors):
            bad.append(name)
    return bad


def _stored(tensor: torch.Tensor) -> torch.Tensor:
    """float32, contiguous, on the CPU, with its own storage (safetensors refuses tensors that share memory)."""
    out = tensor.detach().to(device="cpu", dtype=torch.float32).contiguous()
    return out.clone() if out.untyped_storage().nbytes() != out.numel() * out.element_size() else out


def _file_layout(summary: dict[str, ModuleFisher]) -> tuple[dict[str, torch.Tensor], dict[str, list[int]]]:
    """Format 2: the distinct factors (``factor.<i>::<field>``) and each module's ``[output, input]`` indices."""
    names = list(summary)
    factors = [f for name in names for f in (summary[name].output_factor, summary[name].input_factor)]
    distinct, index = distinct_factors(factors)
    tensors = {
        f"factor.{i}::{field}": _stored(getattr(factor, field))
        for i, factor in enumerate(distinct)
        for field in _FIELDS
    }
    module_factors = {name: [index[2 * j], index[2 * j + 1]] for j, name in enumerate(names)}
    return tensors, module_factors


def save_fisher_cache(path: str | Path, summary: dict[str, ModuleFisher], metadata: dict[str, str]) -> Path:
    """Write ``summary`` and ``metadata`` to ``path`` atomically (format 2: each distinct factor once); returns it.

    Refuses (``ValueError``) a summary with non-finite values: a poisoned cache must never be written.
    """
    path = Path(path)
    bad = nonfinite_modules(summary)
    if bad:
        raise ValueError(f"refusing to write Fisher cache {path}: non-finite values in modules {bad[:5]}")
    tensors, module_factors = _file_layout(summary)
    meta = {k: str(v) for k, v in metadata.items()}
    meta.update(
        format_version=FORMAT_VERSION,
        modules=json.dumps(sorted(summary)),
        module_factors=json.dumps(module_factors),
        checksum=summary_checksum(summary),
    )
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def _cache_error(path: Path, problem: str) -> FisherCacheError:
    return FisherCacheError(
        f"Fisher cache {path} {problem}; delete the file to recompute it, or set alignguard.fisher_cache_path "
        "to another location"
    )


def _read_file(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """Metadata and tensors of a safetensors file; every failure becomes a :class:`FisherCacheError`."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as err:  # noqa: BLE001 - safetensors raises several types for truncated/corrupt files
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _cache_error(path, f"is unreadable (truncated or corrupt: {reason})") from None
    return metadata, tensors


def _checked_factor(vectors: torch.Tensor, values: torch.Tensor, residual: torch.Tensor, label: str) -> LowRankFactor:
    if vectors.dim() != 2 or values.shape != (vectors.shape[1],) or residual.dim() != 0:
        raise ValueError(f"{label} has inconsistent shapes {tuple(vectors.shape)}, {tuple(values.shape)}")
    return LowRankFactor(vectors, values, residual)


def _summary_v1(tensors: dict[str, torch.Tensor], names: list[str]) -> dict[str, ModuleFisher]:
    """Format 1: ``<module>::<side>::<field>``, one copy of every factor per module."""

    def factor(name: str, side: str) -> LowRankFactor:
        parts = (tensors[f"{name}::{side}::{field}"] for field in _FIELDS)
        return _checked_factor(*parts, label=f"{name}::{side}")

    return {name: ModuleFisher(factor(name, "output"), factor(name, "input")) for name in names}


def _summary_v2(
    tensors: dict[str, torch.Tensor], names: list[str], metadata: dict[str, str]
) -> dict[str, ModuleFisher]:
    """Format 2: distinct factors ``factor.<i>::<field>``; modules that share an index share the object."""
    module_factors = json.loads(metadata["module_factors"])
    factors: dict[int, LowRankFactor] = {}

    def factor(i: int) -> LowRankFactor:
        if i not in factors:
            parts = (tensors[f"factor.{i}::{field}"] for field in _FIELDS)
            factors[i] = _checked_factor(*parts, label=f"factor.{i}")
        return factors[i]

    return {
        name: ModuleFisher(factor(int(module_factors[name][0])), factor(int(module_factors[name][1]))) for name in names
    }


def load_fisher_cache(path: str | Path) -> tuple[dict[str, ModuleFisher], dict[str, str]]:
    """Read a cache written by :func:`save_fisher_cache` (format 2, or an older format 1 file).

    Verifies the format, the checksum (of the per-module summary), shapes and finiteness; any problem is a
    :class:`FisherCacheError` naming the file and the fix (the plugin then recomputes the Fisher under
    ``alignguard.fisher_cache: reuse``).
    """
    path = Path(path)
    metadata, tensors = _read_file(path)
    found = metadata.get("format_version")
    if found not in READABLE_VERSIONS:
        raise _cache_error(
            path, f"has format {found!r}, this version reads {list(READABLE_VERSIONS)} (not an AlignGuard cache?)"
        )
    try:
        names = json.loads(metadata["modules"])
        summary = _summary_v1(tensors, names) if found == "1" else _summary_v2(tensors, names, metadata)
    except (KeyError, IndexError, ValueError, TypeError) as err:
        raise _cache_error(path, f"is incomplete ({type(err).__name__}: {err})") from None
    if summary_checksum(summary) != metadata.get("checksum"):
        raise _cache_error(path, "fails its checksum (modified or partly written)")
    bad = nonfinite_modules(summary)
    if bad:
        raise _cache_error(path, f"contains NaN/Inf values (modules {bad[:5]})")
    return summary, metadata


def metadata_mismatches(found: dict[str, str], expected: dict[str, str]) -> list[str]:
    """Keys of ``expected`` whose value differs in ``found`` (e.g. base model, k, data fingerprint)."""
    return [key for key, value in expected.items() if found.get(key) != str(value)]


def _module_difference(found: dict[str, str], expected_modules: list[str]) -> str:
    try:
        cached = set(json.loads(found.get("modules", "[]")))
    except ValueError:
        return ""
    wanted = set(expected_modules)
    only_cache, only_config = sorted(cached - wanted)[:3], sorted(wanted - cached)[:3]
    return (
        f" ({len(cached)} modules in the cache, {len(wanted)} in this config; only in the cache: {only_cache}, "
        f"only in this config: {only_config})"
    )


def describe_mismatches(
    found: dict[str, str], expected: dict[str, str], expected_modules: list[str] | None = None
) -> list[str]:
    """One human-readable line per mismatched key: the YAML key(s) it comes from, cache value vs config value."""
    lines = []
    for key in metadata_mismatches(found, expected):
        source = METADATA_KEY_SOURCES.get(key, key)
        if key == "target_modules_sha256" and expected_modules is not None:
            lines.append(
                f"{key} [{source}]: the targeted LoRA modules differ{_module_difference(found, expected_modules)}"
            )
        else:
            lines.append(f"{key} [{source}]: cache has {found.get(key)!r}, this config gives {str(expected[key])!r}")
    return lines
