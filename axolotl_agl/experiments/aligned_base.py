"""Build the demo's aligned base: SmolLM2-135M-Instruct after a safety SFT, merged into one checkpoint.

The safety SFT is plain LoRA on the packaged ``experiments/configs/align_smollm2_cpu.yml``: the project's alignment
set (harmful requests with refusals, look-alikes and everyday questions with helpful answers) plus
``experiments/data/self_distilled_smollm2.jsonl`` (225 ordinary instructions answered by the unaligned model itself,
written by ``scripts/distill_instructions.py``). The self-distilled rows keep the model *selective*: without them the
safety SFT also teaches "refuse anything that looks like a task" (42.5 % of held-out Alpaca instructions refused).

The trained LoRA ships with the package (``experiments/data/aligned_smollm2_lora/``, exported by
``scripts/export_aligned_adapter.py``; the safetensors metadata records the recipe fingerprint and a sha256 of the
tensor bytes). While that fingerprint is the current recipe's, :func:`ensure_aligned_base` merges the shipped LoRA
into the SmolLM2 checkpoint (seconds, and the very weights the committed benchmark runs measured) instead of
training it (15-26 min on 2 cores). When the recipe changed it trains, as does ``--rebuild`` (``make aligned-base``).
Either way the adapter is kept in ``<cache>/align-out`` (the "safety LoRA" that SafeMERGE and AsFT read through
``<cache>/smollm2-135m-aligned/agl_source.json``) and the merged model is written atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import yaml

from axolotl_agl.data import default_alignment_path
from axolotl_agl.experiments.launch import stream_axolotl_train
from axolotl_agl.experiments.paths import CONFIG_DIR, DATA_DIR, default_cache_dir
from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint

ALIGN_CONFIG = CONFIG_DIR / "align_smollm2_cpu.yml"
#: Ordinary instructions with the unaligned model's own greedy answers (self-distillation), mixed into the safety SFT.
SELF_DISTILLED = DATA_DIR / "self_distilled_smollm2.jsonl"
ALIGNED_NAME = "smollm2-135m-aligned"
#: The safety LoRA trained by the recipe, shipped so that a new machine merges it instead of training it.
SHIPPED_ADAPTER = DATA_DIR / "aligned_smollm2_lora"
ADAPTER_WEIGHTS, ADAPTER_CONFIG = "adapter_model.safetensors", "adapter_config.json"
#: Keys of the shipped adapter's safetensors metadata.
META_RECIPE, META_TENSORS, META_SOURCE = "agl_recipe_sha256", "agl_tensors_sha256", "agl_source_file_sha256"
#: How to refresh the shipped adapter after a recipe change (printed by the builder and by the test that checks it).
REEXPORT_HINT = "make aligned-base && .venv/bin/python scripts/export_aligned_adapter.py"


def alignment_recipe_fingerprint() -> str:
    """sha256 of what the aligned base is trained from: the safety-SFT config, the alignment data and the
    self-distilled instructions."""
    digest = hashlib.sha256()
    for path in (ALIGN_CONFIG, default_alignment_path(), SELF_DISTILLED):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def variant_recipe_fingerprint(settings: dict[str, str], files: list[Path]) -> str:
    """sha256 that identifies a *tried* recipe's base (``scripts/build_aligned_variant.py``,
    ``scripts/build_aligned_pairwise.py``): the shipped recipe's fingerprint, the variant's settings and the bytes of
    the files it trained from. Recorded as the merged folder's ``recipe_sha256``, so the drift sweep (which identifies
    a base by it) never takes runs on another base for runs on this one."""
    digest = hashlib.sha256(alignment_recipe_fingerprint().encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for path in files:
        digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()


def is_current(out: Path) -> bool:
    """True when ``out`` is a finished aligned base built from the current config and alignment data."""
    source = out / "agl_source.json"
    if not source.exists():
        return False
    return json.loads(source.read_text()).get("recipe_sha256") == alignment_recipe_fingerprint()


# ---------------------------------------------------------------------------------------------------------------------
# The shipped adapter
# ---------------------------------------------------------------------------------------------------------------------


def read_safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header of a safetensors file and the offset where its tensor bytes start (no tensor is loaded)."""
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    return header, 8 + size


