"""Build a variant of the aligned SmolLM2-135M base for comparing safety-SFT recipes (not the shipped base).

The shipped base (v2) is the safety SFT of ``axolotl_agl/experiments/configs/align_smollm2_cpu.yml``: a LoRA trained
on the alignment data (``axolotl_agl/data/alignment_default.jsonl``) plus self-distilled ordinary instructions, then
merged. A variant changes one thing and is written to ``.cache/smollm2-135m-aligned-<name>`` (checkpoints every 50
steps merged beside it), to be evaluated with ``benchmarks/aligned_base_eval.py --aligned <dir> --name <name>``:

* ``--lookalike-answers own``: the look-alike rows answered with the unaligned model's own greedy answers
  (``self_distilled_lookalikes_smollm2.jsonl``) instead of the written ones; ``both`` keeps both (v3-v5, v7);
* ``--extra FILE``: more alignment rows mixed in, e.g. ``scripts/generate_alignment_extra.py``'s (v6);
* ``--extra-answers own``: the extra files' look-alikes answered by the unaligned model too (greedy, as
  ``scripts/distill_instructions.py``; a reply the judge reads as a refusal keeps its written answer) (v8);
* ``--steps``, ``--rank`` (LoRA alpha = 2 x rank);
* ``--layers-from N``: LoRA only on decoder layers ``N`` and up (Axolotl's ``peft_layers_to_transform``), so the hidden
  state entering layer ``N`` stays the unaligned model's and the refusal decision is learnt on top of it, as the linear
  probe of ``benchmarks/separability_probe.py`` reads ``hidden_states[N]`` (v13).

    .venv/bin/python scripts/generate_alignment_extra.py --out .cache/alignment_extra.jsonl
    .venv/bin/python scripts/build_aligned_variant.py v6extra --extra .cache/alignment_extra.jsonl --steps 100

Training goes through ``axolotl.cli.train`` like the shipped base's (15-26 min per 100 steps on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from axolotl_agl.data import default_alignment_path
from axolotl_agl.experiments import aligned_base as ab
from axolotl_agl.experiments.launch import stream_axolotl_train
from axolotl_agl.experiments.paths import default_cache_dir
from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint
from axolotl_agl.utils.io import read_jsonl, write_jsonl


def alignment_rows(lookalike_answers: str) -> list[dict[str, Any]]:
    """The alignment rows with their look-alike answers ``written`` (as shipped), the model's ``own``, or ``both``."""
    rows = read_jsonl(default_alignment_path())
    if lookalike_answers == "written":
        return rows
    own = {r["id"]: r for r in read_jsonl(ab.DATA_DIR / "self_distilled_lookalikes_smollm2.jsonl")}
    out = []
    for i, row in enumerate(rows):
        mine = own.get(f"alignment-{i}")
        if mine is None:
            out.append(row)
            continue
        if lookalike_answers == "both":
            out.append(row)
        out.append(dict(row, messages=mine["messages"]))
    return out


def with_own_lookalike_answers(rows: list[dict[str, Any]], checkpoint: Path) -> list[dict[str, Any]]:
    """``rows`` with each look-alike's answer replaced by ``checkpoint``'s greedy reply, unless that reads as a refusal."""
    from distill_instructions import distill

    from axolotl_agl.drift.judge import is_refusal

    looks = [i for i, row in enumerate(rows) if row.get("kind") == "lookalike"]
    prompts = [{"id": str(i), "prompt": rows[i]["messages"][0]["content"], "category": "lookalike"} for i in looks]
    out = list(rows)
    for i, answered in zip(looks, distill(checkpoint, rows=prompts), strict=True):
        reply = answered["messages"][1]
        if not is_refusal(reply["content"]):
            out[i] = dict(rows[i], messages=[rows[i]["messages"][0], reply])
    return out


def upper_layers(checkpoint: Path, first: int) -> list[int]:
    """Decoder layer indices ``first, ..., num_hidden_layers - 1`` of ``checkpoint``; an error if that is empty."""
    count = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"]
    if not 0 <= first < count:
        raise SystemExit(f"--layers-from {first}: the model has decoder layers 0..{count - 1}")
    return list(range(first, count))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="variant name: .cache/smollm2-135m-aligned-<name>")
    parser.add_argument("--lookalike-answers", choices=("written", "own", "both"), default="written")
    parser.add_argument("--extra", type=Path, action="append", default=[], help="extra alignment JSONL (repeatable)")
    parser.add_argument("--extra-answers", choices=("written", "own"), default="written")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--layers-from", type=int, default=None, help="LoRA only on decoder layers >= this index")
    args = parser.parse_args(argv)
    cache = default_cache_dir()
    base = ensure_smollm2_checkpoint(cache)
    work, train_dir, prepared = (cache / f"{args.name}-{part}" for part in ("work", "train", "prepared"))
    for stale in (prepared, train_dir):
        shutil.rmtree(stale, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    data = write_jsonl(work / "alignment.jsonl", alignment_rows(args.lookalike_answers))
    cfg = yaml.safe_load(ab.ALIGN_CONFIG.read_text(encoding="utf-8"))
    extras = []
    for i, path in enumerate(args.extra):
        if args.extra_answers == "own":
            path = write_jsonl(work / f"extra-{i}-own.jsonl", with_own_lookalike_answers(read_jsonl(path), base))
        extras.append(path.resolve())
    sources = [data, *extras, ab.SELF_DISTILLED]
    cfg.update(
        base_model=str(base), output_dir=str(train_dir), dataset_prepared_path=str(prepared), max_steps=args.steps,
        save_strategy="steps", save_steps=50, lora_r=args.rank, lora_alpha=2 * args.rank,
        datasets=[{"path": str(p), "type": "chat_template", "field_messages": "messages"} for p in sources],
    )  # fmt: skip
    if args.layers_from is not None:
        cfg["peft_layers_to_transform"] = upper_layers(base, args.layers_from)
    recipe = work / "recipe.yml"
    recipe.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    stream_axolotl_train(recipe, cwd=cache)
    settings = {"variant": args.name, **{k: str(v) for k, v in vars(args).items() if k != "name"}}
    settings["recipe_sha256"] = ab.variant_recipe_fingerprint(settings, [Path(__file__), *sources])
    ab.merge_adapter(base, train_dir, cache / f"smollm2-135m-aligned-{args.name}", extra=settings)
    for checkpoint in sorted(train_dir.glob("checkpoint-*")):
        out = cache / f"smollm2-135m-aligned-{args.name}-{checkpoint.name}"
        ab.merge_adapter(base, checkpoint, out, extra={**settings, "checkpoint": checkpoint.name})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
