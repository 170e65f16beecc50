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

    raw = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    plugins = [str(p) for p in raw.get("plugins") or []] if isinstance(raw, dict) else []
    listed = any(p.rsplit(".", 1)[-1] == "AlignGuardPlugin" for p in plugins)
    if not isinstance(raw, dict) or raw.get("adapter") != "alignguard" or not listed:
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

    from axolotl_agl.integration.plugin import agl_config_of, alignguard_enabled, prepare_alignment_examples
    from axolotl_agl.integration.precompute import obtain_fisher_summary

    cfg = load_cfg(config)
    if not alignguard_enabled(cfg):
        raise click.UsageError(
            f"{config}: agl-fisher needs `adapter: alignguard` and `plugins: [axolotl_agl.AlignGuardPlugin]`"
        )
    examples = prepare_alignment_examples(cfg)  # bad alignment data fails here, before the model is loaded
    model, tokenizer, _ = load_model_and_tokenizer(cfg=cfg)
    result = obtain_fisher_summary(
        model,
        tokenizer,
        agl_config_of(cfg),
        base_model=str(cfg.base_model),
        sequence_len=int(cfg.sequence_len or 2048),
        output_dir=str(cfg.output_dir),
        examples=examples,
    )
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
