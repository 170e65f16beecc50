"""Merge a safety-SFT LoRA into the unaligned SmolLM2-135M at a fraction of its strength (an aligned-base variant).

The merged model is ``W + scale · (α/r) · B A``: ``scale`` < 1 moves the greedy operating point of the refusal decision
toward answering without retraining, along the line between the unaligned model (scale 0) and the trained base
(scale 1). The adapter is copied to ``.cache/<name>-adapter`` with ``lora_alpha`` multiplied by ``scale`` (so the copy
*is* the scaled safety LoRA, e.g. for SafeMERGE), then merged to ``.cache/smollm2-135m-aligned-<name>``:

    .venv/bin/python scripts/merge_scaled_variant.py v12s075 --adapter .cache/v12kinds2-train --scale 0.75
    .venv/bin/python benchmarks/aligned_base_eval.py --aligned .cache/smollm2-135m-aligned-v12s075 --name v12-scale-0.75
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from axolotl_agl.experiments import aligned_base as ab
from axolotl_agl.experiments.paths import default_cache_dir
from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint


def write_scaled_adapter(adapter: Path, out: Path, scale: float) -> Path:
    """Copy the PEFT LoRA ``adapter`` to ``out`` with ``lora_alpha`` (and any ``alpha_pattern`` entry) times ``scale``."""
    if not scale > 0:
        raise SystemExit(f"--scale {scale}: must be > 0")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        shutil.copy2(adapter / name, out / name)
    config = json.loads((out / "adapter_config.json").read_text(encoding="utf-8"))
    config["lora_alpha"] = config["lora_alpha"] * scale
    config["alpha_pattern"] = {k: v * scale for k, v in (config.get("alpha_pattern") or {}).items()}
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="variant name: .cache/smollm2-135m-aligned-<name>")
    parser.add_argument("--adapter", type=Path, required=True, help="a trained safety LoRA (PEFT folder)")
    parser.add_argument("--scale", type=float, required=True)
    args = parser.parse_args(argv)
    cache = default_cache_dir()
    base = ensure_smollm2_checkpoint(cache)
    scaled = write_scaled_adapter(args.adapter, cache / f"{args.name}-adapter", args.scale)
    settings = {"variant": args.name, "adapter": str(args.adapter), "scale": str(args.scale)}
    weights = [Path(__file__), args.adapter / "adapter_model.safetensors", args.adapter / "adapter_config.json"]
    settings["recipe_sha256"] = ab.variant_recipe_fingerprint(settings, weights)
    ab.merge_adapter(base, scaled, cache / f"smollm2-135m-aligned-{args.name}", extra=settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
