"""Click command ``drift`` (``axolotl-agl drift``) and ``agl-drift`` (``axolotl agl-drift``): DriftCheck evaluation.

The options come in five groups, each a frozen dataclass built from the click parameters of the same names:
:class:`ModelOptions` (which models), :class:`PromptOptions` (which prompts and task items),
:class:`~axolotl_agl.drift.settings.GenerationSettings` (generation, model loading), :class:`JudgeOptions`
(judges, bootstrap) and :class:`OutputOptions` (files, terminal). :func:`run_drift_command` resolves them and runs
:func:`~axolotl_agl.drift.run.run_drift`.

Importing this module imports only click (no torch, no numpy); they load when the command runs.
Run it directly with ``python -m axolotl_agl.drift.cli --help``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from axolotl_agl.drift.prompts import PromptColumns
from axolotl_agl.drift.settings import GenerationSettings, ScoringSettings
from axolotl_agl.utils.env import set_safe_env

if TYPE_CHECKING:
    from axolotl_agl.drift.generate import ModelSpec
    from axolotl_agl.drift.prompts import PromptRow
    from axolotl_agl.drift.results import DriftResults

__all__ = [
    "DriftOptions",
    "JudgeOptions",
    "ModelOptions",
    "OutputOptions",
    "PromptOptions",
    "agl_drift",
    "drift_command",
    "group_options",
    "parse_adapter_option",
    "run_drift_command",
]


@dataclass(frozen=True)
class ModelOptions:
    """``--base-model``, ``--adapter NAME=PATH`` (repeatable), ``--config`` (Axolotl YAML, repeatable)."""

    base_model: str | None = None
    adapters: tuple[str, ...] = ()
    configs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptOptions:
    """Prompt sets (DriftCheck-mini, XSTest, files, a hub dataset), their columns and size, and the task items."""

    prompts: tuple[str, ...] = ()
    prompt_column: str = PromptColumns.prompt
    label_column: str = PromptColumns.label
    category_column: str = PromptColumns.category
    id_column: str = PromptColumns.id
    hub_dataset: str | None = None
    hub_split: str = "test"
    hub_subset: str | None = None
    xstest: str | None = None
    driftcheck: bool = True
    limit: int | None = None
    task_items: int = 0
    task_seed: int = 20240917

    def columns(self) -> PromptColumns:
        """The column names of ``--prompts`` files and ``--hub-dataset`` (an empty name = not present)."""
        return PromptColumns(
            self.prompt_column, self.label_column, self.category_column or None, self.id_column or None
        )


@dataclass(frozen=True)
class JudgeOptions:
    """The optional classifier judge, and the bootstrap (resamples, seed)."""

    classifier: str | None = None
    classifier_kind: str = "auto"
    classifier_labels: tuple[str, ...] = ()
    classifier_primary: bool = False
    bootstrap: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class OutputOptions:
    """Where the report goes, whether third-party prompt text is kept, and progress bars."""

    out_dir: str = "drift-results"
    store_prompts: bool = False
    quiet: bool = False


@dataclass(frozen=True)
class DriftOptions:
    """All options of the command, by group."""

    models: ModelOptions
    prompts: PromptOptions
    generation: GenerationSettings
    judging: JudgeOptions
    output: OutputOptions


def group_options(values: dict[str, Any]) -> DriftOptions:
    """Sort the click parameters ``values`` into the option groups (every parameter belongs to exactly one).

    Raises:
        TypeError: on a parameter no group declares.
    """
    rest = dict(values)

    def take(cls: type) -> Any:
        return cls(**{f.name: rest.pop(f.name) for f in fields(cls) if f.name in rest})

    options = DriftOptions(
        models=take(ModelOptions),
        prompts=take(PromptOptions),
        generation=take(GenerationSettings),
        judging=take(JudgeOptions),
        output=take(OutputOptions),
    )
    if rest:
        raise TypeError(f"options without a group: {sorted(rest)}")
    return replace(options, generation=replace(options.generation, progress=not options.output.quiet))


def parse_adapter_option(value: str) -> tuple[str, str]:
    """Split ``NAME=PATH`` (both non-empty) into ``(name, path)``."""
    name, sep, path = value.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise click.BadParameter(f"expected NAME=PATH, got {value!r}", param_hint="--adapter")
    return name.strip(), path.strip()


def resolve_models(options: ModelOptions) -> tuple[str, list[ModelSpec]]:
    """``(base model, models to compare with it)`` from ``--base-model``, ``--config`` and ``--adapter``."""
    from axolotl_agl.drift.generate import read_axolotl_config, resolve_model_spec
    from axolotl_agl.drift.run import DEFAULT_BASE_NAME

    specs, config_bases = [], set()
    for config in options.configs:
        try:
            config_base, spec = read_axolotl_config(config)
        except (ValueError, FileNotFoundError) as exc:
            raise click.UsageError(str(exc)) from exc
        config_bases.add(config_base)
        specs.append(spec)
    base_model = options.base_model
    if base_model is None:
        if len(config_bases) != 1:
            raise click.UsageError("pass --base-model, or --config files that share one base_model")
        base_model = config_bases.pop()
    elif config_bases - {base_model}:
        raise click.UsageError(f"--config base_model {sorted(config_bases)} differs from --base-model {base_model}")
    for option in options.adapters:
        name, path = parse_adapter_option(option)
        try:
            specs.append(resolve_model_spec(name, base_model, path))
        except FileNotFoundError as exc:
            raise click.UsageError(str(exc)) from exc
    names = [DEFAULT_BASE_NAME, *(s.name for s in specs)]
    if len(set(names)) != len(names):
        raise click.UsageError(f"model names must be unique (and not {DEFAULT_BASE_NAME!r}): {names}")
    return base_model, specs


def load_prompt_sets(options: PromptOptions) -> dict[str, list[PromptRow]]:
    """The prompt sets the options name (DriftCheck-mini, XSTest, ``--prompts`` files, ``--hub-dataset``)."""
    from axolotl_agl.drift.prompts import default_prompt_sets, load_hub_prompts, load_prompt_file

    try:
        sets = default_prompt_sets(xstest=options.xstest, driftcheck=options.driftcheck)
        for path in options.prompts:
            sets[Path(path).stem] = load_prompt_file(path, options.columns())
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if options.hub_dataset:
        name = options.hub_dataset
        try:
            sets[name] = load_hub_prompts(name, options.hub_split, options.hub_subset, options.columns())
        except Exception as exc:  # offline, unknown name, wrong split/columns: all end the command the same way
            raise click.ClickException(f"could not load hub dataset {name!r}: {exc}") from exc
    if not sets and options.task_items <= 0:
        raise click.UsageError("no prompts: keep DriftCheck-mini, or pass --prompts/--xstest/--hub-dataset")
    return sets


def build_scoring(options: JudgeOptions, generation: GenerationSettings) -> ScoringSettings:
    """The pattern judge, plus the classifier (as an extra judge, or as the primary one with ``--classifier-primary``)."""
    from axolotl_agl.drift.judge import ClassifierJudge, PatternRefusalJudge

    scoring = ScoringSettings(n_bootstrap=options.bootstrap, seed=options.seed)
    if not options.classifier:
        return scoring
    labels = [int(x) if x.isdigit() else x for x in options.classifier_labels] or None
    classifier = ClassifierJudge(
        options.classifier,
        kind=options.classifier_kind,
        refusal_labels=labels,
        batch_size=generation.batch_size,
        device=generation.device,
        trust_remote_code=generation.trust_remote_code,
    )
    if options.classifier_primary:
        return replace(scoring, judge=classifier, extra_judges=(PatternRefusalJudge(),))
    return replace(scoring, extra_judges=(classifier,))


def run_drift_command(options: DriftOptions) -> DriftResults:
    """Resolve the options, run :func:`~axolotl_agl.drift.run.run_drift` and print the report and file paths."""
    set_safe_env()
    from axolotl_agl.drift.markdown import render_markdown
    from axolotl_agl.drift.report import report_paths
    from axolotl_agl.drift.run import run_drift

    base_model, specs = resolve_models(options.models)
    sets = load_prompt_sets(options.prompts)
    scoring = build_scoring(options.judging, options.generation)
    results = run_drift(
        base_model,
        specs,
        sets,
        limit_per_set=options.prompts.limit,
        task_items=options.prompts.task_items,
        task_seed=options.prompts.task_seed,
        generation=options.generation,
        scoring=scoring,
        out_dir=options.output.out_dir,
        store_prompts=options.output.store_prompts,
    )
    click.echo(render_markdown(results))
    for kind, path in report_paths(options.output.out_dir, results).items():
        click.echo(f"{kind}: {path}")
    return results


def _build_command(name: str) -> click.Command:
    @click.command(name=name)
    @click.option("--base-model", default=None, help="Base model directory or hub id (default: from --config).")
    @click.option(
        "--adapter",
        "adapters",
        multiple=True,
        metavar="NAME=PATH",
        help="A model to compare with the base: PEFT adapter dir or full model dir. Repeatable.",
    )
    @click.option(
        "--config",
        "configs",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Axolotl YAML: base_model, and the trained model in output_dir (named after the file). Repeatable.",
    )
    @click.option(
        "--prompts",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Your prompt file (.csv/.tsv/.jsonl/.json) with a prompt and a safe/unsafe label column. Repeatable.",
    )
    @click.option("--prompt-column", default=PromptColumns.prompt, show_default=True)
    @click.option(
        "--label-column", default=PromptColumns.label, show_default=True, help="Values: safe/unsafe (or 0/1)."
    )
    @click.option("--category-column", default=PromptColumns.category, show_default=True)
    @click.option("--id-column", default=PromptColumns.id, show_default=True)
    @click.option("--hub-dataset", default=None, help="Hugging Face dataset name (needs network access).")
    @click.option("--hub-split", default="test", show_default=True)
    @click.option("--hub-subset", default=None, help="Dataset config name.")
    @click.option(
        "--xstest", type=click.Path(exists=True), default=None, help="XSTest CSV (or folder with xstest_prompts.csv)."
    )
    @click.option("--driftcheck/--no-driftcheck", default=True, show_default=True, help="Use DriftCheck-mini.")
    @click.option("--limit", type=click.IntRange(min=1), default=None, help="Prompts per set (label-stratified).")
    @click.option("--max-new-tokens", type=click.IntRange(min=1), default=48, show_default=True)
    @click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
    @click.option("--classifier", default=None, help="Local classifier / Llama-Guard-style model as an extra judge.")
    @click.option(
        "--classifier-kind",
        type=click.Choice(["auto", "sequence-classification", "guard"]),
        default="auto",
        show_default=True,
    )
    @click.option(
        "--classifier-label", "classifier_labels", multiple=True, help="Label name/id meaning refusal. Repeatable."
    )
    @click.option("--classifier-primary", is_flag=True, help="Use the classifier as the primary judge.")
    @click.option("--trust-remote-code", is_flag=True, help="Allow custom model code (off unless given).")
    @click.option("--out-dir", default="drift-results", show_default=True, type=click.Path(file_okay=False))
    @click.option(
        "--store-prompts",
        is_flag=True,
        help="Keep the text of third-party prompts (XSTest, your files, hub sets) in the samples file (default: ids).",
    )
    @click.option("--task-items", type=click.IntRange(min=0), default=0, show_default=True, help="Benign task items.")
    @click.option("--task-seed", type=int, default=20240917, show_default=True)
    @click.option("--bootstrap", type=click.IntRange(min=10), default=1000, show_default=True)
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--device", default="cpu", show_default=True)
    @click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float16", "auto"]), default=None)
    @click.option("--system-prompt", default=None)
    @click.option("--quiet", is_flag=True, help="No progress bars.")
    def command(**kwargs: Any) -> None:
        """DriftCheck: refusal, over-refusal and compliance of fine-tuned models versus their base model."""
        run_drift_command(group_options(kwargs))

    return command


#: ``axolotl-agl drift`` (add to the ``axolotl-agl`` group).
drift_command = _build_command("drift")
#: ``axolotl agl-drift`` (entry point in the ``axolotl.cli_commands`` group).
agl_drift = _build_command("agl-drift")


if __name__ == "__main__":
    drift_command()
