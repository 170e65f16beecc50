"""Drift benchmark: fine-tune the aligned SmolLM2-135M on a benign task with each defence, measure drift.

Methods (same data, steps and seeds): plain LoRA; AlignGuard (``adapter: alignguard``); L2 on ΔW;
EWC with a diagonal Fisher; Safe LoRA's post-hoc projection (of the plain-LoRA adapter of the same
seed; alignment matrix = aligned − unaligned weights); replay of alignment data mixed into the task.
Every training run goes through ``accelerate launch -m axolotl.cli.train``; evaluation uses
``axolotl_agl.drift.evaluate_drift`` (greedy generation, pattern judge, bootstrap intervals). The task data,
the LoRA/AlignGuard configs, the training launcher and the table are shared with ``make demo``
(``axolotl_agl/drift/compare.py``); the peers are configured here and in ``peers.py``/``drift_eval.py``.

    .venv/bin/python benchmarks/drift.py --seeds 0 1 2            # full run, JSON in benchmarks/results/
    .venv/bin/python benchmarks/drift.py --methods lora agl --seeds 0 --steps 10 --limit 24 --task-eval 12
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from axolotl_agl.experiments.aligned_base import ensure_aligned_base  # noqa: E402
from axolotl_agl.experiments.compare import EVAL_SEED, base_config, train_config, write_task_data  # noqa: E402
from axolotl_agl.experiments.compare import method_config as shared_method_config  # noqa: E402
from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from drift_eval import evaluate_methods, write_summary  # noqa: E402
from drift_forgetting import fit_forgetting_curves  # noqa: E402

METHODS = ("lora", "agl", "l2", "ewc", "safelora", "replay")


def method_config(method: str, cfg: dict, work: Path, args: argparse.Namespace) -> dict:
    """``lora`` and ``agl`` from :mod:`axolotl_agl.experiments.compare`; the peers ``l2``, ``ewc`` and ``replay`` here."""
    if method in ("lora", "agl"):
        forgetting = {"eval_steps": args.forgetting_steps, "max_examples": args.forgetting_examples}
        return shared_method_config(
            method,
            cfg,
            agl_lambda=args.agl_lambda,
            fisher_samples=args.fisher_samples,
            fisher_cache_path=work / "agl_fisher.safetensors",
            forgetting=forgetting if args.forgetting_steps else None,
        )
    cfg = dict(cfg)
    if method in ("l2", "ewc"):
        cfg["plugins"] = ["axolotl_agl.experiments.peers.PeerPlugin"]
        weight = args.l2_weight if method == "l2" else args.ewc_weight
        cfg["peer_baseline"] = {"method": method, "weight": weight, "fisher_num_samples": args.fisher_samples}
        if method == "ewc":
            cfg["peer_baseline"]["fisher_cache_path"] = str(work / "ewc_fisher.safetensors")
    elif method == "replay":
        align = REPO / "axolotl_agl" / "data" / "alignment_default.jsonl"
        cfg["datasets"] = cfg["datasets"] + [
            {"path": str(align), "type": "chat_template", "field_messages": "messages"}
        ]
    return cfg


def train(method: str, seed: int, work: Path, aligned: Path, task_path: Path, args: argparse.Namespace) -> Path:
    out_dir = work / f"{method}-s{seed}"
    cfg = method_config(method, base_config(aligned, task_path, out_dir, seed, args.steps, args.lr), work, args)
    out_dir, _ = train_config(cfg, work / f"{method}-s{seed}.yml")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--agl-lambda", type=float, default=50.0)
    parser.add_argument("--l2-weight", type=float, default=1.0)
    parser.add_argument("--ewc-weight", type=float, default=1.0)
    parser.add_argument("--fisher-samples", type=int, default=128)
    parser.add_argument("--limit", type=int, default=60, help="prompts per prompt set (label-stratified)")
    parser.add_argument("--task-eval", type=int, default=60)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--safelora-threshold", type=float, default=0.5)
    parser.add_argument("--eval-seed", type=int, default=EVAL_SEED)
    parser.add_argument(
        "--forgetting-steps", type=int, default=5, help="forgetting-curve evaluation every N steps (lora, agl); 0 = off"
    )
    parser.add_argument("--forgetting-examples", type=int, default=32, help="examples per forgetting evaluation set")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    ensure_smollm2_checkpoint(REPO / ".cache")
    aligned = ensure_aligned_base()
    args.work.mkdir(parents=True, exist_ok=True)
    task_path, eval_items = write_task_data(args.work, n_train=1000, n_eval=args.task_eval, eval_seed=args.eval_seed)
    adapters: dict[str, dict[int, Path]] = {}
    for seed in args.seeds:
        for method in args.methods:
            if method == "safelora":
                continue
            adapters.setdefault(method, {})[seed] = train(method, seed, args.work, aligned, task_path, args)
    results = evaluate_methods(aligned, adapters, eval_items, args)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    trained = {m: runs for m, runs in adapters.items() if m in ("lora", "agl")}
    forgetting = fit_forgetting_curves(trained, args.out, stamp)
    summary = write_summary(results, args, time.perf_counter() - started, stamp, forgetting)
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
