"""A benchmark-only Axolotl plugin: per-step times, peak memory and the Fisher pass next to a forward + backward.

``benchmarks/overhead_trainer.py`` lists it in ``plugins:`` (module ``step_timer``, with ``benchmarks/`` on
``PYTHONPATH``) of both the plain-LoRA and the AlignGuard run, after ``axolotl_agl.AlignGuardPlugin`` when that is
listed. It changes nothing in training; at the end of training it writes ``<output_dir>/step_times.json``:

* ``step_wall`` / ``step_cpu``: per optimiser step, the wall and process-CPU seconds (all threads) between two
  ``on_step_end`` callbacks (the first from ``on_train_begin``): everything the trainer does for the step,
  data loading, forward, backward, the AlignGuard penalty, the optimiser and logging included;
  ``inner_wall``: ``on_step_begin`` to ``on_step_end`` (the step without the data loading and logging).
* ``memory``: the process's peak RSS before training (model loading, dataset, Fisher pass), then the peak RSS
  *during training* alone (the kernel's high-water mark is reset at ``on_train_begin`` by writing ``5`` to
  ``/proc/self/clear_refs``; ``rss_peak_reset`` says whether that worked, otherwise the training peak is the
  process peak); with CUDA, ``torch.cuda.max_memory_allocated`` / ``max_memory_reserved`` before and during training.
* ``fisher`` (AlignGuard runs that compute the Fisher pass, not those that reuse its cache):
  ``axolotl_agl.integration.precompute.obtain_fisher_summary`` is wrapped to time the pass (wall and CPU
  seconds, plus the seconds the plugin itself records in the cache metadata), and one training-mode
  forward + backward of the LoRA model over the *same* tokenised alignment examples, at the run's
  ``micro_batch_size``, is timed right before and right after the pass (gradients are cleared afterwards;
  dropout-free LoRA, so no random state is consumed).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Any

import torch
from axolotl.integrations.base import BasePlugin
from transformers import TrainerCallback

OUTPUT_NAME = "step_times.json"
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _status_bytes(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (``VmHWM``, ``VmRSS``) in bytes; None where there is no procfs."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_rss_peak() -> bool:
    """Reset the kernel's RSS high-water mark of this process (Linux ≥ 4.0); False when not possible."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _cuda_peaks() -> dict[str, int] | None:
    if not torch.cuda.is_available():
        return None
    return {
        "max_memory_allocated_bytes": int(torch.cuda.max_memory_allocated()),
        "max_memory_reserved_bytes": int(torch.cuda.max_memory_reserved()),
    }


def _timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def forward_backward(model: torch.nn.Module, examples: list, pad_id: int, batch_size: int) -> dict[str, Any]:
    """Wall and CPU seconds of one training-mode forward + backward of ``model`` over ``examples`` in batches of
    ``batch_size`` (right-padded in the given order, the examples' own label masks), with the token counts.

    Gradients are cleared (``set_to_none``) afterwards and the model's train/eval mode is restored.
    """
    from axolotl_agl.core.examples import pad_batch

    device = next(model.parameters()).device
    was_training = model.training
    model.train()
    tokens = padded = 0
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        for start in range(0, len(examples), batch_size):
            batch = {k: v.to(device) for k, v in pad_batch(examples[start : start + batch_size], pad_id).items()}
            tokens += int(batch["attention_mask"].sum())
            padded += batch["input_ids"].numel()
            model(**batch).loss.backward()
        seconds = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return seconds | {"examples": len(examples), "batch_size": batch_size, "tokens": tokens, "padded_tokens": padded}


