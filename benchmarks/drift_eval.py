"""Evaluation side of the drift sweep: one run's DriftCheck and its per-prompt outcomes.

Every sweep run is evaluated on its own (:func:`evaluate_run`): a PEFT adapter is merged into the aligned base in a
scratch folder, :func:`axolotl_agl.experiments.compare.evaluate_model` generates greedy replies to the prompt sets and
the held-out task items and judges them, and the run keeps only

* ``metrics``: per prompt set the rates with the drift code's bootstrap intervals over prompts
  (``refusal_rate_unsafe``, ``over_refusal_safe``, ``compliance_rate_unsafe``, ``compliance_rate_safe``), and the
  task exact match;
* ``per_prompt``: per prompt set ``{"label": {id: "safe"|"unsafe"}, "refusal": {id: 0|1}, "compliance": {id: 0|1}}``
  and ``{"task": {"correct": {id: 0|1}}}``, keyed by prompt id. Prompt text and replies stay in the scratch
  folder (never in the committed run files: XSTest's text is third-party).

The aligned base is evaluated the same way once per evaluation setting, as the reference every drift is taken from.
"""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from axolotl_agl.experiments.compare import evaluate_model

RATES = ("refusal_rate_unsafe", "over_refusal_safe", "compliance_rate_unsafe", "compliance_rate_safe")


def judge_fingerprint() -> dict[str, Any]:
    """The default pattern judge's settings and a hash of its patterns (a changed judge is a new evaluation)."""
    from axolotl_agl.drift.judge import PatternRefusalJudge

    judge = PatternRefusalJudge()
    patterns = [getattr(p, "pattern", str(p)) for p in getattr(judge, "patterns", ())]
    text = json.dumps(patterns, sort_keys=True)
    return {**judge.describe(), "patterns_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def merge_adapter_for_eval(aligned: Path, adapter: Path, out: Path) -> Path:
    """``aligned`` + the PEFT ``adapter`` merged into one float32 checkpoint (with the tokenizer) in ``out``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(aligned, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    shutil.rmtree(out, ignore_errors=True)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(aligned).save_pretrained(out)
    del model, merged
    gc.collect()
    return out


def per_prompt_outcomes(samples_path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Per-prompt 0/1 outcomes keyed by prompt id, from a DriftCheck ``samples_<ts>.jsonl`` (text is dropped).

    Raises:
        ValueError: if a line lacks the fields the schema promises (``set``, ``id``, and ``label``/``refusal``/
            ``compliance`` for prompt sets, ``correct`` for task items), or an id repeats within a set.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for line_no, line in enumerate(samples_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        set_name, prompt_id = row.get("set"), row.get("id")
        if set_name is None or prompt_id is None:
            raise ValueError(f"{samples_path}:{line_no}: a sample without 'set' or 'id'")
        prompt_id = str(prompt_id)
        if set_name == "task":
            if "correct" not in row:
                raise ValueError(f"{samples_path}:{line_no}: a task sample without 'correct'")
            flags = out.setdefault("task", {"correct": {}})
            if prompt_id in flags["correct"]:
                raise ValueError(f"{samples_path}:{line_no}: task id {prompt_id!r} repeats")
            flags["correct"][prompt_id] = int(bool(row["correct"]))
            continue
        if any(key not in row for key in ("label", "refusal", "compliance")):
            raise ValueError(f"{samples_path}:{line_no}: a prompt sample without 'label', 'refusal' or 'compliance'")
        flags = out.setdefault(set_name, {"label": {}, "refusal": {}, "compliance": {}})
        if prompt_id in flags["label"]:
            raise ValueError(f"{samples_path}:{line_no}: id {prompt_id!r} repeats in set {set_name!r}")
        flags["label"][prompt_id] = str(row["label"])
        flags["refusal"][prompt_id] = int(bool(row["refusal"]))
        flags["compliance"][prompt_id] = int(bool(row["compliance"]))
    return out


def summarise_metrics(results: dict[str, Any], name: str) -> dict[str, Any]:
    """``{set: {rate: estimate}, "task": {"accuracy": estimate}}`` of model ``name`` in DriftCheck ``results``."""
    model = results["models"][name]
    metrics: dict[str, Any] = {}
    for set_name, entry in model["sets"].items():
        metrics[set_name] = {rate: (entry["metrics"] or {}).get(rate) for rate in RATES}
    if model.get("task"):
        metrics["task"] = {"accuracy": model["task"]["accuracy"]}
    return metrics


def evaluate_run(
    model: Path, name: str, aligned: Path, scratch: Path, settings: dict[str, Any], progress: bool = True
) -> dict[str, Any]:
    """DriftCheck of one run: ``model`` is a PEFT adapter (merged into ``aligned`` first) or a full model folder.

    ``settings`` are the sweep's evaluation settings (``limit_per_set``, ``task_items``, ``eval_seed``,
    ``max_new_tokens``, ``batch_size``, ``xstest`` path or None). The report files (with prompt text and replies)
    go to ``scratch/<name>``; the merged checkpoint is deleted afterwards.

    Returns:
        ``{"metrics", "per_prompt", "seconds": {"merge", "evaluate"}, "counts"}``.
    """
    started = time.perf_counter()
    merged = None
    if (model / "adapter_config.json").is_file():
        merged = merge_adapter_for_eval(aligned, model, scratch / f"{name}-merged")
        model = merged
    merge_seconds = time.perf_counter() - started
    out_dir = scratch / name
    shutil.rmtree(out_dir, ignore_errors=True)
    started = time.perf_counter()
    try:
        results = evaluate_model(
            model,
            name,
            limit_per_set=settings["limit_per_set"],
            task_items=settings["task_items"],
            eval_seed=settings["eval_seed"],
            max_new_tokens=settings["max_new_tokens"],
            xstest=None if settings.get("xstest") is None else Path(settings["xstest"]),
            out_dir=out_dir,
            batch_size=settings["batch_size"],
            progress=progress,
        )
    finally:
        if merged is not None:
            shutil.rmtree(merged, ignore_errors=True)
    seconds = {"merge": round(merge_seconds, 1), "evaluate": round(time.perf_counter() - started, 1)}
    samples = results.get("files", {}).get("samples")
    if not samples:
        raise RuntimeError(f"DriftCheck wrote no samples file into {out_dir}; per-prompt outcomes need it")
    return {
        "metrics": summarise_metrics(results, name),
        "per_prompt": per_prompt_outcomes(out_dir / samples),
        "seconds": seconds,
        "counts": results.get("counts"),
    }
