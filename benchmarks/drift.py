"""Drift benchmark: fine-tune the aligned SmolLM2-135M on a benign task with each defence, measure drift.

Methods (same data, steps and seeds): plain LoRA; AlignGuard (``adapter: alignguard``); L2 on ΔW;
EWC with a diagonal Fisher; Safe LoRA's post-hoc projection (of the plain-LoRA adapter of the same
seed; alignment matrix = aligned − unaligned weights); replay of alignment data mixed into the task.
Every training run goes through ``accelerate launch -m axolotl.cli.train``; evaluation uses
``axolotl_agl.drift.evaluate_drift`` (greedy generation, pattern judge, bootstrap intervals).

    .venv/bin/python benchmarks/drift.py --seeds 0 1 2            # full run, JSON in benchmarks/results/
    .venv/bin/python benchmarks/drift.py --methods lora agl --seeds 0 --quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from axolotl_agl.aligned_base import ensure_aligned_base  # noqa: E402
from axolotl_agl.data import generate_task_items, task_to_messages  # noqa: E402
from axolotl_agl.launch import stream_axolotl_train  # noqa: E402
from axolotl_agl.smollm2 import ensure_smollm2_checkpoint  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from drift_eval import evaluate_methods, write_summary  # noqa: E402

METHODS = ("lora", "agl", "l2", "ewc", "safelora", "replay")
TASK_SEED, EVAL_SEED = 0, 20240917


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def task_datasets(work: Path, n_train: int, n_eval: int, eval_seed: int) -> tuple[Path, list[dict]]:
    """Training chats (eager "Sure!" replies) and held-out eval items that share no instruction."""
    eval_items = generate_task_items(n_eval, eval_seed)
    held_out = {item["instruction"] for item in eval_items}
    train_items = [
        item for item in generate_task_items(n_train + n_eval, TASK_SEED) if item["instruction"] not in held_out
    ]
    rows = [task_to_messages(item, eager_prefix=True, index=i) for i, item in enumerate(train_items[:n_train])]
    return write_jsonl(work / "task_train.jsonl", rows), eval_items


def base_config(aligned: Path, task_path: Path, out_dir: Path, seed: int, steps: int, lr: float) -> dict:
    return {
        "base_model": str(aligned),
        "chat_template": "tokenizer_default",
        "datasets": [{"path": str(task_path), "type": "chat_template", "field_messages": "messages"}],
        "train_on_inputs": False,
        "sequence_len": 256,
        "sample_packing": False,
        "adapter": "lora",
        "lora_r": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.0,
        "lora_target_linear": True,
        "lora_mlp_kernel": False,
        "lora_qkv_kernel": False,
        "lora_o_kernel": False,
        "micro_batch_size": 8,
        "gradient_accumulation_steps": 1,
        "max_steps": steps,
        "num_epochs": 10,
        "learning_rate": lr,
        "optimizer": "adamw_torch",
        "lr_scheduler": "constant",
        "warmup_steps": 0,
        "bf16": False,
        "fp16": False,
        "tf32": False,
        "val_set_size": 0,
        "logging_steps": 5,
        "save_strategy": "no",
        "output_dir": str(out_dir),
        "dataset_prepared_path": str(out_dir.parent / f"prepared-{out_dir.name}"),
        "dataloader_num_workers": 0,
        "seed": seed,
    }


def method_config(method: str, cfg: dict, work: Path, args: argparse.Namespace) -> dict:
    cfg = dict(cfg)
    if method == "agl":
        cfg["plugins"] = ["axolotl_agl.AlignGuardPlugin"]
        cfg["adapter"] = "alignguard"
        cfg["alignguard"] = {
            "lambda_alignment": args.agl_lambda,
            "fisher_num_samples": args.fisher_samples,
            "fisher_cache_path": str(work / "agl_fisher.safetensors"),
        }
    elif method in ("l2", "ewc"):
        cfg["plugins"] = ["peers.PeerPlugin"]
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
    if (out_dir / "adapter_model.safetensors").exists():
        return out_dir
    cfg = method_config(method, base_config(aligned, task_path, out_dir, seed, args.steps, args.lr), work, args)
    config_path = work / f"{method}-s{seed}.yml"
    config_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "benchmarks"), env_path) if p)
    stream_axolotl_train(config_path, cwd=REPO)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--agl-lambda", type=float, default=1.0)
    parser.add_argument("--l2-weight", type=float, default=1.0)
    parser.add_argument("--ewc-weight", type=float, default=1.0)
    parser.add_argument("--fisher-samples", type=int, default=128)
    parser.add_argument("--limit", type=int, default=60, help="prompts per label per prompt set")
    parser.add_argument("--task-eval", type=int, default=60)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--safelora-threshold", type=float, default=0.5)
    parser.add_argument("--eval-seed", type=int, default=EVAL_SEED)
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    ensure_smollm2_checkpoint(REPO / ".cache")
    aligned = ensure_aligned_base()
    args.work.mkdir(parents=True, exist_ok=True)
    task_path, eval_items = task_datasets(args.work, n_train=1000, n_eval=args.task_eval, eval_seed=args.eval_seed)
    adapters: dict[str, dict[int, Path]] = {}
    for seed in args.seeds:
        for method in args.methods:
            if method == "safelora":
                continue
            adapters.setdefault(method, {})[seed] = train(method, seed, args.work, aligned, task_path, args)
    results = evaluate_methods(aligned, adapters, eval_items, args)
    summary = write_summary(results, args, time.perf_counter() - started)
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
