"""Run DriftCheck: evaluate the base model and each fine-tune, compare with the base, write the report.

:func:`run_drift` returns the typed :class:`~axolotl_agl.drift.results.DriftResults`; :func:`evaluate_drift` is the
older keyword interface, returning the same results as their JSON dict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from axolotl_agl.drift.document import build_results, run_config
from axolotl_agl.drift.environment import collect_environment, make_timestamp
from axolotl_agl.drift.evaluate import evaluate_model
from axolotl_agl.drift.generate import ModelSpec, resolve_model_spec
from axolotl_agl.drift.judge import Judge, PatternRefusalJudge
from axolotl_agl.drift.prompts import PromptRow, default_prompt_sets, subsample_prompts
from axolotl_agl.drift.report import write_report
from axolotl_agl.drift.results import DriftResults
from axolotl_agl.drift.settings import DEFAULT_BOOTSTRAP, GenerationSettings, ScoringSettings

__all__ = ["DEFAULT_BASE_NAME", "DEFAULT_TASK_SEED", "evaluate_drift", "model_specs", "run_drift"]

DEFAULT_BASE_NAME = "base"
DEFAULT_TASK_SEED = 20240917

PathLike = str | os.PathLike[str]
Models = Mapping[str, PathLike | None] | Sequence[ModelSpec] | None


def model_specs(base_model: str, models: Models, base_name: str = DEFAULT_BASE_NAME) -> list[ModelSpec]:
    """The base model (named ``base_name``) followed by ``models`` (``{name: path}`` or :class:`ModelSpec` objects).

    Raises:
        ValueError: on duplicate names, or ``base_name`` used for another model than the base.
    """
    if models is None:
        given: list[ModelSpec] = []
    elif isinstance(models, Mapping):
        given = [resolve_model_spec(name, base_model, path) for name, path in models.items()]
    else:
        given = list(models)
    names = [spec.name for spec in given]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique, got {names}")
    bases = [s for s in given if s.name == base_name]
    if bases and (bases[0].adapter_path is not None or bases[0].model_path != str(base_model)):
        raise ValueError(f"the name {base_name!r} is reserved for the base model {base_model}")
    return [ModelSpec(base_name, str(base_model), None)] + [s for s in given if s.name != base_name]


def run_drift(
    base_model: str,
    models: Models = None,
    prompt_sets: Mapping[str, Sequence[PromptRow]] | None = None,
    *,
    limit_per_set: int | None = None,
    xstest: PathLike | None = None,
    task_items: int = 0,
    task_seed: int = DEFAULT_TASK_SEED,
    generation: GenerationSettings | None = None,
    scoring: ScoringSettings | None = None,
    out_dir: PathLike | None = None,
    store_prompts: bool = False,
    base_name: str = DEFAULT_BASE_NAME,
) -> DriftResults:
    """Evaluate refusal drift of fine-tuned models against their base model.

    Args:
        base_model: Base model directory or hub id; always evaluated first, under ``base_name``.
        models: ``{name: path}`` with a PEFT adapter dir, a full model dir, or None (the base weights); or
            :class:`ModelSpec` objects.
        prompt_sets: ``{set name: rows}`` (rows ``{"id", "prompt", "label", "category"}``); default: DriftCheck-mini,
            plus XSTest when ``xstest`` is given.
        limit_per_set: Keep a label-stratified, evenly spaced subset of this many prompts per set.
        xstest: Path of the XSTest CSV (or its folder), used only when ``prompt_sets`` is None.
        task_items: Number of benign task items for an exact-match accuracy (0 = none).
        task_seed: Seed of ``generate_task_items``.
        generation: Generation and model-loading settings (default :class:`GenerationSettings`).
        scoring: Judges and bootstrap settings (default :class:`ScoringSettings`: the pattern judge).
        out_dir: If given, write the report files there (:mod:`axolotl_agl.drift.report`).
        store_prompts: Keep the text of third-party prompts in the samples file (default: ids only).
        base_name: Report name of the base model.

    Returns:
        The results; ``files`` names the written files (all None when ``out_dir`` is None).

    Raises:
        ValueError: when there is nothing to evaluate, or on bad model names.
    """
    from axolotl_agl.data import generate_task_items

    generation = generation or GenerationSettings()
    scoring = scoring or ScoringSettings()
    specs = model_specs(base_model, models, base_name)
    source = prompt_sets if prompt_sets is not None else default_prompt_sets(xstest=xstest)
    sets = {name: subsample_prompts(list(rows), limit_per_set) for name, rows in source.items()}
    sets = {name: rows for name, rows in sets.items() if rows}
    if not sets and task_items <= 0:
        raise ValueError("nothing to evaluate: every prompt set is empty and task_items is 0")
    items = generate_task_items(task_items, seed=task_seed) if task_items > 0 else []
    created_at, timestamp = make_timestamp()
    evaluations = [
        evaluate_model(
            spec, sets, items, generation, scoring, store_prompts, f"DriftCheck {spec.name} ({i}/{len(specs)})"
        )
        for i, spec in enumerate(specs, start=1)
    ]
    config = run_config(
        base_model,
        specs,
        generation,
        scoring,
        limit_per_set=limit_per_set,
        task_items=task_items,
        task_seed=task_seed,
        store_prompts=store_prompts,
    )
    results = build_results(evaluations, config, scoring, collect_environment(), created_at, timestamp, base_name)
    if out_dir is None:
        return results
    return write_report(results, [sample for e in evaluations for sample in e.samples], out_dir)


def evaluate_drift(
    base_model: str,
    adapters: Models = None,
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
    store_prompts: bool = False,
) -> dict[str, Any]:
    """:func:`run_drift` with flat keyword settings, returning the results' JSON dict (``run_drift(...).to_dict()``).

    ``adapters`` is ``models`` of :func:`run_drift`; ``max_new_tokens``, ``batch_size``, ``device``, ``dtype``,
    ``trust_remote_code``, ``system_prompt`` and ``progress`` make the :class:`GenerationSettings`; ``judge``
    (default :class:`PatternRefusalJudge`), ``extra_judges``, ``n_bootstrap`` and ``seed`` the
    :class:`ScoringSettings`.
    """
    generation = GenerationSettings(
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        trust_remote_code=trust_remote_code,
        system_prompt=system_prompt,
        progress=progress,
    )
    scoring = ScoringSettings(
        judge=judge if judge is not None else PatternRefusalJudge(),
        extra_judges=tuple(extra_judges),
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    results = run_drift(
        base_model,
        adapters,
        prompt_sets,
        limit_per_set=limit_per_set,
        xstest=xstest,
        task_items=task_items,
        task_seed=task_seed,
        generation=generation,
        scoring=scoring,
        out_dir=out_dir,
        store_prompts=store_prompts,
        base_name=base_name,
    )
    return results.to_dict()
