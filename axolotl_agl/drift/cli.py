"""Click command ``drift`` (``axolotl-agl drift``) and ``agl-drift`` (``axolotl agl-drift``): DriftCheck evaluation.

Importing this module imports only click; torch and transformers load when the command runs.
Run it directly with ``python -m axolotl_agl.drift.cli --help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from axolotl_agl.utils.env import set_safe_env

__all__ = ["agl_drift", "drift_command", "parse_adapter_option", "run_drift_command"]


def parse_adapter_option(value: str) -> tuple[str, str]:
    """Split ``NAME=PATH`` (both non-empty) into ``(name, path)``."""
    name, sep, path = value.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise click.BadParameter(f"expected NAME=PATH, got {value!r}", param_hint="--adapter")
    return name.strip(), path.strip()


def run_drift_command(
    base_model: str | None,
    adapters: tuple[str, ...],
    configs: tuple[str, ...],
    prompts: tuple[str, ...],
    prompt_column: str,
    label_column: str,
    category_column: str,
    id_column: str,
    hub_dataset: str | None,
    hub_split: str,
    hub_subset: str | None,
    xstest: str | None,
    driftcheck: bool,
    limit: int | None,
    max_new_tokens: int,
    batch_size: int,
    classifier: str | None,
    classifier_kind: str,
    classifier_labels: tuple[str, ...],
    classifier_primary: bool,
    trust_remote_code: bool,
    out_dir: str,
    task_items: int,
    task_seed: int,
    bootstrap: int,
    seed: int,
    device: str,
    dtype: str | None,
    system_prompt: str | None,
    quiet: bool,
) -> dict[str, Any]:
    """Resolve the CLI options, run :func:`~axolotl_agl.drift.run.evaluate_drift` and print the report."""
    set_safe_env()
    from axolotl_agl.drift.generate import ModelSpec, read_axolotl_config, resolve_model_spec
    from axolotl_agl.drift.judge import ClassifierJudge, PatternRefusalJudge
    from axolotl_agl.drift.prompts import default_prompt_sets, load_hub_prompts, load_prompt_file
    from axolotl_agl.drift.report import render_markdown
    from axolotl_agl.drift.run import DEFAULT_BASE_NAME, evaluate_drift

    config_specs: list[ModelSpec] = []
    config_bases: set[str] = set()
    for config in configs:
        try:
            config_base, spec = read_axolotl_config(config)
        except (ValueError, FileNotFoundError) as exc:
            raise click.UsageError(str(exc)) from exc
        config_bases.add(config_base)
        config_specs.append(spec)
    if base_model is None:
        if len(config_bases) != 1:
            raise click.UsageError("pass --base-model, or --config files that share one base_model")
        base_model = config_bases.pop()
    elif config_bases - {base_model}:
        raise click.UsageError(f"--config base_model {sorted(config_bases)} differs from --base-model {base_model}")

    specs: list[ModelSpec] = list(config_specs)
    for option in adapters:
        name, path = parse_adapter_option(option)
        try:
            specs.append(resolve_model_spec(name, base_model, path))
        except FileNotFoundError as exc:
            raise click.UsageError(str(exc)) from exc
    names = [DEFAULT_BASE_NAME, *(s.name for s in specs)]
    if len(set(names)) != len(names):
        raise click.UsageError(f"model names must be unique (and not {DEFAULT_BASE_NAME!r}): {names}")

    columns = {
        "prompt_column": prompt_column,
        "label_column": label_column,
        "category_column": category_column or None,
        "id_column": id_column or None,
    }
    try:
        sets = default_prompt_sets(xstest=xstest, driftcheck=driftcheck)
        for path in prompts:
            sets[Path(path).stem] = load_prompt_file(path, **columns)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if hub_dataset:
        try:
            sets[hub_dataset] = load_hub_prompts(hub_dataset, split=hub_split, subset=hub_subset, **columns)
        except Exception as exc:  # offline, unknown name, wrong split/columns: all end the command the same way
            raise click.ClickException(f"could not load hub dataset {hub_dataset!r}: {exc}") from exc
    if not sets and task_items <= 0:
        raise click.UsageError("no prompts: keep DriftCheck-mini, or pass --prompts/--xstest/--hub-dataset")

    judge = PatternRefusalJudge()
    extra_judges = []
    if classifier:
        labels = [int(x) if x.isdigit() else x for x in classifier_labels] or None
        classifier_judge = ClassifierJudge(
            classifier,
            kind=classifier_kind,
            refusal_labels=labels,
            batch_size=batch_size,
            device=device,
            trust_remote_code=trust_remote_code,
        )
        if classifier_primary:
            judge, extra_judges = classifier_judge, [PatternRefusalJudge()]
        else:
            extra_judges = [classifier_judge]

    results = evaluate_drift(
        base_model,
        adapters=specs,
        prompt_sets=sets,
        max_new_tokens=max_new_tokens,
        limit_per_set=limit,
        batch_size=batch_size,
        judge=judge,
        out_dir=out_dir,
        extra_judges=extra_judges,
        task_items=task_items,
        task_seed=task_seed,
        n_bootstrap=bootstrap,
        seed=seed,
        device=device,
        dtype=dtype,
        trust_remote_code=trust_remote_code,
        system_prompt=system_prompt,
        progress=not quiet,
    )
    click.echo(render_markdown(results))
    for kind, name in results["files"].items():
        if name:
            click.echo(f"{kind}: {Path(out_dir) / name}")
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
    @click.option("--prompt-column", default="prompt", show_default=True)
    @click.option("--label-column", default="label", show_default=True, help="Values: safe/unsafe (or 0/1).")
    @click.option("--category-column", default="category", show_default=True)
    @click.option("--id-column", default="id", show_default=True)
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
        run_drift_command(**kwargs)

    return command


#: ``axolotl-agl drift`` (add to the ``axolotl-agl`` group).
drift_command = _build_command("drift")
#: ``axolotl agl-drift`` (entry point in the ``axolotl.cli_commands`` group).
agl_drift = _build_command("agl-drift")


if __name__ == "__main__":
    drift_command()
