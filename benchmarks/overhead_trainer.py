"""What AlignGuard costs through the real trainer: plain LoRA vs AlignGuard-LoRA on the same model, data, batches
and seed, each run through ``accelerate launch -m axolotl.cli.train <config>``.

Run from the repository root (see ``docs/performance.md``)::

    nice -n 10 .venv/bin/python benchmarks/overhead_trainer.py --model tiny               # a quick check (~5 min)
    .venv/bin/python benchmarks/overhead_trainer.py --model smollm2 --repeats 3           # SmolLM2-135M (see docs)

The configs are the demo's: :func:`axolotl_agl.experiments.compare.base_config` (LoRA r = 16 on every linear
layer, micro-batch 8, ``sequence_len`` 256, lr and seed of :mod:`axolotl_agl.experiments.demo`) on the demo's
benign task data (:func:`~axolotl_agl.experiments.compare.write_task_data`), and
:func:`~axolotl_agl.experiments.compare.method_config` for ``lora`` and ``agl`` (the demo's λ_A and Fisher-pass
size). Only ``max_steps`` (``--steps``), the output folders and one shared ``dataset_prepared_path`` differ, and
both methods list the benchmark plugin ``step_timer.StepTimerPlugin`` (``benchmarks/step_timer.py``) that records
per-step wall and CPU times, the training process's peak RSS (and peak CUDA memory) and, in the run that computes
the Fisher pass, that pass next to a forward + backward over the same alignment examples.

* Runs are interleaved, ``lora agl lora agl ...`` (``--repeats`` pairs), so load from other processes falls on both
  methods alike; the load average is recorded before and after every run.
* The Fisher cache is deleted at the start: the first AlignGuard run computes the Fisher pass (timed with a
  forward + backward of the same examples right before and after it), every later one reuses that cache, so
  every AlignGuard run trains with the same Fisher summary.
* Step time: the median over the steps of every run of a method, the first ``--warmup`` (3) steps of each run left
  out; the ratio AGL / LoRA for wall and for process-CPU seconds, and per pair.
* Memory: the peak RSS during training (the high-water mark is reset when training starts) and of the whole
  process (model loading and the Fisher pass included), medians over runs; CUDA peaks when a GPU is used.

The JSON (``benchmarks/results/overhead_trainer_<date>.json``; ``overhead_trainer_tiny_<date>.json`` for the tiny
model) holds every run's step times, memory, Fisher timings, configs and load averages, the command line, and the
ratios next to the targets of issue 12.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for path in (ROOT, BENCH):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from axolotl_agl.experiments import demo  # noqa: E402
from axolotl_agl.experiments.compare import base_config, method_config, write_task_data  # noqa: E402
from axolotl_agl.experiments.paths import default_cache_dir  # noqa: E402
from axolotl_agl.utils.io import atomic_write_json  # noqa: E402

METHODS = ("lora", "agl")
TIMER_PLUGIN = "step_timer.StepTimerPlugin"
STEP_TIMES = "step_times.json"  # = step_timer.OUTPUT_NAME (not imported: that module imports Axolotl)
FISHER_CACHE = "agl_fisher.safetensors"
DEFAULT_STEPS = 20
DEFAULT_WARMUP = 3
#: Targets of issue 12 (benchmark targets, not tests): AGL / LoRA step time and peak memory, Fisher pass / fwd+bwd.
TARGETS = {"step_time": 1.05, "peak_memory": 1.03, "fisher_pass_over_forward_backward": 1.5}
#: Per model: how many alignment examples the Fisher pass uses and what the ``alignguard:`` block adds.
MODELS: dict[str, dict[str, Any]] = {
    # the tiny test model (hidden 64, 2 layers, kv width 32): rank_k must fit its narrowest module
    "tiny": {
        "fisher_samples": 32,
        "alignguard": {"rank_k": 8, "fisher_replies": demo.FISHER_REPLIES},
        "description": "tests/helpers.build_tiny_model",
    },
    "smollm2": {
        "fisher_samples": demo.FISHER_SAMPLES,
        "alignguard": {"fisher_replies": demo.FISHER_REPLIES},  # the demo's AlignGuard
        "description": "SmolLM2-135M-Instruct (axolotl_agl.experiments.smollm2.ensure_smollm2_checkpoint)",
    },
}


# ---------------------------------------------------------------------------------------------------------------------
# Pure helpers (unit-tested in tests/experiments/test_overhead_trainer.py)
# ---------------------------------------------------------------------------------------------------------------------


def run_plan(repeats: int, methods: Sequence[str] = METHODS) -> list[tuple[str, int]]:
    """The interleaved order of the runs: ``[(method, repeat), ...]`` = lora 0, agl 0, lora 1, agl 1, ..."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    return [(method, i) for i in range(repeats) for method in methods]


