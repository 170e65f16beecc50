"""Fisher cache: atomic writes, validation on load, and ``alignguard.fisher_cache: reuse | rebuild | strict``.

Runs ``obtain_fisher_summary`` on a tiny in-memory PEFT Llama (no Axolotl import), so each Fisher pass
takes milliseconds.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import axolotl_agl.integration.fisher_cache as cache_module
import axolotl_agl.integration.precompute as precompute
from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample
from axolotl_agl.integration.args import AlignGuardConfig
from axolotl_agl.integration.fisher_cache import (
    FisherCacheError,
    load_fisher_cache,
    save_fisher_cache,
    summary_checksum,
)
from axolotl_agl.integration.precompute import obtain_fisher_summary
from tests.helpers import tiny_peft_llama

VOCAB = 40


class _Tokenizer:
    pad_token_id = 0
    eos_token_id = 1


def tiny_peft_model(targets: tuple[str, ...] = ("q_proj", "down_proj")) -> torch.nn.Module:
    return tiny_peft_llama(targets, vocab_size=VOCAB)


def examples(seed: int = 0, n: int = 6) -> list[TokenizedExample]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ids = torch.randint(2, VOCAB, (10,), generator=gen).tolist()
        out.append(TokenizedExample(ids, [IGNORE_INDEX] * 3 + ids[3:]))
    return out


def obtain(tmp_path: Path, model=None, data=None, base: str = "tiny", **agl_settings):
    agl = AlignGuardConfig(
        rank_k=agl_settings.pop("rank_k", 3),
        fisher_batch_size=2,
        fisher_cache_path=str(tmp_path / "fisher.safetensors"),
        **agl_settings,
    )
    return obtain_fisher_summary(
        model if model is not None else tiny_peft_model(),
        _Tokenizer(),
        agl,
        base_model=base,
        output_dir=str(tmp_path),
        show_progress=False,
        examples=data if data is not None else examples(),
    )


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_ino


def test_first_run_computes_second_reuses_without_rewriting(tmp_path):
    first = obtain(tmp_path)
    assert not first.reused and first.path.is_file()
    assert first.metadata["checksum"] == summary_checksum(first.summary)
    before = _identity(first.path)
    second = obtain(tmp_path)
    assert second.reused and _identity(first.path) == before
    assert second.metadata["checksum"] == first.metadata["checksum"]
    assert summary_checksum(second.summary) == first.metadata["checksum"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fisher.safetensors"], "temporary files left behind"


def test_reuse_recomputes_with_a_warning_naming_the_mismatched_key(tmp_path, caplog):
    obtain(tmp_path, rank_k=3)
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        result = obtain(tmp_path, rank_k=2)
    assert not result.reused
    assert "was built for another config (rank_k [alignguard.rank_k]: cache has '3', this config gives '2')" in (
        caplog.text
    )
    assert "recomputing it" in caplog.text
    assert load_fisher_cache(result.path)[1]["rank_k"] == "2"


def test_strict_stops_naming_every_mismatched_key_and_the_fix(tmp_path, monkeypatch):
    path = obtain(tmp_path, base="model-a").path
    before = _identity(path)
    monkeypatch.setattr(precompute, "FISHER_DEFINITION", "kfac-expand/other/v2")
    with pytest.raises(FisherCacheError) as info:
        obtain(
            tmp_path,
            model=tiny_peft_model(("q_proj", "v_proj")),
            data=examples(seed=1, n=5),
            base="model-b",
            rank_k=2,
            fisher_cache="strict",
        )
    message = str(info.value)
    assert f"Fisher cache {path} does not match this config (alignguard.fisher_cache: strict)" in message
    assert "base_model [base_model]: cache has 'model-a', this config gives 'model-b'" in message
    assert (
        "target_modules_sha256 [lora_target_modules / lora_target_linear]: the targeted LoRA modules differ" in message
    )
    assert (
        "(2 modules in the cache, 2 in this config; only in the cache: ['model.layers.0.mlp.down_proj'], "
        "only in this config: ['model.layers.0.self_attn.v_proj'])"
    ) in message
    assert "rank_k [alignguard.rank_k]: cache has '3', this config gives '2'" in message
    assert "fisher_definition [the Fisher definition of this axolotl_agl version]" in message
    assert "data_fingerprint [alignguard.alignment_datasets / fisher_num_samples / fisher_max_tokens / tokenizer]" in (
        message
    )
    assert "num_examples" in message
    assert "Fix: set alignguard.fisher_cache: rebuild (or reuse) to recompute it, delete the file" in message
    assert _identity(path) == before, "strict must not touch the cache"


def test_strict_uses_a_matching_cache_and_computes_a_missing_one(tmp_path):
    first = obtain(tmp_path, fisher_cache="strict")
    assert not first.reused and first.path.is_file()
    assert obtain(tmp_path, fisher_cache="strict").reused


def test_rebuild_always_recomputes(tmp_path):
    path = obtain(tmp_path).path
    before = _identity(path)
    result = obtain(tmp_path, fisher_cache="rebuild")
    assert not result.reused and _identity(path) != before


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x13not a safetensors file at all" * 10)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _foreign_safetensors(path: Path) -> None:
    save_file({"weight": torch.ones(2, 2)}, str(path))


CORRUPTIONS = [
    (_truncate, r"is unreadable \(truncated or corrupt: "),
    (_garbage, r"is unreadable \(truncated or corrupt: "),
    (_empty, r"is unreadable \(truncated or corrupt: "),
    (_flip_last_byte, r"fails its checksum \(modified or partly written\)"),
    (_foreign_safetensors, r"has format None, this version reads \['1', '2'\] \(not an AlignGuard cache\?\)"),
]
CORRUPTION_IDS = ["truncated", "garbage", "empty", "bit-flip", "foreign-safetensors"]


@pytest.mark.parametrize(("corrupt", "problem"), CORRUPTIONS, ids=CORRUPTION_IDS)
def test_corrupt_file_gives_a_clear_error(tmp_path, corrupt, problem):
    path = obtain(tmp_path).path
    corrupt(path)
    with pytest.raises(FisherCacheError) as info:
        load_fisher_cache(path)
    message = str(info.value)
    assert message.startswith(f"Fisher cache {path} ")
    assert re.search(problem, message), message
    assert "delete the file to recompute it, or set alignguard.fisher_cache_path to another location" in message
    error = info.value  # no chained safetensors traceback under ours
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize(("corrupt", "problem"), CORRUPTIONS[:2], ids=CORRUPTION_IDS[:2])
def test_corrupt_file_strict_stops_reuse_warns_and_recomputes(tmp_path, caplog, corrupt, problem):
    path = obtain(tmp_path).path
    corrupt(path)
    with pytest.raises(FisherCacheError, match=r"\(alignguard\.fisher_cache: strict\)"):
        obtain(tmp_path, fisher_cache="strict")
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        result = obtain(tmp_path)
    assert not result.reused
    assert f"Fisher cache {path} is unreadable" in caplog.text and "Recomputing it" in caplog.text
    load_fisher_cache(path)  # valid again


def test_failed_write_keeps_the_old_cache_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    result = obtain(tmp_path)
    before = result.path.read_bytes()

    def broken_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(cache_module, "save_file", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_fisher_cache(result.path, result.summary, result.metadata)
    assert result.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fisher.safetensors"]


def test_cache_from_a_model_with_other_dimensions_is_not_reused(tmp_path, caplog):
    obtain(tmp_path)
    small = tiny_peft_model()
    # Same module names, other dimensions: rebuild a model with a wider MLP.
    wider = tiny_peft_llama(["q_proj", "down_proj"], vocab_size=VOCAB, intermediate_size=24)
    del small
    with pytest.raises(
        FisherCacheError, match=r"module dimensions: .*down_proj: cache has d_out×d_in=16×32, model has 16×24"
    ):
        obtain(tmp_path, model=wider, fisher_cache="strict")


# ---------------------------------------------------------------- format 2: shared factors stored once


def _shared_summary(tmp_path: Path):
    """A summary of q/k/v and gate/up (shared inputs) from the plugin's path, and its cache file."""
    result = obtain(tmp_path, model=tiny_peft_model(("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj")))
    return result.summary, result.path