def _sha256_from(path: Path, offset: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(offset)
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_adapter(adapter_dir: Path, dest_dir: Path, recipe_sha256: str) -> dict[str, str]:
    """Copy a trained safety LoRA into ``dest_dir`` (the package's :data:`SHIPPED_ADAPTER`), tensors byte for byte.

    ``adapter_model.safetensors`` gets the same header and tensor bytes plus three metadata entries: the recipe
    fingerprint it was trained from (:data:`META_RECIPE`), the sha256 of its tensor bytes (:data:`META_TENSORS`)
    and of the source file (:data:`META_SOURCE`). ``adapter_config.json`` loses the machine path of its base model.
    Both files are replaced atomically.

    Raises:
        ValueError: if a tensor is not float32 (the shipped adapter is the exact fp32 training output).

    Returns:
        The metadata written.
    """
    source = adapter_dir / ADAPTER_WEIGHTS
    header, offset = read_safetensors_header(source)
    dtypes = {entry["dtype"] for name, entry in header.items() if name != "__metadata__"}
    if dtypes != {"F32"}:
        raise ValueError(f"{source}: expected float32 tensors only, found {sorted(dtypes)}")
    metadata = dict(header.get("__metadata__") or {})
    metadata.update(
        {
            META_RECIPE: recipe_sha256,
            META_TENSORS: _sha256_from(source, offset),
            META_SOURCE: _sha256_from(source, 0),
        }
    )
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the header is padded to 8 bytes, as safetensors writes it
    config = json.loads((adapter_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = None  # a path on the machine that trained it
    dest_dir.mkdir(parents=True, exist_ok=True)
    weights_tmp = dest_dir / f".{ADAPTER_WEIGHTS}.tmp"
    with source.open("rb") as src, weights_tmp.open("wb") as dst:
        dst.write(struct.pack("<Q", len(text)) + text)
        src.seek(offset)
        shutil.copyfileobj(src, dst, 1 << 20)
    config_tmp = dest_dir / f".{ADAPTER_CONFIG}.tmp"
    config_tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(weights_tmp, dest_dir / ADAPTER_WEIGHTS)
    os.replace(config_tmp, dest_dir / ADAPTER_CONFIG)
    return metadata


def shipped_adapter_metadata(adapter_dir: Path = SHIPPED_ADAPTER) -> dict[str, str] | None:
    """The safetensors metadata of the shipped adapter (:data:`META_RECIPE` etc.), or None when none is shipped."""
    weights = adapter_dir / ADAPTER_WEIGHTS
    if not weights.is_file() or not (adapter_dir / ADAPTER_CONFIG).is_file():
        return None
    return dict(read_safetensors_header(weights)[0].get("__metadata__") or {})


def verify_shipped_adapter(adapter_dir: Path = SHIPPED_ADAPTER) -> dict[str, str]:
    """Check that the shipped adapter's tensor bytes are the ones its metadata records; returns the metadata.

    Raises:
        FileNotFoundError: when no adapter is shipped in ``adapter_dir``.
        ValueError: when the metadata lacks a key or the tensor bytes do not match their recorded sha256.
    """
    metadata = shipped_adapter_metadata(adapter_dir)
    if metadata is None:
        raise FileNotFoundError(f"no shipped safety LoRA in {adapter_dir}")
    missing = [key for key in (META_RECIPE, META_TENSORS) if not metadata.get(key)]
    if missing:
        raise ValueError(f"{adapter_dir / ADAPTER_WEIGHTS}: metadata lacks {missing}; re-export: {REEXPORT_HINT}")
    weights = adapter_dir / ADAPTER_WEIGHTS
    actual = _sha256_from(weights, read_safetensors_header(weights)[1])
    if actual != metadata[META_TENSORS]:
        raise ValueError(f"{weights}: tensor bytes have sha256 {actual}, the metadata records {metadata[META_TENSORS]}")
    return metadata


def install_shipped_adapter(dest_dir: Path, base_dir: Path, adapter_dir: Path = SHIPPED_ADAPTER) -> Path:
    """Copy the verified shipped adapter to ``dest_dir`` (replaced atomically), its config naming ``base_dir``."""
    verify_shipped_adapter(adapter_dir)
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}.", dir=dest_dir.parent))
    shutil.copyfile(adapter_dir / ADAPTER_WEIGHTS, tmp / ADAPTER_WEIGHTS)
    config = json.loads((adapter_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = str(base_dir)
    (tmp / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.chmod(0o755)
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    os.replace(tmp, dest_dir)
    return dest_dir


# ---------------------------------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------------------------------


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path, extra: dict | None = None) -> Path:
    """Merge a PEFT LoRA adapter into its base and save base + tokenizer to ``out_dir`` atomically.

    ``out_dir/agl_source.json`` records the base, the adapter, the recipe fingerprint and ``extra``.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    merged.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    source = {"base": str(base_dir), "adapter": str(adapter_dir), "recipe_sha256": alignment_recipe_fingerprint()}
    source.update(extra or {})
    (tmp / "agl_source.json").write_text(json.dumps(source))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def shipped_adapter_is_current() -> bool:
    """True when a safety LoRA is shipped and was trained from the current recipe (so it can be merged as is)."""
    metadata = shipped_adapter_metadata()
    return metadata is not None and metadata.get(META_RECIPE) == alignment_recipe_fingerprint()


def ensure_aligned_base(
    cache_dir: Path | None = None, max_steps: int | None = None, name: str = ALIGNED_NAME, rebuild: bool = False
) -> Path:
    """The aligned SmolLM2 checkpoint ``<cache_dir>/<name>``, built on first use.

    Reused while its recorded recipe is the current one. Otherwise the default build merges the shipped safety LoRA
    when it was trained from the current recipe, and trains it (safety SFT through the Axolotl CLI, then the merge)
    when the recipe changed or ``rebuild`` is set.

    Args:
        cache_dir: Folder of the SmolLM2 checkpoint and of the result (default: :func:`default_cache_dir`).
        max_steps: Override the config's ``max_steps`` (e.g. a quick, weaker base); always trains.
        name: Folder name of the result. Any other name than the default always trains, into ``<name>-train``
            (data prepared in ``<name>-prepared``), so a quick build never touches the full build's files.
        rebuild: Train from scratch even when a current build or a current shipped adapter exists.
    """
    cache_dir = cache_dir or default_cache_dir()
    out = cache_dir / name
    if not rebuild and is_current(out):
        return out
    base = ensure_smollm2_checkpoint(cache_dir)
    train_dir, prepared = cache_dir / "align-out", cache_dir / "align-prepared"
    default_build = name == ALIGNED_NAME and not max_steps
    if default_build and not rebuild:
        metadata = shipped_adapter_metadata()
        recipe = alignment_recipe_fingerprint()
        if metadata is not None and metadata.get(META_RECIPE) == recipe:
            print(f"Aligned base: merging the shipped safety LoRA (recipe {recipe[:12]}) into {base.name}", flush=True)
            install_shipped_adapter(train_dir, base)
            return merge_adapter(base, train_dir, out, extra={"adapter_origin": "shipped"})
        shipped = (
            "no safety LoRA is shipped"
            if metadata is None
            else (f"the shipped safety LoRA was trained from recipe {str(metadata.get(META_RECIPE))[:12]}")
        )
        print(
            f"Aligned base: {shipped}, the recipe is now {recipe[:12]}: training it (100 steps, 15-26 min on 2 CPU "
            f"cores). To ship the new one afterwards: {REEXPORT_HINT}",
            flush=True,
        )
    if name != ALIGNED_NAME:
        train_dir, prepared = cache_dir / f"{name}-train", cache_dir / f"{name}-prepared"
    for stale in (prepared, train_dir):  # Axolotl keys prepared data by path, not by content
        shutil.rmtree(stale, ignore_errors=True)
    # Every path is absolute, so the recipe does not depend on the working directory or the checkout.
    cfg = yaml.safe_load(ALIGN_CONFIG.read_text())
    cfg.update(
        base_model=str(base),
        output_dir=str(train_dir),
        dataset_prepared_path=str(prepared),
        datasets=[
            {"path": str(path), "type": "chat_template", "field_messages": "messages"}
            for path in (default_alignment_path(), SELF_DISTILLED)
        ],
    )
    if max_steps:
        cfg["max_steps"] = max_steps
    resolved = cache_dir / f"{name}-recipe.yml"
    cache_dir.mkdir(parents=True, exist_ok=True)
    resolved.write_text(yaml.safe_dump(cfg, sort_keys=False))
    stream_axolotl_train(resolved, cwd=cache_dir)
    extra: dict[str, Any] = {"adapter_origin": "trained"}
    if max_steps:
        extra["max_steps"] = max_steps
    return merge_adapter(base, train_dir, out, extra=extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-steps", type=int, default=None, help="override the config's max_steps (always trains)")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="train the safety LoRA from scratch (ignore the cached build and the shipped adapter)",
    )
    args = parser.parse_args(argv)
    print(ensure_aligned_base(max_steps=args.max_steps, rebuild=args.rebuild))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