def after_warmup(values: Sequence[float], warmup: int = DEFAULT_WARMUP) -> list[float]:
    """``values`` without the first ``warmup`` steps; raises when nothing is left."""
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    kept = list(values)[warmup:]
    if not kept:
        raise ValueError(f"{len(values)} step(s) recorded, none left after the first {warmup}: raise --steps")
    return kept


def median_excluding_warmup(values: Sequence[float], warmup: int = DEFAULT_WARMUP) -> float:
    """Median of ``values`` (per-step seconds) after the first ``warmup`` steps."""
    return statistics.median(after_warmup(values, warmup))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _median_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def process_peak_rss(memory: Mapping[str, Any]) -> int | None:
    """Peak RSS of the whole training process: the larger of the peaks before and during training."""
    peaks = [memory.get("peak_rss_before_train_bytes"), memory.get("peak_rss_train_bytes")]
    present = [p for p in peaks if p is not None]
    return max(present) if present else None


def cuda_peak(memory: Mapping[str, Any], phase: str = "cuda_train") -> int | None:
    """``max_memory_allocated`` of a phase (``cuda_train`` or ``cuda_before_train``); None without CUDA."""
    block = memory.get(phase)
    return None if not block else block.get("max_memory_allocated_bytes")


def summarise_method(runs: Sequence[Mapping[str, Any]], warmup: int = DEFAULT_WARMUP) -> dict[str, Any]:
    """Step-time medians and memory peaks of one method's runs (each a ``step_times.json`` record).

    ``step_wall`` / ``step_cpu``: median over the steps of all runs, each run's first ``warmup`` steps left out;
    ``per_run_*``: each run's own median; memory: medians over runs of the training-time peak RSS, the whole
    process's peak RSS and (with CUDA) the training-time ``max_memory_allocated``.
    """
    if not runs:
        raise ValueError("no runs to summarise")
    return {
        "runs": len(runs),
        "steps_counted": sum(len(after_warmup(r["step_wall"], warmup)) for r in runs),
        "step_wall": statistics.median(v for r in runs for v in after_warmup(r["step_wall"], warmup)),
        "step_cpu": statistics.median(v for r in runs for v in after_warmup(r["step_cpu"], warmup)),
        "per_run_step_wall": [median_excluding_warmup(r["step_wall"], warmup) for r in runs],
        "per_run_step_cpu": [median_excluding_warmup(r["step_cpu"], warmup) for r in runs],
        "peak_rss_train_bytes": _median_or_none([r["memory"].get("peak_rss_train_bytes") for r in runs]),
        "peak_rss_process_bytes": _median_or_none([process_peak_rss(r["memory"]) for r in runs]),
        "cuda_peak_train_bytes": _median_or_none([cuda_peak(r["memory"]) for r in runs]),
    }


