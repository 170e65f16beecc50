"""Build the results document: the models' evaluations, their differences against the base, typed results.

:func:`build_results` is pure (no model, no files): it takes the :class:`~axolotl_agl.drift.evaluate.ModelEvaluation`
of every model, adds ``model - base`` differences (paired when both answered the same prompts) and returns the
:class:`~axolotl_agl.drift.results.DriftResults`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from axolotl_agl.drift.evaluate import ModelEvaluation, refusal_labels
from axolotl_agl.drift.generate import ModelSpec
from axolotl_agl.drift.judge import describe_judge
from axolotl_agl.drift.metrics import bootstrap_difference, drift_metrics
from axolotl_agl.drift.results import (
    CONFIDENCE,
    Counts,
    DriftResults,
    Environment,
    ModelResult,
    RunConfig,
    SetCounts,
    SetResult,
)
from axolotl_agl.drift.settings import GenerationSettings, ScoringSettings

__all__ = ["build_results", "run_config", "with_drift"]


def run_config(
    base_model: str,
    specs: Sequence[ModelSpec],
    generation: GenerationSettings,
    scoring: ScoringSettings,
    *,
    limit_per_set: int | None,
    task_items: int,
    task_seed: int,
    store_prompts: bool,
) -> RunConfig:
    """The settings block of the results."""
    return RunConfig(
        base_model=str(base_model),
        models=list(specs),
        max_new_tokens=generation.max_new_tokens,
        limit_per_set=limit_per_set,
        batch_size=generation.batch_size,
        n_bootstrap=scoring.n_bootstrap,
        confidence=CONFIDENCE,
        seed=scoring.seed,
        task_items=task_items,
        task_seed=task_seed,
        device=generation.device,
        dtype=generation.dtype or "float32",
        system_prompt=generation.system_prompt,
        judge=describe_judge(scoring.judge),
        extra_judges=[describe_judge(j) for j in scoring.extra_judges],
        store_prompts=store_prompts,
    )


def with_drift(model: ModelEvaluation, base: ModelEvaluation, scoring: ScoringSettings) -> ModelResult:
    """``model``'s results with the differences ``model - base`` filled in (every rate, every judge, the task)."""
    n, seed = scoring.n_bootstrap, scoring.seed
    sets: dict[str, SetResult] = {}
    for set_name, result in model.result.sets.items():
        own, theirs = model.outcomes[set_name], base.outcomes[set_name]
        judges = {}
        for judge in scoring.extra_judges:
            mine, ref = model.judge_outcomes[judge.name][set_name], base.judge_outcomes[judge.name][set_name]
            drift = drift_metrics(mine, ref, n, seed, refusal_labels(judge), False)
            judges[judge.name] = replace(result.judges[judge.name], drift=drift)
        drift = drift_metrics(own, theirs, n, seed, refusal_labels(scoring.judge))
        sets[set_name] = replace(result, drift=drift, judges=judges)
    task = model.result.task
    if task is not None:
        task = replace(task, drift=bootstrap_difference(model.task_correct, base.task_correct, True, n, seed))
    return replace(model.result, sets=sets, task=task)


def _counts(base: ModelEvaluation, n_models: int) -> Counts:
    sets = {name: SetCounts.of(outcomes.labels) for name, outcomes in base.outcomes.items()}
    return Counts(prompt_sets=sets, task_items=len(base.task_correct), models=n_models)


def build_results(
    evaluations: Sequence[ModelEvaluation],
    config: RunConfig,
    scoring: ScoringSettings,
    environment: Environment,
    created_at: str,
    timestamp: str,
    base_name: str,
) -> DriftResults:
    """The results document; the evaluation named ``base_name`` is the reference and comes first.

    Raises:
        ValueError: if no evaluation is named ``base_name``, or two share a name.
    """
    names = [e.spec.name for e in evaluations]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique, got {names}")
    if base_name not in names:
        raise ValueError(f"no evaluation of the base model {base_name!r} among {names}")
    base = evaluations[names.index(base_name)]
    models = {base_name: replace(base.result, is_base=True)}
    for evaluation in evaluations:
        if evaluation is not base:
            models[evaluation.spec.name] = with_drift(evaluation, base, scoring)
    return DriftResults(
        created_at=created_at,
        timestamp=timestamp,
        config=config,
        environment=environment,
        counts=_counts(base, len(evaluations)),
        base=base_name,
        models=models,
    )