class StepTimerCallback(TrainerCallback):
    """Records per-step wall/CPU times and the training-time memory peaks; writes them at ``on_train_end``."""

    def __init__(self, path: Path, fisher: dict[str, Any]) -> None:
        self.path = Path(path)
        self.fisher = fisher  # filled by the plugin's Fisher-pass wrapper (after this callback is created)
        self.step_wall: list[float] = []
        self.step_cpu: list[float] = []
        self.inner_wall: list[float] = []
        self.memory: dict[str, Any] = {}
        self._last = (0.0, 0.0)
        self._begin = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.memory["peak_rss_before_train_bytes"] = _status_bytes("VmHWM")
        self.memory["ru_maxrss_before_train_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.memory["rss_at_train_begin_bytes"] = _status_bytes("VmRSS")
        self.memory["cuda_before_train"] = _cuda_peaks()
        self.memory["rss_peak_reset"] = _reset_rss_peak()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._last = (time.perf_counter(), time.process_time())

    def on_step_begin(self, args, state, control, **kwargs):
        self._begin = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        self.step_wall.append(wall - self._last[0])
        self.step_cpu.append(cpu - self._last[1])
        self.inner_wall.append(wall - self._begin)
        self._last = (wall, cpu)

    def on_train_end(self, args, state, control, **kwargs):
        self.memory["peak_rss_train_bytes"] = _status_bytes("VmHWM")
        self.memory["ru_maxrss_at_end_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.memory["cuda_train"] = _cuda_peaks()
        if not state.is_world_process_zero:
            return
        record = {
            "step_wall": self.step_wall,
            "step_cpu": self.step_cpu,
            "inner_wall": self.inner_wall,
            "memory": self.memory,
            "fisher": self.fisher or None,
            "torch_threads": torch.get_num_threads(),
            "pid": os.getpid(),
        }
        from axolotl_agl.utils.io import atomic_write_json

        atomic_write_json(self.path, record)


class StepTimerPlugin(BasePlugin):
    """Adds :class:`StepTimerCallback` to the trainer and times a Fisher pass (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.fisher: dict[str, Any] = {}
        self.batch_size = 1

    def register(self, cfg: dict) -> None:
        self.batch_size = int(cfg.get("micro_batch_size") or 1)
        self._wrap_fisher_pass()

    def _wrap_fisher_pass(self) -> None:
        """Wrap ``obtain_fisher_summary`` (the AlignGuard plugin imports it from its module when it runs)."""
        from axolotl_agl.integration import precompute

        original = precompute.obtain_fisher_summary
        if getattr(original, "_step_timer", False):
            return
        plugin = self

        def obtain_fisher_summary(model, tokenizer, agl, base_model, output_dir, examples, *args, **kwargs):
            pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
            cache = precompute.cache_path_of(agl, output_dir)
            computes = agl.fisher_cache == "rebuild" or not cache.exists()
            # AGL_STEP_TIMER_NO_FORWARD_BACKWARD=1: time the pass alone, to see what the comparison itself leaves behind
            compare = os.environ.get("AGL_STEP_TIMER_NO_FORWARD_BACKWARD", "") in ("", "0")
            before = forward_backward(model, examples, pad_id, plugin.batch_size) if computes and compare else None
            result, wall, cpu = _timed(
                lambda: original(model, tokenizer, agl, base_model, output_dir, examples, *args, **kwargs)
            )
            if not result.reused:
                plugin.fisher.update(
                    wall_seconds=wall,
                    cpu_seconds=cpu,
                    metadata_seconds=float(result.metadata.get("seconds", "nan")),
                    examples=len(examples),
                    tokens=sum(len(e.input_ids) for e in examples),
                    fisher_batch_size=agl.fisher_batch_size,
                    forward_backward_before=before,  # None when a stale cache was recomputed
                    forward_backward_after=forward_backward(model, examples, pad_id, plugin.batch_size)
                    if compare
                    else None,
                )
            return result

        obtain_fisher_summary._step_timer = True  # type: ignore[attr-defined]
        precompute.obtain_fisher_summary = obtain_fisher_summary

    def add_callbacks_post_trainer(self, cfg: Any, trainer: Any) -> list:
        return [StepTimerCallback(Path(str(cfg.get("output_dir"))) / OUTPUT_NAME, self.fisher)]
