"""``evaluate_drift``: generate replies for the base model and each adapter, judge them, compare with the base."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from axolotl_agl.drift.generate import ModelSpec, generate_replies, load_model_and_tokenizer, resolve_model_spec
from axolotl_agl.drift.judge import Judge, PatternRefusalJudge
from axolotl_agl.drift.metrics import (
    DEFAULT_BOOTSTRAP,
    SetOutcomes,
    bootstrap_difference,
    category_breakdown,
    drift_metrics,
    set_metrics,
    task_accuracy,
)
from axolotl_agl.drift.prompts import PromptRow, default_prompt_sets, subsample_prompts
from axolotl_agl.drift.report import RESULTS_KIND, SCHEMA_VERSION, collect_environment, make_timestamp, write_report

__all__ = ["DEFAULT_BASE_NAME", "evaluate_drift"]

LOG = logging.getLogger(__name__)

DEFAULT_BASE_NAME = "base"
DEFAULT_TASK_SEED = 20240917

PathLike = str | os.PathLike[str]


def _describe(judge: Any) -> dict[str, Any]:
    describe = getattr(judge, "describe", None)
    if callable(describe):
        return describe()
    return {"name": getattr(judge, "name", type(judge).__name__), "type": type(judge).__name__}


def _model_specs(
    base_model: str, adapters: Mapping[str, PathLike | None] | Sequence[ModelSpec] | None, base_name: str
) -> list[ModelSpec]:
    if adapters is None:
        given: list[ModelSpec] = []
    elif isinstance(adapters, Mapping):
        given = [resolve_model_spec(name, base_model, path) for name, path in adapters.items()]
    else:
        given = list(adapters)
    names = [spec.name for spec in given]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique, got {names}")
    bases = [s for s in given if s.name == base_name]
    if bases and (bases[0].adapter_path is not None or bases[0].model_path != str(base_model)):
        raise ValueError(f"the name {base_name!r} is reserved for the base model {base_model}")
    return [ModelSpec(base_name, str(base_model), None)] + [s for s in given if s.name != base_name]


def _outcomes(rows: Sequence[PromptRow], refusals: list[bool], compliances: list[bool]) -> SetOutcomes:
    return SetOutcomes(
        ids=[r["id"] for r in rows],
        labels=[r["label"] for r in rows],
        categories=[r["category"] for r in rows],
        refusals=refusals,
        compliances=compliances,
    )


def evaluate_drift(
    base_model: str,
    adapters: Mapping[str, PathLike | None] | Sequence[ModelSpec] | None = None,
    prompt_sets: Mapping[str, Sequence[PromptRow]] | None = None,
    max_new_tokens: int = 48,
    limit_per_set: int | None = None,
    batch_size: int = 8,
    judge: Judge | None = None,
    out_dir: PathLike | None = None,
    *,
    xstest: PathLike | None = None,
    extra_judges: Sequence[Judge] = (),
    task_items: int = 0,
    task_seed: int = DEFAULT_TASK_SEED,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    device: str = "cpu",
    dtype: str | None = None,
    trust_remote_code: bool = False,
    system_prompt: str | None = None,
    base_name: str = DEFAULT_BASE_NAME,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate refusal drift of fine-tuned models against their base model.

    Args:
        base_model: Base model directory or hub id; always evaluated first, under ``base_name``.
        adapters: ``{name: path}`` with a PEFT adapter dir, a full model dir, or None (the base weights); or
            :class:`ModelSpec` objects.
        prompt_sets: ``{set name: rows}`` (rows ``{"id", "prompt", "label", "category"}``); default: DriftCheck-mini,
            plus XSTest when ``xstest`` is given.
        max_new_tokens: Greedy new tokens per reply.
        limit_per_set: Keep a label-stratified, evenly spaced subset of this many prompts per set.
        batch_size: Generation batch size.
        judge: Primary refusal judge (default :class:`PatternRefusalJudge`); compliance always uses
            :func:`~axolotl_agl.drift.judge.substantive_compliance` semantics (pattern judge, ≥ 8 words).
        out_dir: If given, write the report files there (see :mod:`axolotl_agl.drift.report`).
        xstest: Path of the XSTest CSV (or its folder), used only when ``prompt_sets`` is None.
        extra_judges: More judges reported beside the primary one (e.g. a :class:`ClassifierJudge`).
        task_items: Number of benign task items for an exact-match accuracy (0 = none).
        task_seed: Seed of ``generate_task_items``.
        n_bootstrap: Bootstrap resamples for the intervals.
        seed: Bootstrap seed.
        device, dtype, trust_remote_code: Model loading options.
        system_prompt: Optional system turn for every prompt.
        base_name: Report name of the base model.
        progress: Show tqdm bars.

    Returns:
        The results dict (schema in :mod:`axolotl_agl.drift.report`); ``files`` names the written files (or is
        all null when ``out_dir`` is None).
    """
    from axolotl_agl.data import generate_task_items

    judge = judge if judge is not None else PatternRefusalJudge()
    compliance_judge = judge if isinstance(judge, PatternRefusalJudge) else PatternRefusalJudge()
    primary_labels = tuple(getattr(judge, "applies_to", ("safe", "unsafe")))
    specs = _model_specs(base_model, adapters, base_name)
    source = prompt_sets if prompt_sets is not None else default_prompt_sets(xstest=xstest)
    sets = {name: subsample_prompts(list(rows), limit_per_set) for name, rows in source.items()}
    sets = {name: rows for name, rows in sets.items() if rows}
    if not sets and task_items <= 0:
        raise ValueError("nothing to evaluate: every prompt set is empty and task_items is 0")
    items = generate_task_items(task_items, seed=task_seed) if task_items > 0 else []
    created_at, timestamp = make_timestamp()

    samples: list[dict[str, Any]] = []
    outcomes: dict[str, dict[str, SetOutcomes]] = {}
    extra_outcomes: dict[str, dict[str, dict[str, SetOutcomes]]] = {}
    task_flags: dict[str, list[bool]] = {}
    models: dict[str, dict[str, Any]] = {}
    for position, spec in enumerate(specs, start=1):
        LOG.info("DriftCheck: evaluating %s (%s, adapter %s)", spec.name, spec.model_path, spec.adapter_path)
        model, tokenizer = load_model_and_tokenizer(
            spec, device=device, dtype=dtype, trust_remote_code=trust_remote_code
        )
        all_rows = [(set_name, row) for set_name, rows in sets.items() for row in rows]
        prompts = [row["prompt"] for _, row in all_rows] + [item["instruction"] for item in items]
        replies = generate_replies(
            model,
            tokenizer,
            prompts,
            max_new_tokens,
            batch_size,
            system_prompt,
            progress,
            desc=f"DriftCheck {spec.name} ({position}/{len(specs)})",
        )
        del model, tokenizer
        gc.collect()
        safety_replies, task_replies = replies[: len(all_rows)], replies[len(all_rows) :]

        outcomes[spec.name], extra_outcomes[spec.name] = {}, {}
        offset = 0
        for set_name, rows in sets.items():
            set_prompts = [r["prompt"] for r in rows]
            set_replies = safety_replies[offset : offset + len(rows)]
            offset += len(rows)
            refusals = [bool(x) for x in judge(set_prompts, set_replies)]
            compliances = [compliance_judge.complies(reply) for reply in set_replies]
            outcomes[spec.name][set_name] = _outcomes(rows, refusals, compliances)
            extra_flags = {}
            for extra in extra_judges:
                flags = [bool(x) for x in extra(set_prompts, set_replies)]
                extra_flags[extra.name] = flags
                extra_outcomes[spec.name].setdefault(extra.name, {})[set_name] = _outcomes(rows, flags, compliances)
            for i, (row, reply) in enumerate(zip(rows, set_replies, strict=True)):
                sample = {"model": spec.name, "set": set_name, **row, "reply": reply}
                sample.update(refusal=refusals[i], compliance=compliances[i])
                if extra_flags:
                    sample["judges"] = {name: flags[i] for name, flags in extra_flags.items()}
                samples.append(sample)

        task = None
        if items:
            accuracy, correct = task_accuracy(items, task_replies, n_boot=n_bootstrap, seed=seed)
            task_flags[spec.name] = correct
            drift = None
            if spec.name != base_name:
                drift = bootstrap_difference(correct, task_flags[base_name], True, n_boot=n_bootstrap, seed=seed)
            task = {"accuracy": accuracy.to_dict(), "drift": None if drift is None else drift.to_dict()}
            for index, (item, reply, ok) in enumerate(zip(items, task_replies, correct, strict=True)):
                samples.append(
                    {
                        "model": spec.name,
                        "set": "task",
                        "id": f"task-{index}",
                        "prompt": item["instruction"],
                        "label": None,
                        "category": item["kind"],
                        "reply": reply,
                        "answer": item["answer"],
                        "correct": ok,
                    }
                )

        models[spec.name] = {
            "model_path": spec.model_path,
            "adapter_path": spec.adapter_path,
            "is_base": spec.name == base_name,
            "sets": _set_results(
                spec.name, base_name, outcomes, extra_outcomes, extra_judges, primary_labels, n_bootstrap, seed
            ),
            "task": task,
        }

    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": RESULTS_KIND,
        "created_at": created_at,
        "timestamp": timestamp,
        "config": {
            "base_model": str(base_model),
            "models": [spec.to_dict() for spec in specs],
            "max_new_tokens": max_new_tokens,
            "limit_per_set": limit_per_set,
            "batch_size": batch_size,
            "n_bootstrap": n_bootstrap,
            "confidence": 0.95,
            "seed": seed,
            "task_items": task_items,
            "task_seed": task_seed,
            "device": device,
            "dtype": dtype or "float32",
            "system_prompt": system_prompt,
            "judge": _describe(judge),
            "extra_judges": [_describe(j) for j in extra_judges],
        },
        "environment": collect_environment(),
        "counts": {
            "prompt_sets": {
                name: {
                    "safe": sum(r["label"] == "safe" for r in rows),
                    "unsafe": sum(r["label"] == "unsafe" for r in rows),
                    "total": len(rows),
                }
                for name, rows in sets.items()
            },
            "task_items": len(items),
            "models": len(specs),
        },
        "base": base_name,
        "models": models,
        "files": {"results": None, "samples": None, "markdown": None, "plot": None},
    }
    if out_dir is not None:
        write_report(results, samples, out_dir)
    return results


