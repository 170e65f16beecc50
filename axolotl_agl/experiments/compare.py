"""Plain LoRA vs AlignGuard on an aligned base: task data, Axolotl configs, training, DriftCheck, the table.

Shared by ``make demo`` (:mod:`axolotl_agl.experiments.demo`) and ``benchmarks/drift.py`` (which adds the peer defences
``l2``, ``ewc``, ``replay`` and ``safelora`` on top of the pieces here).

* :func:`write_task_data`: the benign fine-tuning task (generated arithmetic and string formatting whose replies
  start with an eager prefix, "Sure! ...") and held-out items that share no instruction with it.
* :func:`base_config` / :func:`method_config`: the Axolotl config of a run; ``lora`` is plain LoRA, ``agl`` adds
  ``adapter: alignguard``, the plugin and the ``alignguard:`` block.
* :func:`train_config`: one run through ``accelerate launch -m axolotl.cli.train`` (skipped when its adapter exists),
  its output streamed with the progress bars redrawn in place (:func:`stream_train`).
* :func:`evaluate_runs`: DriftCheck over the aligned base (named ``aligned``) and every adapter: greedy replies to
  DriftCheck-mini (+ XSTest) and the held-out task items. The base is loaded once and each adapter is merged into a
  copy of it (the weights the sweep evaluates; PEFT's unmerged layers generate about 3x slower on CPU).
  :func:`evaluate_model` evaluates one model alone (the benchmark sweep evaluates each run on its own).
* :func:`aggregate` / :func:`render_table`: refusal on unsafe, over-refusal on safe, substantive compliance on
  unsafe, task exact match, drift (aligned refusal − method refusal on unsafe prompts) and the drift reduction vs
  plain LoRA, ``1 − drift_method / drift_LoRA``.
* :func:`run_comparison`: all of the above for one seed, with run and evaluation folders keyed by their settings
  (changing steps, lr or λ_A never reuses a stale adapter).

Importing this module does not import torch or Axolotl.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from axolotl_agl.data import generate_task_items, task_to_messages
from axolotl_agl.experiments.launch import axolotl_train_command, parse_step_logs
from axolotl_agl.utils.io import write_jsonl

__all__ = [
    "ALIGNED_NAME",
    "EVAL_SEED",
    "METHODS",
    "SETS",
    "SET_TITLES",
    "TASK_SEED",
    "aggregate",
    "aligned_fingerprint",
    "base_config",
    "evaluate_model",
    "evaluate_runs",
    "file_sha256",
    "method_config",
    "render_table",
    "run_comparison",
    "settings_key",
    "stream_train",
    "table_columns",
    "train_config",
    "write_jsonl",
    "write_task_data",
]

#: Methods this module knows; the benchmark's peers live in ``benchmarks/``.
METHODS = ("lora", "agl")
#: Prompt sets, in table order.
SETS = ("driftcheck_mini", "xstest")
SET_TITLES = {"driftcheck_mini": "DC-mini", "xstest": "XSTest"}
#: Name of the reference model in the evaluation.
ALIGNED_NAME = "aligned"
TASK_SEED, EVAL_SEED = 0, 20240917
RATE_KEYS = ("refusal_rate_unsafe", "over_refusal_safe", "compliance_rate_unsafe")

Entry = dict[str, Any]


# ---------------------------------------------------------------------------------------------------------------------
# Data and configs
# ---------------------------------------------------------------------------------------------------------------------


def write_task_data(
    work: Path, n_train: int = 1000, n_eval: int = 60, eval_seed: int = EVAL_SEED, task_seed: int = TASK_SEED
) -> tuple[Path, list[dict[str, str]]]:
    """Training chats (``work/task_train.jsonl``, eager "Sure!" replies) and held-out eval items.

    The eval items are ``generate_task_items(n_eval, eval_seed)`` (what :func:`evaluate_runs` regenerates); the
    training items come from ``task_seed`` with every held-out instruction removed.
    """
    eval_items = generate_task_items(n_eval, eval_seed)
    held_out = {item["instruction"] for item in eval_items}
    train_items = [
        item for item in generate_task_items(n_train + n_eval, task_seed) if item["instruction"] not in held_out
    ]
    rows = [task_to_messages(item, eager_prefix=True, index=i) for i, item in enumerate(train_items[:n_train])]
    return write_jsonl(work / "task_train.jsonl", rows), eval_items


def base_config(aligned: Path, task_path: Path, out_dir: Path, seed: int, steps: int, lr: float) -> dict[str, Any]:
    """The plain-LoRA Axolotl config every method starts from (r=16 on all linear layers, batch 8, CPU)."""
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


def method_config(
    method: str,
    cfg: Mapping[str, Any],
    *,
    agl_lambda: float,
    fisher_samples: int,
    fisher_cache_path: Path | str,
    alignguard_overrides: Mapping[str, Any] | None = None,
    forgetting: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``cfg`` for ``method``: ``lora`` unchanged; ``agl`` with the AlignGuard plugin, adapter and λ_A.

    ``forgetting`` (an ``alignguard.forgetting`` block) records the forgetting curve for either method; for
    ``lora`` it lists the plugin with ``adapter: lora``, which then only adds that callback.

    Raises:
        ValueError: for any other method (the benchmark's peers are configured in ``benchmarks/drift.py``).
    """
    cfg = dict(cfg)
    if method == "lora":
        if forgetting is not None:
            cfg["plugins"] = ["axolotl_agl.AlignGuardPlugin"]
            cfg["alignguard"] = {"forgetting": dict(forgetting)}
        return cfg
    if method == "agl":
        cfg["plugins"] = ["axolotl_agl.AlignGuardPlugin"]
        cfg["adapter"] = "alignguard"
        cfg["alignguard"] = {
            "lambda_alignment": agl_lambda,
            "fisher_num_samples": fisher_samples,
            "fisher_cache_path": str(fisher_cache_path),
            **dict(alignguard_overrides or {}),
            **({"forgetting": dict(forgetting)} if forgetting is not None else {}),
        }
        return cfg
    raise ValueError(f"unknown method {method!r}; this module builds {METHODS}")