def test_shared_input_factor_is_stored_once_and_loads_shared(tmp_path):
    summary, path = _shared_summary(tmp_path)
    factor_ids = {id(f) for fisher in summary.values() for f in (fisher.output_factor, fisher.input_factor)}
    layers = sorted({name.split("layers.")[1].split(".")[0] for name in summary})
    # per layer: the outputs of q, k, v, gate, up and two inputs (attention, MLP)
    assert len(summary) == 5 * len(layers) and len(factor_ids) == 7 * len(layers)
    with safe_open(str(path), framework="pt") as handle:
        keys = list(handle.keys())  # noqa: SIM118 - not a dict
        metadata = handle.metadata()
    assert metadata["format_version"] == "2"
    assert sum(key.endswith("::vectors") for key in keys) == len(factor_ids)
    loaded, found = load_fisher_cache(path)
    assert found["checksum"] == summary_checksum(summary) == summary_checksum(loaded)
    for layer in layers:
        q, k, v, gate, up = (
            next(n for n in loaded if f"layers.{layer}." in n and n.endswith(t))
            for t in ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj")
        )
        assert loaded[q].input_factor is loaded[k].input_factor is loaded[v].input_factor
        assert loaded[gate].input_factor is loaded[up].input_factor
        assert loaded[q].input_factor is not loaded[gate].input_factor
    for name, fisher in summary.items():
        for side in ("output_factor", "input_factor"):
            for field in ("vectors", "values", "residual"):
                expected = getattr(getattr(fisher, side), field).to(torch.float32)
                assert torch.equal(getattr(getattr(loaded[name], side), field), expected), (name, side, field)


