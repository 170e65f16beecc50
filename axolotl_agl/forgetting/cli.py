"""``axolotl agl-forgetting`` and ``axolotl-agl forgetting``: fit and plot forgetting curves of finished runs.

Importing this module imports only click; numpy and matplotlib load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from axolotl_agl.utils.io import atomic_write_json

__all__ = ["agl_forgetting", "forgetting_command", "format_fit_table", "parse_run_argument", "run_forgetting_command"]


def parse_run_argument(value: str) -> tuple[str, str]:
    """``LABEL=PATH`` -> ``(LABEL, PATH)``; a bare ``PATH`` is labelled by its folder name (or YAML stem)."""
    label, sep, path = value.partition("=")
    if sep and label.strip() and path.strip() and not Path(value).exists():
        return label.strip(), path.strip()
    p = Path(value)
    if p.suffix.lower() in (".yml", ".yaml", ".jsonl"):
        return (p.stem if p.suffix.lower() != ".jsonl" else p.resolve().parent.name), value
    return p.resolve().name or value, value


def _interval(values: list[float] | None) -> str:
    return f"[{values[0]:.4g}, {values[1]:.4g}]" if values else ""


def format_fit_table(label: str, fit: Any) -> str:
    """A plain-text table of every form's parameters, intervals, R² and held-out error (``*`` = selected)."""
    header = f"{label}: {fit.metric}, {len(fit.tokens)} points, D_max={max(fit.tokens):.4g} tokens"
    lines = [header, "  form                    parameter  value        95% interval"]
    if fit.confidence != 0.95:
        lines[1] = lines[1].replace("95%", f"{fit.confidence:.0%}")
    for name, curve in fit.fits.items():
        mark = "*" if name == fit.selected else " "
        r2 = f"{curve.r2:.4f}" if curve.r2 is not None else "n/a"
        bound = "  (shape parameter at the edge of its search range)" if curve.at_bound else ""
        lines.append(f"{mark} {name:<23} R²={r2}  RMSE={curve.rmse:.4g}  held-out RMSE={curve.holdout_rmse:.4g}{bound}")
        for key, value in [*curve.params.items(), ("rise", curve.rise)]:
            interval = curve.rise_interval if key == "rise" else curve.intervals.get(key)
            lines.append(f"  {'':<23} {key:<9}  {value:<11.5g}  {_interval(interval)}")
    lines.append(f"  selected: {fit.selected} ({fit.best.formula}); rule: {fit.selection_rule}")
    return "\n".join(lines)


def run_forgetting_command(
    runs: tuple[str, ...],
    metric: str = "general_loss",
    out_dir: str = "forgetting-results",
    n_boot: int = 1000,
    seed: int = 0,
    holdout: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Fit every run's curve, print the tables, write ``forgetting_fit_<ts>.json`` and ``.png`` into ``out_dir``.

    Returns the JSON payload (with ``files``: the paths written).
    """
    from axolotl_agl.drift.environment import make_timestamp
    from axolotl_agl.forgetting.plot import plot_forgetting_fits
    from axolotl_agl.forgetting.records import fit_run_dir, resolve_run_dir

    if not runs:
        raise click.UsageError("give at least one run: a run's output_dir or its Axolotl YAML (LABEL=PATH to name it)")
    parsed = [parse_run_argument(value) for value in runs]
    labels = [label for label, _ in parsed]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise click.UsageError(f"run labels must be unique, {duplicates} repeat; name runs as LABEL=PATH")
    fits, sources = {}, {}
    for label, path in parsed:
        try:
            fits[label] = fit_run_dir(path, metric=metric, n_boot=n_boot, seed=seed, holdout=holdout)
            sources[label] = str(resolve_run_dir(path))
        except (FileNotFoundError, ValueError) as err:
            raise click.ClickException(f"{label} ({path}): {err}") from err
    created_at, stamp = make_timestamp()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / f"forgetting_fit_{stamp}.json", out / f"forgetting_fit_{stamp}.png"
    plot_forgetting_fits(fits, png_path)
    payload = {
        "created_at": created_at,
        "metric": metric,
        "runs": {label: {"run_dir": sources[label], **fit.to_dict()} for label, fit in fits.items()},
        "files": {"json": str(json_path), "plot": str(png_path)},
    }
    atomic_write_json(json_path, payload)
    if not quiet:
        for label, fit in fits.items():
            click.echo(format_fit_table(label, fit) + "\n")
        click.echo(f"results: {json_path}\nplot: {png_path}")
    return payload


def _options(command: Any) -> Any:
    from axolotl_agl.forgetting.records import METRICS

    decorators = [
        click.argument("runs", nargs=-1, required=True),
        click.option(
            "--metric",
            type=click.Choice(METRICS),
            default="general_loss",
            show_default=True,
            help="Which loss to fit: general text the base model knew, the alignment set, or the task.",
        ),
        click.option("--out-dir", default="forgetting-results", show_default=True, type=click.Path(file_okay=False)),
        click.option("--bootstrap", "n_boot", default=1000, show_default=True, type=click.IntRange(min=0)),
        click.option("--seed", default=0, show_default=True, type=int, help="Bootstrap seed."),
        click.option(
            "--holdout", default=None, type=click.IntRange(min=1), help="Last points held out for model selection."
        ),
        click.option("--quiet", is_flag=True, help="Do not print the tables."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _make_command(name: str) -> click.Command:
    @click.command(name=name)
    @_options
    def command(**kwargs: Any) -> None:
        """Fit forgetting curves L(D) = L0 + A·D^β (and alternatives) to runs' agl_forgetting.jsonl records.

        RUNS: output directories or Axolotl YAMLs of runs trained with `alignguard: {forgetting: {...}}`,
        optionally named as LABEL=PATH. Prints each fit, writes forgetting_fit_<timestamp>.json and .png.
        """
        run_forgetting_command(**kwargs)

    return command


#: ``axolotl agl-forgetting`` (entry point group ``axolotl.cli_commands``).
agl_forgetting = _make_command("agl-forgetting")
#: ``axolotl-agl forgetting``.
forgetting_command = _make_command("forgetting")