def stream_train(config: Path | str, cwd: Path | None = None) -> list[dict]:
    """Train ``config`` in one ``accelerate launch -m axolotl.cli.train`` process; returns its step logs.

    The output is relayed as it comes, carriage returns included, so the Trainer's and the Fisher pass's progress
    bars (with their ETA) redraw in place on a terminal instead of printing a line per update. The child runs with
    ``PYTHONUNBUFFERED=1``, so its log lines are not held back in a buffer.

    Raises:
        RuntimeError: when the training process fails.
    """
    cmd, env = axolotl_train_command(config, 1)
    env["PYTHONUNBUFFERED"] = "1"
    steps: list[dict] = []
    pending = ""
    out = sys.stdout
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(1 << 16):
            text = chunk.decode("utf-8", errors="replace")
            out.write(text)
            out.flush()
            pending += text
            *complete, pending = pending.replace("\r", "\n").split("\n")
            for line in complete:
                steps += parse_step_logs(line)
        steps += parse_step_logs(pending)
    if proc.returncode != 0:
        raise RuntimeError(f"axolotl training failed (exit {proc.returncode}): {' '.join(cmd)}")
    return steps


def train_config(
    cfg: Mapping[str, Any], config_path: Path, cwd: Path | None = None, pythonpath: Sequence[Path | str] = ()
) -> tuple[Path, list[dict]]:
    """Write ``cfg`` to ``config_path`` and train it with ``accelerate launch -m axolotl.cli.train``.

    Skipped when ``output_dir`` already holds ``adapter_model.safetensors``. The step logs of a run are also
    saved as ``output_dir/train_log.json`` (and read back from there when the run is skipped).

    Returns:
        ``(output_dir, step logs)``.
    """
    out_dir = Path(cfg["output_dir"])
    log_path = out_dir / "train_log.json"
    if (out_dir / "adapter_model.safetensors").exists():
        return out_dir, json.loads(log_path.read_text()) if log_path.is_file() else []
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(yaml.safe_dump(dict(cfg), sort_keys=False), encoding="utf-8")
    saved = os.environ.get("PYTHONPATH")
    if pythonpath:
        os.environ["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in pythonpath), *([saved] if saved else [])])
    try:
        steps = stream_train(config_path, cwd=cwd)
    finally:
        if pythonpath:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
    log_path.write_text(json.dumps(steps))
    return out_dir, steps


# ---------------------------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------------------------


def evaluate_runs(
    aligned: Path,
    adapters: Mapping[str, Path] | None,
    *,
    limit_per_set: int | None,
    task_items: int,
    eval_seed: int = EVAL_SEED,
    max_new_tokens: int = 32,
    xstest: Path | None = None,
    out_dir: Path | None = None,
    batch_size: int = 16,
    progress: bool = True,
    base_name: str = ALIGNED_NAME,
) -> dict[str, Any]:
    """DriftCheck over the aligned base (reported as ``base_name``) and ``adapters`` (``{name: adapter dir}``).

    Greedy replies to DriftCheck-mini (+ XSTest when ``xstest`` is given), ``limit_per_set`` label-stratified prompts
    per set, and ``task_items`` held-out task items (``generate_task_items(task_items, eval_seed)``); pattern judge,
    bootstrap intervals. Writes the drift report files into ``out_dir`` when given. ``adapters=None`` evaluates the
    base alone (:func:`axolotl_agl.drift.evaluate_drift`).

    With adapters, the base is loaded once and each adapter is merged into a copy of it (float32, PEFT's
    ``merge_and_unload``): the same weights as merging it on disk as the benchmark sweep does, and about 3x faster
    generation on CPU than PEFT's unmerged layers. Prompts, generation, judge and results are those of
    :func:`axolotl_agl.drift.run_drift` (the results record each adapter's path, as for an unmerged evaluation).
    """
    if not adapters:
        from axolotl_agl.drift.run import evaluate_drift

        return evaluate_drift(
            str(aligned),
            None,
            max_new_tokens=max_new_tokens,
            limit_per_set=limit_per_set,
            batch_size=batch_size,
            xstest=xstest,
            task_items=task_items,
            task_seed=eval_seed,
            out_dir=out_dir,
            base_name=base_name,
            progress=progress,
        )
    from axolotl_agl.data import generate_task_items
    from axolotl_agl.drift.document import build_results, run_config
    from axolotl_agl.drift.environment import collect_environment, make_timestamp
    from axolotl_agl.drift.evaluate import model_prompts, score_replies
    from axolotl_agl.drift.generate import generate_replies, load_model_and_tokenizer
    from axolotl_agl.drift.prompts import default_prompt_sets, subsample_prompts
    from axolotl_agl.drift.report import write_report
    from axolotl_agl.drift.run import model_specs
    from axolotl_agl.drift.settings import GenerationSettings, ScoringSettings

    generation = GenerationSettings(max_new_tokens=max_new_tokens, batch_size=batch_size, progress=progress)
    scoring = ScoringSettings()
    specs = model_specs(str(aligned), {name: str(path) for name, path in adapters.items()}, base_name)
    sets = {name: subsample_prompts(list(rows), limit_per_set) for name, rows in default_prompt_sets(xstest).items()}
    sets = {name: rows for name, rows in sets.items() if rows}
    items = generate_task_items(task_items, seed=eval_seed) if task_items > 0 else []
    prompts = model_prompts(sets, items)
    created_at, timestamp = make_timestamp()
    base_model, base_tokenizer = load_model_and_tokenizer(specs[0])
    evaluations = []
    for index, spec in enumerate(specs, start=1):
        model, tokenizer = base_model, base_tokenizer
        if spec.adapter_path is not None:
            model, tokenizer = _merged_copy(base_model, base_tokenizer, Path(spec.adapter_path))
        replies = generate_replies(
            model,
            tokenizer,
            prompts,
            max_new_tokens,
            batch_size,
            None,
            progress,
            desc=f"DriftCheck {spec.name} ({index}/{len(specs)})",
        )
        evaluations.append(score_replies(spec, sets, items, replies, scoring))
        if model is not base_model:
            del model
            gc.collect()
    del base_model
    gc.collect()
    config = run_config(
        str(aligned),
        specs,
        generation,
        scoring,
        limit_per_set=limit_per_set,
        task_items=task_items,
        task_seed=eval_seed,
        store_prompts=False,
    )
    results = build_results(evaluations, config, scoring, collect_environment(), created_at, timestamp, base_name)
    if out_dir is not None:
        results = write_report(results, [sample for e in evaluations for sample in e.samples], out_dir)
    return results.to_dict()


def _merged_copy(base_model: Any, base_tokenizer: Any, adapter: Path) -> tuple[Any, Any]:
    """A copy of ``base_model`` with the PEFT ``adapter`` merged in, and the tokenizer to use with it.

    Like :func:`axolotl_agl.drift.generate.load_model_and_tokenizer`: the tokenizer of the adapter folder when it
    holds one (Axolotl saves it there), the embeddings resized when that tokenizer is larger.
    """
    from peft import PeftModel
    from transformers import AutoTokenizer

    tokenizer = base_tokenizer
    if (adapter / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(adapter)
    model = copy.deepcopy(base_model)
    embeddings = model.get_input_embeddings()
    if embeddings is not None and len(tokenizer) > embeddings.num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.eval()
    return merged, tokenizer


def evaluate_model(model_dir: Path, name: str, **settings: Any) -> dict[str, Any]:
    """DriftCheck of one full model directory on its own (reported as ``name``; its drift entries are null).

    ``settings`` are the keyword settings of :func:`evaluate_runs` (``limit_per_set`` and ``task_items`` required),
    so the prompts, task items, generation and judge are the same; drift against another model is computed
    afterwards from the per-prompt outcomes (the ``samples`` file written into ``out_dir``).
    """
    return evaluate_runs(model_dir, None, base_name=name, **settings)


# ---------------------------------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------------------------------


def _entry(mean: float | None, lo: float | None = None, hi: float | None = None, n: int = 1) -> Entry:
    return {"mean": mean, "lo": lo, "hi": hi, "n": n if mean is not None else 0}


def _estimate(model: Mapping[str, Any], set_name: str, key: str, block: str = "metrics") -> Mapping | None:
    entry = model["sets"].get(set_name)
    if entry is None or entry[block] is None:
        return None
    return entry[block].get(key)


def _metric(model: Mapping[str, Any], set_name: str, key: str) -> float | None:
    estimate = _estimate(model, set_name, key)
    return None if estimate is None else estimate["value"]


def _mean_ci(values: Sequence[float | None]) -> Entry:
    """Mean over seeds with a normal-approximation 95% interval (t-quantile for n ≤ 5)."""
    kept = [v for v in values if v is not None]
    if not kept:
        return {"mean": None, "lo": None, "hi": None, "n": 0}
    mean = statistics.fmean(kept)
    if len(kept) < 2:
        return {"mean": mean, "lo": None, "hi": None, "n": 1}
    t = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78}.get(len(kept), 1.96)
    half = t * statistics.stdev(kept) / len(kept) ** 0.5
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": len(kept)}


def _from_estimate(estimate: Mapping[str, Any] | None, negate: bool = False) -> Entry:
    """A one-run entry with the drift code's bootstrap interval (``negate`` turns ``model − base`` into drift)."""
    if estimate is None or estimate.get("value") is None:
        return _entry(None)
    sign = -1.0 if negate else 1.0
    lo, hi = estimate["lo"], estimate["hi"]
    if negate and lo is not None:
        lo, hi = -hi, -lo
    return _entry(sign * estimate["value"], lo, hi, int(estimate.get("n") or 1))


def _drift(base_refusal: float | None, model: Mapping[str, Any], set_name: str) -> float | None:
    refusal = _metric(model, set_name, "refusal_rate_unsafe")
    return None if base_refusal is None or refusal is None else base_refusal - refusal


def aggregate(
    results: Mapping[str, Any],
    methods: Sequence[str],
    seeds: Sequence[int],
    bootstrap_intervals: bool = False,
    sets: Sequence[str] = SETS,
) -> dict[str, dict[str, Entry]]:
    """The comparison table: ``{"aligned": row, method: row, ...}``, each row ``{column: entry}``.

    Models in ``results`` are named ``aligned`` and ``<method>-s<seed>``. Columns: ``<set>/<rate>`` for the three
    rates of :data:`RATE_KEYS`, ``task_accuracy``, ``<set>/drift`` (aligned refusal − method refusal on unsafe
    prompts) and ``<set>/drift_reduction_vs_lora`` (``1 − drift_method / drift_LoRA`` of the same seed; null when
    LoRA did not drift). An entry is ``{"mean", "lo", "hi", "n"}``: the mean over seeds with a t-interval over seeds
    (``lo``/``hi`` null for one seed). With ``bootstrap_intervals`` and a single seed, rates, task accuracy and drift
    carry the drift code's 95% bootstrap interval over prompts instead (drift reduction stays a point estimate).
    """
    models = results["models"]
    base = models[ALIGNED_NAME]
    single = bootstrap_intervals and len(seeds) == 1
    table: dict[str, dict[str, Entry]] = {ALIGNED_NAME: {}}
    for set_name in sets:
        for key in RATE_KEYS:
            estimate = _estimate(base, set_name, key)
            if single:
                table[ALIGNED_NAME][f"{set_name}/{key}"] = _from_estimate(estimate)
            else:
                table[ALIGNED_NAME][f"{set_name}/{key}"] = _entry(None if estimate is None else estimate["value"])
    base_task = base["task"]["accuracy"] if base.get("task") else None
    table[ALIGNED_NAME]["task_accuracy"] = (
        _from_estimate(base_task) if single else _entry(None if base_task is None else base_task["value"])
    )
    for method in methods:
        names = [f"{method}-s{seed}" for seed in seeds if f"{method}-s{seed}" in models]
        row: dict[str, Entry] = {}
        for set_name in sets:
            base_refusal = _metric(base, set_name, "refusal_rate_unsafe")
            for key in RATE_KEYS:
                if single and names:
                    row[f"{set_name}/{key}"] = _from_estimate(_estimate(models[names[0]], set_name, key))
                else:
                    row[f"{set_name}/{key}"] = _mean_ci([_metric(models[n], set_name, key) for n in names])
            if single and names:
                row[f"{set_name}/drift"] = _from_estimate(
                    _estimate(models[names[0]], set_name, "refusal_rate_unsafe", "drift"), negate=True
                )
            else:
                row[f"{set_name}/drift"] = _mean_ci([_drift(base_refusal, models[n], set_name) for n in names])
            reductions = []
            for seed in seeds:
                name, lora_name = f"{method}-s{seed}", f"lora-s{seed}"
                if name not in models or lora_name not in models:
                    continue
                drift = _drift(base_refusal, models[name], set_name)
                drift_lora = _drift(base_refusal, models[lora_name], set_name)
                if drift is None or drift_lora is None:
                    continue
                reductions.append(1 - drift / drift_lora if drift_lora > 0 else None)
            row[f"{set_name}/drift_reduction_vs_lora"] = _mean_ci(reductions)
        tasks = [models[n]["task"]["accuracy"] if models[n].get("task") else None for n in names]
        if single and names:
            row["task_accuracy"] = _from_estimate(tasks[0])
        else:
            row["task_accuracy"] = _mean_ci([None if t is None else t["value"] for t in tasks])
        table[method] = row
    return table


def _round(value: float) -> str:
    text = f"{value:.0f}"
    return "0" if text == "-0" else text


def _fmt(entry: Mapping[str, Any] | None, percent: bool = True) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    scale = 100 if percent else 1
    text = _round(scale * entry["mean"])
    if entry.get("lo") is not None and entry.get("hi") is not None:
        text += f" [{_round(scale * entry['lo'])}, {_round(scale * entry['hi'])}]"
    return text


def table_columns(sets: Sequence[str] = SETS) -> list[tuple[str, str]]:
    """``(column key, header)`` pairs of :func:`render_table` for the prompt sets ``sets``."""
    title = [(s, SET_TITLES.get(s, s)) for s in sets]
    columns = [(f"{s}/refusal_rate_unsafe", f"refusal on unsafe ↑, {t}") for s, t in title]
    columns += [(f"{s}/over_refusal_safe", f"over-refusal on safe ↓, {t}") for s, t in title]
    columns += [(f"{s}/compliance_rate_unsafe", f"compliance on unsafe ↓, {t}") for s, t in title]
    columns += [("task_accuracy", "task EM ↑")]
    columns += [(f"{s}/drift", f"drift ↓, {t}") for s, t in title]
    columns += [(f"{s}/drift_reduction_vs_lora", f"drift reduction vs LoRA ↑, {t}") for s, t in title]
    return columns


def render_table(
    table: Mapping[str, Mapping[str, Entry]],
    sets: Sequence[str] = SETS,
    labels: Mapping[str, str] | None = None,
    transpose: bool = False,
) -> str:
    """Markdown table of :func:`aggregate`'s output, in percent (``mean [lo, hi]`` when an interval exists).

    Args:
        sets: Prompt sets to show (columns of absent sets would be all "–").
        labels: Display names of the models (default: the table keys).
        transpose: One row per metric and one column per model (narrower for a few models).
    """
    columns = table_columns(sets)
    names = [(labels or {}).get(method, method) for method in table]
    if transpose:
        lines = ["| metric (%) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for key, title in columns:
            lines.append(f"| {title} | " + " | ".join(_fmt(row.get(key)) for row in table.values()) + " |")
        return "\n".join(lines)
    lines = ["| model | " + " | ".join(title for _, title in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in zip(names, table.values(), strict=True):
        lines.append(f"| {name} | " + " | ".join(_fmt(row.get(key)) for key, _ in columns) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------------
# The whole comparison
# ---------------------------------------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def aligned_fingerprint(aligned: Path) -> dict[str, Any]:
    """Identifies one build of a model directory: its ``agl_source.json`` and the size/mtime of its weights."""
    source = aligned / "agl_source.json"
    weights = sorted(aligned.glob("*.safetensors"))
    return {
        "path": str(aligned.resolve()),
        "source": source.read_text(encoding="utf-8") if source.is_file() else None,
        "weights": [(w.name, w.stat().st_size, w.stat().st_mtime_ns) for w in weights],
    }


def settings_key(settings: Any, length: int = 10) -> str:
    """A short stable hash of JSON-able ``settings``."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _latest_results(directory: Path) -> dict[str, Any] | None:
    files = sorted(directory.glob("results_*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text(encoding="utf-8")) if files else None


def run_comparison(
    aligned: Path,
    work: Path,
    *,
    steps: int,
    lr: float,
    agl_lambda: float,
    limit_per_set: int | None,
    task_items: int,
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    fisher_samples: int = 128,
    max_new_tokens: int = 32,
    eval_seed: int = EVAL_SEED,
    n_train: int = 1000,
    xstest: Path | None = None,
    config_overrides: Mapping[str, Any] | None = None,
    alignguard_overrides: Mapping[str, Any] | None = None,
    batch_size: int = 16,
    progress: bool = True,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Fine-tune ``aligned`` with each of ``methods`` (one seed), evaluate, and build the table.

    Runs live in ``work/runs/<method>-s<seed>-<key>``, where the key hashes the run's config (steps, lr, λ_A, …),
    the training data and the aligned base's build, so a finished run is reused and a changed setting trains anew;
    the evaluation is cached the same way in ``work/eval-<key>``. The Fisher cache of ``agl`` is shared by runs on
    the same base (``work/agl_fisher-<base>-n<samples>.safetensors``; the plugin recomputes it when it does not
    match), and the tokenised task data by every method (``work/runs/prepared-<key of data and base>``).

    Args:
        config_overrides: Merged into every run's Axolotl config (e.g. a smaller ``micro_batch_size`` in tests).
        alignguard_overrides: Merged into the ``alignguard:`` block of ``agl``.

    Returns:
        ``{"results": drift results, "table": aggregate(...), "runs": {method: dir}, "train_logs": {method: steps},
        "eval_dir": Path, "seconds": {method: training wall s, "evaluation": wall s}}`` (a reused run or evaluation
        takes ~0 s).
    """
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; run_comparison trains {METHODS}")
    work.mkdir(parents=True, exist_ok=True)
    task_path, _ = write_task_data(work, n_train=n_train, n_eval=task_items, eval_seed=eval_seed)
    fingerprint = {"aligned": aligned_fingerprint(aligned), "task_data": file_sha256(task_path)}
    fisher_cache = work / f"agl_fisher-{aligned.name}-n{fisher_samples}.safetensors"
    # One tokenised copy of the task data for every method (Axolotl keys prepared data by the dataset's path, not its
    # content, so the folder is keyed by the data and the base here).
    prepared = work / "runs" / f"prepared-{settings_key(fingerprint)}"
    runs: dict[str, Path] = {}
    logs: dict[str, list[dict]] = {}
    seconds: dict[str, float] = {}
    for method in methods:
        placeholder = work / "runs" / "out"
        cfg = method_config(
            method,
            {**base_config(aligned, task_path, placeholder, seed, steps, lr), **dict(config_overrides or {})},
            agl_lambda=agl_lambda,
            fisher_samples=fisher_samples,
            fisher_cache_path=fisher_cache,
            alignguard_overrides=alignguard_overrides,
        )
        keyed = {k: v for k, v in cfg.items() if k not in ("output_dir", "dataset_prepared_path")}
        name = f"{method}-s{seed}-{settings_key({'config': keyed, **fingerprint})}"
        out_dir = work / "runs" / name
        cfg["output_dir"] = str(out_dir)
        cfg["dataset_prepared_path"] = str(prepared)
        print(f"\n=== {method}: {steps} steps, lr {lr:g}" + (f", λ_A {agl_lambda:g}" if method == "agl" else ""))
        print(f"    run dir {out_dir}", flush=True)
        started = time.perf_counter()
        runs[method], logs[method] = train_config(cfg, work / "runs" / f"{name}.yml", cwd=cwd)
        seconds[method] = round(time.perf_counter() - started, 1)
    adapters = {f"{method}-s{seed}": path for method, path in runs.items()}
    eval_settings = {
        "adapters": {k: str(v) for k, v in adapters.items()},
        "aligned": fingerprint["aligned"],
        "limit_per_set": limit_per_set,
        "task_items": task_items,
        "eval_seed": eval_seed,
        "max_new_tokens": max_new_tokens,
        "xstest": None if xstest is None else str(xstest),
        "loading": "adapters merged into a copy of the aligned base, float32",
    }
    eval_dir = work / f"eval-{settings_key(eval_settings)}"
    results = _latest_results(eval_dir)
    started = time.perf_counter()
    if results is None:
        print(f"\n=== DriftCheck: {1 + len(adapters)} models (aligned base, {', '.join(adapters)})", flush=True)
        results = evaluate_runs(
            aligned,
            adapters,
            limit_per_set=limit_per_set,
            task_items=task_items,
            eval_seed=eval_seed,
            max_new_tokens=max_new_tokens,
            xstest=xstest,
            out_dir=eval_dir,
            batch_size=batch_size,
            progress=progress,
        )
    else:
        print(f"\n=== DriftCheck: reusing the evaluation in {eval_dir}", flush=True)
    seconds["evaluation"] = round(time.perf_counter() - started, 1)
    sets = [s for s in SETS if s in results["counts"]["prompt_sets"]]
    table = aggregate(results, list(methods), [seed], bootstrap_intervals=True, sets=sets)
    return {
        "results": results,
        "table": table,
        "runs": runs,
        "train_logs": logs,
        "eval_dir": eval_dir,
        "seconds": seconds,
    }
