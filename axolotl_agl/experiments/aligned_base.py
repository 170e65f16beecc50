"""Build the demo's aligned base: SmolLM2-135M-Instruct after a safety SFT, merged into one checkpoint.

Runs the real CLI on the packaged ``experiments/configs/align_smollm2_cpu.yml``: plain LoRA on the project's alignment
set (harmful requests with refusals, look-alikes and everyday questions with helpful answers) plus
``experiments/data/self_distilled_smollm2.jsonl`` (225 ordinary instructions answered by the unaligned model itself,
written by ``scripts/distill_instructions.py``). The self-distilled rows keep the model *selective*: without them the
safety SFT also teaches "refuse anything that looks like a task" (42.5 % of held-out Alpaca instructions refused).
Then it merges the adapter with PEFT and writes ``<cache>/smollm2-135m-aligned`` atomically; reused when present.
The LoRA adapter itself stays in ``<cache>/align-out`` (the "safety LoRA" that SafeMERGE and AsFT use).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from axolotl_agl.data import default_alignment_path
from axolotl_agl.experiments.launch import stream_axolotl_train
from axolotl_agl.experiments.paths import CONFIG_DIR, DATA_DIR, default_cache_dir
from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint

ALIGN_CONFIG = CONFIG_DIR / "align_smollm2_cpu.yml"
#: Ordinary instructions with the unaligned model's own greedy answers (self-distillation), mixed into the safety SFT.
SELF_DISTILLED = DATA_DIR / "self_distilled_smollm2.jsonl"
ALIGNED_NAME = "smollm2-135m-aligned"


def alignment_recipe_fingerprint() -> str:
    """sha256 of what the aligned base is trained from: the safety-SFT config, the alignment data and the
    self-distilled instructions."""
    digest = hashlib.sha256()
    for path in (ALIGN_CONFIG, default_alignment_path(), SELF_DISTILLED):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current(out: Path) -> bool:
    """True when ``out`` is a finished aligned base built from the current config and alignment data."""
    source = out / "agl_source.json"
    if not source.exists():
        return False
    return json.loads(source.read_text()).get("recipe_sha256") == alignment_recipe_fingerprint()


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


def ensure_aligned_base(cache_dir: Path | None = None, max_steps: int | None = None, name: str = ALIGNED_NAME) -> Path:
    """The aligned SmolLM2 checkpoint ``<cache_dir>/<name>``, built on first use (safety SFT + merge).

    Rebuilt when the safety-SFT config or the alignment data changed since it was built.

    Args:
        cache_dir: Folder of the SmolLM2 checkpoint and of the result (default: :func:`default_cache_dir`).
        max_steps: Override the config's ``max_steps`` (e.g. a quick, weaker base).
        name: Folder name of the result. Any other name than the default also trains into ``<name>-train`` (data
            prepared in ``<name>-prepared``), so a quick build never touches the full build's files.
    """
    cache_dir = cache_dir or default_cache_dir()
    out = cache_dir / name
    if is_current(out):
        return out
    base = ensure_smollm2_checkpoint(cache_dir)
    train_dir, prepared = cache_dir / "align-out", cache_dir / "align-prepared"
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
    resolved.write_text(yaml.safe_dump(cfg, sort_keys=False))
    stream_axolotl_train(resolved, cwd=cache_dir)
    return merge_adapter(base, train_dir, out, extra={"max_steps": max_steps} if max_steps else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-steps", type=int, default=None, help="override the config's max_steps")
    args = parser.parse_args(argv)
    print(ensure_aligned_base(max_steps=args.max_steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