def fisher_summary(fisher: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The Fisher pass against one forward + backward over the same examples (the mean of the ones timed right
    before and right after the pass): seconds, tokens/s and the ratios, wall and CPU. None without a pass."""
    if not fisher:
        return None
    passes = [p for p in (fisher.get("forward_backward_before"), fisher.get("forward_backward_after")) if p]
    out: dict[str, Any] = {
        "examples": fisher.get("examples"),
        "tokens": fisher.get("tokens"),
        "fisher_batch_size": fisher.get("fisher_batch_size"),
        "fisher_wall_seconds": fisher.get("wall_seconds"),
        "fisher_cpu_seconds": fisher.get("cpu_seconds"),
        "fisher_metadata_seconds": fisher.get("metadata_seconds"),
        "forward_backward_batch_size": passes[0]["batch_size"] if passes else None,
    }
    for clock in ("wall", "cpu"):
        fwd_bwd = statistics.fmean(p[f"{clock}_seconds"] for p in passes) if passes else None
        out[f"forward_backward_{clock}_seconds"] = fwd_bwd
        out[f"fisher_over_forward_backward_{clock}"] = ratio(fisher.get(f"{clock}_seconds"), fwd_bwd)
    tokens = fisher.get("tokens")
    out["fisher_tokens_per_second_wall"] = ratio(tokens, fisher.get("wall_seconds"))
    out["forward_backward_tokens_per_second_wall"] = ratio(tokens, out["forward_backward_wall_seconds"])
    return out


def assemble_ratios(
    lora: Mapping[str, Any],
    agl: Mapping[str, Any],
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]] = (),
    fisher: Mapping[str, Any] | None = None,
    warmup: int = DEFAULT_WARMUP,
) -> dict[str, Any]:
    """AGL / LoRA ratios of :func:`summarise_method` outputs (and per interleaved pair of run records), the Fisher
    pass / forward+backward ratio of :func:`fisher_summary`, each with its target of issue 12 when it has one."""

    def entry(value: float | None, target: float | None = None) -> dict[str, Any]:
        return {"value": value, "target": target}

    out = {
        "step_time_wall": entry(ratio(agl["step_wall"], lora["step_wall"]), TARGETS["step_time"]),
        "step_time_cpu": entry(ratio(agl["step_cpu"], lora["step_cpu"]), TARGETS["step_time"]),
        "peak_rss_train": entry(
            ratio(agl["peak_rss_train_bytes"], lora["peak_rss_train_bytes"]), TARGETS["peak_memory"]
        ),
        "peak_rss_process": entry(ratio(agl["peak_rss_process_bytes"], lora["peak_rss_process_bytes"])),
        "cuda_peak_train": entry(
            ratio(agl["cuda_peak_train_bytes"], lora["cuda_peak_train_bytes"]), TARGETS["peak_memory"]
        ),
        "step_time_wall_per_pair": [
            ratio(median_excluding_warmup(a["step_wall"], warmup), median_excluding_warmup(lo["step_wall"], warmup))
            for lo, a in pairs
        ],
        "step_time_cpu_per_pair": [
            ratio(median_excluding_warmup(a["step_cpu"], warmup), median_excluding_warmup(lo["step_cpu"], warmup))
            for lo, a in pairs
        ],
    }
    target = TARGETS["fisher_pass_over_forward_backward"]
    out["fisher_pass_over_forward_backward_wall"] = entry(
        None if fisher is None else fisher["fisher_over_forward_backward_wall"], target
    )
    out["fisher_pass_over_forward_backward_cpu"] = entry(
        None if fisher is None else fisher["fisher_over_forward_backward_cpu"], target
    )
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Models, configs, runs
# ---------------------------------------------------------------------------------------------------------------------


def model_dir(model: str, cache: Path) -> Path:
    """The checkpoint of ``model``: the tiny random-weight test model, or the SmolLM2-135M-Instruct conversion."""
    if model == "tiny":
        from tests.helpers import build_tiny_model

        return build_tiny_model(cache / "overhead_trainer" / "tiny-model")
    if model == "smollm2":
        from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint

        return ensure_smollm2_checkpoint(cache)
    raise ValueError(f"unknown model {model!r}; choose from {sorted(MODELS)}")


def run_config(
    method: str, checkpoint: Path, task_path: Path, out_dir: Path, work: Path, model: str, steps: int
) -> dict[str, Any]:
    """The Axolotl config of one run: the demo's config for ``method`` plus the step-timer plugin."""
    settings = MODELS[model]
    cfg = method_config(
        method,
        base_config(checkpoint, task_path, out_dir, demo.SEED, steps, demo.LR),
        agl_lambda=demo.AGL_LAMBDA,
        fisher_samples=settings["fisher_samples"],
        fisher_cache_path=work / FISHER_CACHE,
        alignguard_overrides=settings["alignguard"] or None,
    )
    cfg["dataset_prepared_path"] = str(work / "prepared")  # the same tokenised data for every run
    cfg["plugins"] = [*cfg.get("plugins", []), TIMER_PLUGIN]  # after AlignGuard's, so it sees the trainer it built
    return cfg


def resolved_alignguard(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The AGL run's ``alignguard:`` block with every default filled in (what the penalty actually used)."""
    from axolotl_agl.integration.args import AlignGuardConfig

    block = AlignGuardConfig.model_validate(dict(cfg["alignguard"])).model_dump(mode="json")
    return {key: value for key, value in block.items() if key not in ("fisher_cache_path", "alignment_datasets")}


def launch(cfg: Mapping[str, Any], run_dir: Path, device: str, timeout: float) -> dict[str, Any]:
    """Write ``cfg`` and run it with ``accelerate launch -m axolotl.cli.train`` (output to ``run_dir/train.log``).

    ``benchmarks/`` is put on ``PYTHONPATH`` so that Axolotl finds the step-timer plugin. Raises ``RuntimeError``
    (with the log's tail) when the run fails or exceeds ``timeout`` seconds; the whole process group is ended then.
    """
    import yaml
    from gpu_smoke import launch_command, parse_run_log

    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.yml"
    config_path.write_text(yaml.safe_dump(dict(cfg), sort_keys=False), encoding="utf-8")
    cmd, env = launch_command(config_path, 1, device)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    log_path = run_dir / "train.log"
    load_before = os.getloadavg()
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    seconds = time.perf_counter() - started
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(text.splitlines()[-60:])
        raise RuntimeError(f"training failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail}")
    parsed = parse_run_log(text)
    return {
        "command": shlex.join(cmd),
        "launch_wall_seconds": seconds,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "train_metrics": parsed["train_metrics"],
        "fisher_seconds_from_log": parsed["fisher_seconds"],
        "reused_fisher_cache": "reusing Fisher cache" in text,
        "log": str(log_path),
    }


def environment(device: str) -> dict[str, Any]:
    """Versions, CPU count and the GPU (when used) of this machine."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    versions = {}
    for package in ("torch", "transformers", "peft", "accelerate", "axolotl"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        **versions,
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="tiny", help="tiny (quick check) or smollm2")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved (lora, agl) pairs (default 2)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"optimiser steps per run ({DEFAULT_STEPS})")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="first steps of a run not counted (3)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: cuda when present")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per training run")
    parser.add_argument("--work", type=Path, help="run folders (default .cache/overhead_trainer/<model>)")
    parser.add_argument("--out", type=Path, help="output JSON (default benchmarks/results/overhead_trainer_*.json)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.steps <= args.warmup:
        raise SystemExit(f"--steps ({args.steps}) must exceed --warmup ({args.warmup})")
    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    started = time.perf_counter()
    load_start = os.getloadavg()
    cache = default_cache_dir()
    work = (args.work or cache / "overhead_trainer" / args.model).resolve()
    shutil.rmtree(work / "runs", ignore_errors=True)
    (work / FISHER_CACHE).unlink(missing_ok=True)  # the first AGL run computes (and times) the Fisher pass
    work.mkdir(parents=True, exist_ok=True)
    checkpoint = model_dir(args.model, cache).resolve()
    task_path, _ = write_task_data(work)

    runs: list[dict[str, Any]] = []
    plan = run_plan(args.repeats)
    for number, (method, repeat) in enumerate(plan, 1):
        run_dir = work / "runs" / f"{repeat}-{method}"
        cfg = run_config(method, checkpoint, task_path, run_dir / "out", work, args.model, args.steps)
        print(f"[{number}/{len(plan)}] {method} (repeat {repeat}): {run_dir}", flush=True)
        info = launch(cfg, run_dir, device, args.timeout)
        record = json.loads((run_dir / "out" / STEP_TIMES).read_text(encoding="utf-8"))
        runs.append({"method": method, "repeat": repeat, **info, **record, "config": cfg})
        print(
            f"    median step {median_excluding_warmup(record['step_wall'], args.warmup):.3f} s wall, "
            f"{median_excluding_warmup(record['step_cpu'], args.warmup):.3f} s CPU; "
            f"run {info['launch_wall_seconds']:.0f} s; load {info['load_average_after'][0]:.2f}",
            flush=True,
        )

    by_method = {m: [r for r in runs if r["method"] == m] for m in METHODS}
    summary = {m: summarise_method(by_method[m], args.warmup) for m in METHODS}
    fisher_runs = [r["fisher"] for r in by_method["agl"] if r.get("fisher")]
    fisher = fisher_summary(fisher_runs[0]) if fisher_runs else None
    pairs = list(zip(by_method["lora"], by_method["agl"], strict=True))
    ratios = assemble_ratios(summary["lora"], summary["agl"], pairs, fisher, args.warmup)
    result = {
        "benchmark": "axolotl_agl overhead through the trainer (benchmarks/overhead_trainer.py)",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": shlex.join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
        "load_average_at_start": load_start,
        "load_average_at_end": os.getloadavg(),
        "environment": environment(device),
        "settings": {
            "model": args.model,
            "model_description": MODELS[args.model]["description"],
            "checkpoint": str(checkpoint),
            "steps": args.steps,
            "warmup_steps_excluded": args.warmup,
            "repeats": args.repeats,
            "order": [f"{m}{i}" for m, i in plan],
            "seed": demo.SEED,
            "lr": demo.LR,
            "agl_lambda": demo.AGL_LAMBDA,
            "fisher_samples": MODELS[args.model]["fisher_samples"],
            "micro_batch_size": runs[0]["config"]["micro_batch_size"],
            "sequence_len": runs[0]["config"]["sequence_len"],
            "torch_threads_in_training": sorted({r["torch_threads"] for r in runs}),
            "alignguard": resolved_alignguard(next(r["config"] for r in runs if r["method"] == "agl")),
        },
        "ratios": ratios,
        "summary": summary,
        "fisher": fisher,
        "runs": runs,
        "wall_seconds": time.perf_counter() - started,
    }
    suffix = "" if args.model == "smollm2" else f"_{args.model}"
    out = args.out or ROOT / "benchmarks" / "results" / f"overhead_trainer{suffix}_{dt.date.today().isoformat()}.json"
    atomic_write_json(out, result)
    print(json.dumps({"ratios": ratios, "fisher": fisher}, indent=1))
    print(f"wrote {out} in {result['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
