"""Build the demo's aligned base: SmolLM2-135M-Instruct after a safety SFT, merged into one checkpoint.

Runs the real CLI on ``example_configs/align_smollm2_cpu.yml`` (plain LoRA on the project's alignment
set), merges the adapter with PEFT and writes ``.cache/smollm2-135m-aligned`` atomically. Reused when
present.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

from axolotl_agl.launch import stream_axolotl_train
from axolotl_agl.smollm2 import ensure_smollm2_checkpoint

REPO = Path(__file__).resolve().parents[1]
ALIGN_CONFIG = REPO / "example_configs" / "align_smollm2_cpu.yml"
ALIGNED_NAME = "smollm2-135m-aligned"


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path) -> Path:
    """Merge a PEFT LoRA adapter into its base and save base + tokenizer to ``out_dir`` atomically."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    merged.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "agl_source.json").write_text(json.dumps({"base": str(base_dir), "adapter": str(adapter_dir)}))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def ensure_aligned_base(cache_dir: Path | None = None, max_steps: int | None = None) -> Path:
    """The aligned SmolLM2 checkpoint, built on first use (safety SFT + merge)."""
    cache_dir = cache_dir or REPO / ".cache"
    out = cache_dir / ALIGNED_NAME
    if (out / "agl_source.json").exists():
        return out
    ensure_smollm2_checkpoint(cache_dir)
    overrides = {"max_steps": str(max_steps)} if max_steps else None
    stream_axolotl_train(ALIGN_CONFIG, overrides, cwd=REPO)
    return merge_adapter(cache_dir / "smollm2-135m-instruct", cache_dir / "align-out", out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-steps", type=int, default=None, help="override the config's max_steps")
    args = parser.parse_args(argv)
    print(ensure_aligned_base(max_steps=args.max_steps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