def _write_format_1(path: Path, summary: dict, metadata: dict[str, str]) -> None:
    """A cache as format 1 wrote it: every module its own copy, keys ``<module>::<side>::<field>``."""
    tensors = {
        f"{name}::{side}::{field}": getattr(getattr(fisher, f"{side}_factor"), field).to(torch.float32).clone()
        for name, fisher in summary.items()
        for side in ("output", "input")
        for field in ("vectors", "values", "residual")
    }
    meta = dict(metadata, format_version="1", modules=json.dumps(sorted(summary)), checksum=summary_checksum(summary))
    save_file(tensors, str(path), metadata=meta)


def test_format_1_cache_still_loads_and_is_reused(tmp_path):
    summary, path = _shared_summary(tmp_path)
    _, metadata = load_fisher_cache(path)
    metadata = {k: v for k, v in metadata.items() if k not in ("format_version", "module_factors", "checksum")}
    _write_format_1(path, summary, metadata)
    loaded, found = load_fisher_cache(path)
    assert found["format_version"] == "1" and found["checksum"] == summary_checksum(summary)
    assert loaded.keys() == summary.keys()
    for name, fisher in summary.items():
        torch.testing.assert_close(loaded[name].input_factor.vectors, fisher.input_factor.vectors.float())
    before = _identity(path)
    again = obtain(tmp_path, model=tiny_peft_model(("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj")))
    assert again.reused and _identity(path) == before  # reused as it is, not rewritten


def test_unknown_format_is_rejected_and_recomputed(tmp_path, caplog):
    summary, path = _shared_summary(tmp_path)
    _, metadata = load_fisher_cache(path)
    tensors, module_factors = cache_module._file_layout(summary)
    save_file(tensors, str(path), metadata=dict(metadata, format_version="3"))
    with pytest.raises(FisherCacheError, match=r"has format '3', this version reads \['1', '2'\].*delete the file"):
        load_fisher_cache(path)
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        result = obtain(tmp_path, model=tiny_peft_model(("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj")))
    assert not result.reused and "Recomputing it" in caplog.text
    assert load_fisher_cache(path)[1]["format_version"] == "2"


def test_format_2_with_a_bad_factor_index_is_incomplete(tmp_path):
    summary, path = _shared_summary(tmp_path)
    _, metadata = load_fisher_cache(path)
    tensors, module_factors = cache_module._file_layout(summary)
    name = next(iter(module_factors))
    module_factors[name] = [module_factors[name][0], 10_000]
    save_file(tensors, str(path), metadata=dict(metadata, module_factors=json.dumps(module_factors)))
    with pytest.raises(FisherCacheError, match=r"is incomplete \(KeyError"):
        load_fisher_cache(path)


def test_a_computed_fisher_pass_returns_its_freed_memory_and_a_reused_cache_does_not_trim(tmp_path, monkeypatch):
    """After the Fisher pass (not after loading a cache) the freed K-FAC sums go back to the OS (utils.memory)."""
    calls = []
    monkeypatch.setattr(precompute, "release_freed_memory", lambda: calls.append(1) or True)
    obtain(tmp_path)
    assert calls == [1]
    obtain(tmp_path)
    assert calls == [1]