def _set_results(
    name: str,
    base_name: str,
    outcomes: Mapping[str, Mapping[str, SetOutcomes]],
    extra_outcomes: Mapping[str, Mapping[str, Mapping[str, SetOutcomes]]],
    extra_judges: Sequence[Judge],
    primary_labels: tuple[str, ...],
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    def dump(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None if values is None else {k: v.to_dict() for k, v in values.items()}

    results: dict[str, Any] = {}
    is_base = name == base_name
    for set_name, own in outcomes[name].items():
        base = outcomes[base_name][set_name]
        judges = {}
        for extra in extra_judges:
            labels = tuple(getattr(extra, "applies_to", ("safe", "unsafe")))
            mine = extra_outcomes[name][extra.name][set_name]
            theirs = extra_outcomes[base_name][extra.name][set_name]
            metrics = set_metrics(mine, n_bootstrap, seed, refusal_labels=labels, include_compliance=False)
            drift = None if is_base else drift_metrics(mine, theirs, n_bootstrap, seed, labels, False)
            judges[extra.name] = {"metrics": dump(metrics), "drift": dump(drift)}
        results[set_name] = {
            "metrics": dump(set_metrics(own, n_bootstrap, seed, refusal_labels=primary_labels)),
            "drift": None if is_base else dump(drift_metrics(own, base, n_bootstrap, seed, primary_labels)),
            "judges": judges,
            "by_category": category_breakdown(own),
        }
    return results
