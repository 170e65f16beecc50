"""Ship the aligned base's safety LoRA with the package, so a new machine merges it instead of training it.

    make aligned-base                                   # train it from the current recipe (15-26 min on 2 cores)
    .venv/bin/python scripts/export_aligned_adapter.py  # copy it into axolotl_agl/experiments/data/aligned_smollm2_lora

The adapter to export is the one recorded in ``<cache>/smollm2-135m-aligned/agl_source.json`` (``adapter``, normally
``<cache>/align-out``), and only when that build's recipe fingerprint is the current recipe's: the shipped file then
states, in its safetensors metadata, the recipe it was trained from and the sha256 of its tensor bytes. The tensors
are copied byte for byte (float32, no conversion), and the adapter config loses the training machine's base path
(``axolotl_agl.experiments.aligned_base.export_adapter``). Commit the two files afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from axolotl_agl.experiments.aligned_base import (
    ALIGNED_NAME,
    META_RECIPE,
    META_TENSORS,
    SHIPPED_ADAPTER,
    alignment_recipe_fingerprint,
    export_adapter,
)
from axolotl_agl.experiments.paths import default_cache_dir


def main(argv: list[str] | None = None) -> int:
    """Export the current aligned base's safety LoRA into the package; 1 (with a reason) when it cannot."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--aligned",
        type=Path,
        default=None,
        help=f"aligned base whose adapter to export (default: <cache>/{ALIGNED_NAME}, cache = $AGL_CACHE_DIR or .cache)",
    )
    parser.add_argument("--dest", type=Path, default=SHIPPED_ADAPTER, help="where to write (default: the package's)")
    args = parser.parse_args(argv)
    aligned = args.aligned or default_cache_dir() / ALIGNED_NAME
    source_file = aligned / "agl_source.json"
    if not source_file.is_file():
        print(f"{source_file} not found: build the aligned base first (make aligned-base)", file=sys.stderr)
        return 1
    source = json.loads(source_file.read_text(encoding="utf-8"))
    recipe = alignment_recipe_fingerprint()
    if source.get("recipe_sha256") != recipe:
        print(
            f"{aligned} was built from recipe {source.get('recipe_sha256')}, the recipe is now {recipe}: "
            "retrain it first (make aligned-base)",
            file=sys.stderr,
        )
        return 1
    adapter = Path(source.get("adapter") or "")
    if not (adapter / "adapter_model.safetensors").is_file():
        print(f"{source_file} records adapter {adapter!s}, which holds no adapter_model.safetensors", file=sys.stderr)
        return 1
    metadata = export_adapter(adapter, args.dest, recipe)
    print(f"exported {adapter} -> {args.dest}")
    print(f"  {META_RECIPE} = {metadata[META_RECIPE]}")
    print(f"  {META_TENSORS} = {metadata[META_TENSORS]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
