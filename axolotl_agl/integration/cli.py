"""Command line: ``axolotl agl-fisher <config.yml>`` and the standalone ``axolotl-agl`` (fisher, drift, forgetting).

``agl-fisher`` loads the model exactly as ``axolotl train`` would (same YAML, LoRA attached), runs
the Fisher pass and writes the cache, so a team can compute it once and share the file
(``alignguard.fisher_cache_path``) across runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from axolotl_agl.drift.cli import drift_command
from axolotl_agl.forgetting.cli import forgetting_command
from axolotl_agl.utils.env import set_safe_env


def _check_yaml_selects_alignguard(config: str) -> None:
    """Fail early, with the fix, when the YAML lacks ``adapter: alignguard`` or the plugin entry."""
    import yaml

    from axolotl_agl.integration.checks import lists_our_plugin

    raw = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict) or raw.get("adapter") != "alignguard" or not lists_our_plugin(raw):
        raise click.UsageError(
            f"{config}: agl-fisher needs `adapter: alignguard` and `plugins: [axolotl_agl.AlignGuardPlugin]` "
            "in the YAML"
        )


def run_fisher_command(config: str) -> Path:
    """Compute (or validate and reuse) the Fisher cache for an Axolotl config; returns its path."""
    set_safe_env()
    _check_yaml_selects_alignguard(config)
    from axolotl.cli.config import load_cfg
    from axolotl.cli.utils.load import load_model_and_tokenizer

    from axolotl_agl.integration.precompute import obtain_fisher_summary
    from axolotl_agl.integration.settings import agl_config_of, alignguard_enabled, alignment_data_of, state_of

    cfg = load_cfg(config)
    if not alignguard_enabled(cfg):
        raise click.UsageError(
            f"{config}: agl-fisher needs `adapter: alignguard` and `plugins: [axolotl_agl.AlignGuardPlugin]`"
        )
    # Bad alignment data fails here, before the model is loaded.
    examples = state_of(cfg).alignment_examples(cfg, alignment_data_of(cfg))
    agl = agl_config_of(cfg)
    if agl.fisher_replies == "task":  # the same tokenised training rows and seeded draws as at training start
        from axolotl.common.datasets import load_datasets

        from axolotl_agl.integration.task_replies import pair_with_training_replies

        rows = load_datasets(cfg=cfg).train_dataset
        examples = pair_with_training_replies(examples, rows, agl.fisher_reply_tokens, int(cfg.get("seed") or 0))
    model, tokenizer, _ = load_model_and_tokenizer(cfg=cfg)
    result = obtain_fisher_summary(model, tokenizer, agl, str(cfg.base_model), str(cfg.output_dir), examples)
    state = "reused" if result.reused else "computed"
    click.echo(f"AlignGuard Fisher cache {state}: {result.path} ({len(result.summary)} modules)")
    return result.path


@click.command(name="agl-fisher")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=str))
def agl_fisher(config: str) -> None:
    """Compute the AlignGuard Fisher cache for an Axolotl config (adapter: alignguard)."""
    run_fisher_command(config)


@click.group()
def main() -> None:
    """axolotl-agl: AlignGuard-LoRA tools."""


main.add_command(agl_fisher, name="fisher")
main.add_command(drift_command, name="drift")
main.add_command(forgetting_command, name="forgetting")
