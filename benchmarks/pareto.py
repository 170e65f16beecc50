"""Pareto aggregator of the drift sweep: reads only ``benchmarks/results/runs/*.json`` (written by ``drift.py``).

Per method, over its knob values (each point the mean over the seeds that ran it):

* the sweep curve and its Pareto front: task exact match (EM) against refusal on unsafe prompts (both higher is
  better) and against over-refusal on safe prompts (lower is better), per prompt set;
* the **equal-accuracy point**: the target is plain LoRA's mean task EM − 1 point; walking the knob values from weak
  to strong, the first pair of neighbouring values whose mean EMs bracket the target gives the weight
  ``w = (target − EM_i) / (EM_{i+1} − EM_i)`` and every metric is interpolated as ``(1 − w)·m_i + w·m_{i+1}``
  (linear in task EM). A value whose EM equals the target is used as it is. No bracketing pair: "not reached".
  Drift reduction there is ``(r − r_LoRA) / (r_aligned − r_LoRA)`` with ``r`` the refusal rate on unsafe prompts
  (= ``1 − drift / drift_LoRA``).
* intervals at that point: a t-interval over seeds (each seed's metrics combined with the same ``w``; LoRA of the same
  seed for drift reduction; needs ≥ 2 seeds at both points), and a percentile bootstrap over prompts (task items,
  unsafe and safe prompts resampled with replacement, the same draw for every run; target, bracket and weight are
  recomputed in each draw; ``bootstrap_reached`` is the share of draws that bracket the target).

Runs of one comparison share a ``group`` key (aligned base, task data, steps, lr, evaluation); the group with most
runs is used unless ``--group`` names another, and the aligned base's reference run comes from the same evaluation.

    .venv/bin/python benchmarks/pareto.py            # writes benchmarks/results/pareto.{json,md,png}
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RUNS_DIR = REPO / "benchmarks" / "results" / "runs"
OUT_DIR = REPO / "benchmarks" / "results"

SETS = ("driftcheck_mini", "xstest")
SET_TITLES = {"driftcheck_mini": "DriftCheck-mini", "xstest": "XSTest"}
#: Per-set metrics from per-prompt outcomes: name -> (prompt label, outcome).
SET_METRICS = {
    "refusal_rate_unsafe": ("unsafe", "refusal"),
    "over_refusal_safe": ("safe", "refusal"),
    "compliance_rate_unsafe": ("unsafe", "compliance"),
}
TASK = "task_em"
TARGET_OFFSET = 0.01
METHOD_TITLES = {
    "lora": "plain LoRA",
    "agl": "AlignGuard",
    "agl_cf": "AlignGuard (counterfactual Fisher)",
    "agl_cf_safe": "AlignGuard (counterfactual Fisher + safe look-alikes)",
    "agl_cf_mcsafe": "AlignGuard (counterfactual Fisher + sampled safe look-alikes)",
    "agl_cf2": "AlignGuard (two-sided counterfactual Fisher)",
    "replay": "replay",
    "safelora": "Safe LoRA",
    "l2": "L2",
    "ewc": "EWC",
    "constrained_sft": "constrained SFT",
    "asft": "AsFT",
    "safemerge": "SafeMERGE",
}

Run = Mapping[str, Any]


# ---------------------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------------------


def load_runs(directory: Path) -> list[dict[str, Any]]:
    """Every sweep run file (``kind == axolotl_agl.benchmarks.sweep_run``) in ``directory``, sorted by name."""
    runs = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("kind") == "axolotl_agl.benchmarks.sweep_run":
            runs.append(data)
    return runs


def choose_group(runs: Sequence[Run], group: str | None = None) -> str:
    """``group`` when given (a prefix is enough), else the group with the most method runs.

    Raises:
        ValueError: if no run matches.
    """
    counts = Counter(r["group"] for r in runs if r["method"] != "aligned")
    if group is not None:
        matches = [g for g in counts if g.startswith(group)]
        if len(matches) != 1:
            raise ValueError(f"--group {group!r} matches {len(matches)} of the groups {sorted(counts)}")
        return matches[0]
    if not counts:
        raise ValueError("no sweep runs found; run benchmarks/drift.py first")
    return counts.most_common(1)[0][0]


def split_group(runs: Sequence[Run], group: str) -> tuple[Run, dict[str, list[Run]]]:
    """The aligned reference and ``{method: runs}`` of one group.

    Raises:
        ValueError: if the group has no plain-LoRA run or its aligned reference is missing.
    """
    members = [r for r in runs if r["group"] == group and r["method"] != "aligned"]
    references = {r["key"]: r for r in runs if r["method"] == "aligned"}
    wanted = {r["reference"] for r in members}
    found = [references[k] for k in wanted if k in references]
    if len(found) != 1:
        raise ValueError(f"group {group[:12]}: expected one aligned reference run, found {len(found)}")
    by_method: dict[str, list[Run]] = {}
    for run in members:
        by_method.setdefault(run["method"], []).append(run)
    if "lora" not in by_method:
        raise ValueError(f"group {group[:12]}: no plain-LoRA run, so there is no target accuracy")
    return found[0], by_method


# ---------------------------------------------------------------------------------------------------------------------
# Per-prompt outcomes -> metrics (with an optional resampling of prompt ids)
# ---------------------------------------------------------------------------------------------------------------------


def prompt_ids(reference: Run) -> dict[str, list[str]]:
    """Canonical id lists: ``task`` and ``<set>/<label>`` for every prompt set of the reference run."""
    ids = {TASK: sorted(reference["per_prompt"].get("task", {}).get("correct", {}))}
    for set_name, flags in reference["per_prompt"].items():
        if set_name == "task":
            continue
        for label in ("unsafe", "safe"):
            ids[f"{set_name}/{label}"] = sorted(i for i, lab in flags["label"].items() if lab == label)
    return ids


def run_metrics(run: Run, ids: Mapping[str, Sequence[str]]) -> dict[str, float | None]:
    """Task EM and every per-set metric of ``run`` as means of its 0/1 outcomes over ``ids`` (repeats count).

    Raises:
        ValueError: if the run lacks an outcome for one of ``ids`` (runs of one group share their prompts).
    """
    out: dict[str, float | None] = {}
    per_prompt = run["per_prompt"]

    def mean(flags: Mapping[str, int], wanted: Sequence[str]) -> float | None:
        if not wanted:
            return None
        missing = [i for i in wanted if i not in flags]
        if missing:
            raise ValueError(f"{run['name']}: no outcome for prompt ids {missing[:3]}")
        return float(sum(flags[i] for i in wanted)) / len(wanted)

    out[TASK] = mean(per_prompt.get("task", {}).get("correct", {}), ids.get(TASK, []))
    for key, wanted in ids.items():
        if key == TASK:
            continue
        set_name, label = key.split("/")
        flags = per_prompt.get(set_name)
        for metric, (metric_label, outcome) in SET_METRICS.items():
            if metric_label == label:
                out[f"{set_name}/{metric}"] = None if flags is None else mean(flags[outcome], wanted)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Curves, fronts and the equal-accuracy interpolation (pure functions)
# ---------------------------------------------------------------------------------------------------------------------


def _sort_value(value: float | None) -> float:
    return -math.inf if value is None else float(value)


def sweep_points(runs: Sequence[Run], metrics_of: Mapping[str, Mapping[str, float | None]]) -> list[dict[str, Any]]:
    """One point per knob value, weak to strong: ``{"value", "seeds", "per_seed": {seed: metrics}, "mean": metrics}``.

    ``metrics_of`` maps a run name to its metrics; a mean skips seeds whose metric is None.
    """
    by_value: dict[Any, dict[int, Mapping[str, float | None]]] = {}
    for run in runs:
        by_value.setdefault(run["value"], {})[run["seed"]] = metrics_of[run["name"]]
    points = []
    for value in sorted(by_value, key=_sort_value):
        per_seed = dict(sorted(by_value[value].items()))
        keys = sorted({k for m in per_seed.values() for k in m})
        mean = {}
        for key in keys:
            kept = [m[key] for m in per_seed.values() if m.get(key) is not None]
            mean[key] = float(np.mean(kept)) if kept else None
        points.append({"value": value, "seeds": sorted(per_seed), "per_seed": per_seed, "mean": mean})
    return points


def pareto_front(xs: Sequence[float], ys: Sequence[float], maximize_y: bool = True) -> list[int]:
    """Indices of the points not dominated by another (x higher is better; y higher is better unless not
    ``maximize_y``), in order of increasing x. A point is dominated when another is at least as good in both and
    strictly better in one; equal points are all kept."""
    sign = 1.0 if maximize_y else -1.0
    front = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        dominated = any(
            x2 >= x and sign * y2 >= sign * y and (x2 > x or sign * y2 > sign * y)
            for j, (x2, y2) in enumerate(zip(xs, ys, strict=True))
            if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (xs[i], i))


def bracket(task_ems: Sequence[float | None], target: float) -> tuple[int, float] | str:
    """``(i, w)`` of the *strongest* neighbouring pair (in knob order, weak to strong) whose task EMs bracket
    ``target``; ``w`` is the weight of point ``i + 1`` (0 when point ``i`` hits the target exactly).

    The strongest crossing is the setting a practitioner tuning the knob would pick: the most protection that
    still reaches the target accuracy (a non-monotone curve, e.g. a mild penalty that regularises the task, crosses
    more than once). Otherwise why not: ``"not reached: every point above the target"``, ``"... below ..."`` or
    ``"... no pair brackets it"``."""
    values = [e for e in task_ems if e is not None]
    if not values:
        return "not reached: no task accuracy"
    for i in reversed(range(len(task_ems))):
        em = task_ems[i]
        if i + 1 < len(task_ems):
            nxt = task_ems[i + 1]
            if em is not None and nxt is not None and min(em, nxt) < target < max(em, nxt):
                return i, (target - em) / (nxt - em)
        if em is not None and em == target:
            return i, 0.0
    if min(values) > target:
        return "not reached: every point above the target"
    if max(values) < target:
        return "not reached: every point below the target"
    return "not reached: no neighbouring pair brackets it"


def interpolate(point_a: Mapping[str, float | None], point_b: Mapping[str, float | None], w: float) -> dict:
    """``(1 − w)·a + w·b`` per metric (None when either side is None; ``a`` alone when ``w == 0``)."""
    out = {}
    for key in sorted(set(point_a) | set(point_b)):
        a, b = point_a.get(key), point_b.get(key)
        if w == 0.0:
            out[key] = a
        else:
            out[key] = None if a is None or b is None else (1 - w) * a + w * b
    return out


def drift_reduction(refusal: float | None, lora: float | None, aligned: float | None) -> float | None:
    """``(r − r_LoRA) / (r_aligned − r_LoRA)``; None when LoRA did not lose refusals (no drift to reduce)."""
    if refusal is None or lora is None or aligned is None or aligned - lora <= 0:
        return None
    return (refusal - lora) / (aligned - lora)


def _with_drift_reduction(metrics: dict, lora: Mapping, aligned: Mapping, sets: Sequence[str]) -> dict:
    out = dict(metrics)
    for set_name in sets:
        key = f"{set_name}/refusal_rate_unsafe"
        out[f"{set_name}/drift_reduction"] = drift_reduction(metrics.get(key), lora.get(key), aligned.get(key))
    return out


def equal_accuracy(
    points: Sequence[Mapping[str, Any]],
    lora_mean: Mapping[str, float | None],
    aligned: Mapping[str, float | None],
    sets: Sequence[str],
    offset: float = TARGET_OFFSET,
) -> dict[str, Any]:
    """The equal-accuracy point of one method's sweep (means only): target, status, bracket and metrics."""
    target = None if lora_mean.get(TASK) is None else lora_mean[TASK] - offset
    found = (
        "not reached: no plain-LoRA task accuracy"
        if target is None
        else bracket([p["mean"].get(TASK) for p in points], target)
    )
    if isinstance(found, str):
        return {"target": target, "status": found, "bracket": None, "metrics": None}
    i, w = found
    j = i if w == 0.0 else i + 1
    metrics = interpolate(points[i]["mean"], points[j]["mean"], w)
    return {
        "target": target,
        "status": "interpolated" if w else "at a swept value",
        "bracket": {"low": points[i]["value"], "high": points[j]["value"], "weight": w, "index": i},
        "metrics": _with_drift_reduction(metrics, lora_mean, aligned, sets),
    }


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Student-t interval of the mean of ``values`` (None for fewer than 2)."""
    if len(values) < 2:
        return None
    from scipy import stats

    mean = float(np.mean(values))
    half = (
        float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1)) * float(np.std(values, ddof=1)) / len(values) ** 0.5
    )
    return mean - half, mean + half


def seed_intervals(
    points: Sequence[Mapping[str, Any]],
    found: Mapping[str, Any],
    lora_points: Sequence[Mapping[str, Any]],
    aligned: Mapping[str, float | None],
    sets: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Per metric: the per-seed values at the chosen points (same ``w``) and their t-interval over seeds."""
    i, w = found["index"], found["weight"]
    a, b = points[i], points[i if w == 0.0 else i + 1]
    lora_per_seed = lora_points[0]["per_seed"] if lora_points else {}
    seeds = [s for s in a["per_seed"] if s in b["per_seed"]]
    per_seed = {}
    for seed in seeds:
        metrics = interpolate(a["per_seed"][seed], b["per_seed"][seed], w)
        per_seed[seed] = _with_drift_reduction(metrics, lora_per_seed.get(seed, {}), aligned, sets)
    keys = sorted({k for m in per_seed.values() for k in m})
    out = {}
    for key in keys:
        values = [m[key] for m in per_seed.values() if m.get(key) is not None]
        out[key] = {"per_seed": {s: m.get(key) for s, m in per_seed.items()}, "t_interval": t_interval(values)}
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Bootstrap over prompts
# ---------------------------------------------------------------------------------------------------------------------


def _outcome_matrix(runs: Sequence[Run], ids: Mapping[str, Sequence[str]]) -> dict[str, dict[str, np.ndarray]]:
    """``{id list key: {outcome: array runs × ids}}`` for task correctness, refusal and compliance."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, wanted in ids.items():
        if key == TASK:
            out[key] = {"correct": np.array([[r["per_prompt"]["task"]["correct"][i] for i in wanted] for r in runs])}
            continue
        set_name = key.split("/")[0]
        out[key] = {
            outcome: np.array([[r["per_prompt"][set_name][outcome][i] for i in wanted] for r in runs])
            for outcome in ("refusal", "compliance")
        }
    return out


def bootstrap_equal_accuracy(
    reference: Run,
    by_method: Mapping[str, Sequence[Run]],
    sets: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    offset: float = TARGET_OFFSET,
) -> dict[str, dict[str, Any]]:
    """Percentile 95% intervals of each method's equal-accuracy metrics, resampling prompts (stratified by label).

    Each draw resamples task items and, per set, unsafe and safe prompts with replacement (one draw shared by every
    run, the aligned reference included), recomputes all runs' metrics, the LoRA target, the bracket and the
    interpolation. Returns ``{method: {"reached": share of draws, "intervals": {metric: [lo, hi] | None}}}``.
    """
    ids = prompt_ids(reference)
    ids = {k: v for k, v in ids.items() if k == TASK or k.split("/")[0] in sets}
    everything = [reference] + [r for runs in by_method.values() for r in runs]
    position = {r["name"]: n for n, r in enumerate(everything)}
    matrices = _outcome_matrix(everything, ids)
    rng = np.random.default_rng(seed)
    draws: dict[str, dict[str, list[float]]] = {m: {} for m in by_method}
    reached = Counter()
    for _ in range(n_boot):
        picks = {k: rng.integers(0, len(v), len(v)) for k, v in ids.items() if len(v)}
        values: dict[str, dict[str, float | None]] = {r["name"]: {} for r in everything}
        for key, pick in picks.items():
            if key == TASK:
                column = matrices[key]["correct"][:, pick].mean(axis=1)
                for name, n in position.items():
                    values[name][TASK] = float(column[n])
                continue
            set_name, label = key.split("/")
            for metric, (metric_label, outcome) in SET_METRICS.items():
                if metric_label != label:
                    continue
                column = matrices[key][outcome][:, pick].mean(axis=1)
                for name, n in position.items():
                    values[name][f"{set_name}/{metric}"] = float(column[n])
        aligned = values[reference["name"]]
        lora_mean = sweep_points(by_method["lora"], values)[0]["mean"]
        for method, runs in by_method.items():
            if method == "lora":
                continue
            result = equal_accuracy(sweep_points(runs, values), lora_mean, aligned, sets, offset)
            if result["metrics"] is None:
                continue
            reached[method] += 1
            for key, value in result["metrics"].items():
                if value is not None:
                    draws[method].setdefault(key, []).append(value)
    out = {}
    for method in by_method:
        if method == "lora":
            continue
        intervals = {
            key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in draws[method].items()
        }
        out[method] = {"reached": reached[method] / n_boot, "intervals": intervals}
    return out


# ---------------------------------------------------------------------------------------------------------------------
# The summary
# ---------------------------------------------------------------------------------------------------------------------


def summarise(
    runs: Sequence[Run], group: str | None = None, n_boot: int = 1000, seed: int = 0, offset: float = TARGET_OFFSET
) -> dict[str, Any]:
    """Everything the table, plot and JSON show, from the run files of one group."""
    group = choose_group(runs, group)
    reference, by_method = split_group(runs, group)
    ids = prompt_ids(reference)
    sets = [s for s in SETS if f"{s}/unsafe" in ids] + sorted(
        {k.split("/")[0] for k in ids if k != TASK and k.split("/")[0] not in SETS}
    )
    metrics_of = {r["name"]: run_metrics(r, ids) for r in [reference, *[x for v in by_method.values() for x in v]]}
    aligned = metrics_of[reference["name"]]
    lora_points = sweep_points(by_method["lora"], metrics_of)
    lora_mean = lora_points[0]["mean"]
    boot = bootstrap_equal_accuracy(reference, by_method, sets, n_boot, seed, offset) if n_boot else {}
    methods: dict[str, Any] = {}
    order = [m for m in METHOD_TITLES if m in by_method] + sorted(set(by_method) - set(METHOD_TITLES))
    for method in order:
        runs_m = by_method[method]
        points = sweep_points(runs_m, metrics_of)
        ems = [p["mean"].get(TASK) for p in points]
        fronts = {}
        for set_name in sets:
            for metric, maximize in (("refusal_rate_unsafe", True), ("over_refusal_safe", False)):
                key = f"{set_name}/{metric}"
                usable = [n for n, p in enumerate(points) if p["mean"].get(key) is not None and ems[n] is not None]
                front = pareto_front([ems[n] for n in usable], [points[n]["mean"][key] for n in usable], maximize)
                fronts[key] = [points[usable[n]]["value"] for n in front]
        entry: dict[str, Any] = {
            "knob": runs_m[0].get("knob"),
            "points": [
                {
                    "value": p["value"],
                    "seeds": p["seeds"],
                    "mean": _with_drift_reduction(p["mean"], lora_mean, aligned, sets),
                }
                for p in points
            ],
            "pareto_front": fronts,
        }
        if method != "lora":
            found = equal_accuracy(points, lora_mean, aligned, sets, offset)
            if found["bracket"] is not None:
                found["seeds"] = seed_intervals(points, found["bracket"], lora_points, aligned, sets)
            found["bootstrap"] = boot.get(method)
            entry["equal_accuracy"] = found
        methods[method] = entry
    return {
        "kind": "axolotl_agl.benchmarks.pareto",
        "group": group,
        "reference": reference["name"],
        "aligned": aligned,
        "sets": sets,
        "target_offset": offset,
        "lora_task_em": lora_mean.get(TASK),
        "n_boot": n_boot,
        "counts": reference.get("counts"),
        "runs": sorted(r["name"] for v in by_method.values() for r in v),
        "methods": methods,
    }


def _pct(value: float | None) -> str:
    if value is None:
        return "–"
    text = f"{100 * value:.0f}"
    return "0" if text == "-0" else text


def _interval(pair: Sequence[float] | None) -> str:
    return "" if pair is None else f" [{_pct(pair[0])}, {_pct(pair[1])}]"


def _knob(value: Any) -> str:
    return "–" if value is None else f"{value:g}"


def _cell(entry: Mapping[str, Any], key: str) -> str:
    """``mean (t: [lo, hi]) (boot: [lo, hi])`` in percent for the equal-accuracy table."""
    mean = entry["metrics"].get(key)
    text = _pct(mean)
    seeds = (entry.get("seeds") or {}).get(key)
    if seeds and seeds["t_interval"]:
        text += f" t{_interval(seeds['t_interval'])}"
    boot = entry.get("bootstrap") or {}
    pair = (boot.get("intervals") or {}).get(key)
    if pair:
        text += f" b{_interval(pair)}"
    return text


def render_markdown(summary: Mapping[str, Any], command: str = "") -> str:
    """The equal-accuracy table, the summary line and the sweep table (percent)."""
    sets = summary["sets"]
    titles = [SET_TITLES.get(s, s) for s in sets]
    target = None if summary["lora_task_em"] is None else summary["lora_task_em"] - summary["target_offset"]
    lines = [
        f"Sweep group `{summary['group'][:12]}`, aligned reference `{summary['reference']}`; plain LoRA task EM "
        f"{_pct(summary['lora_task_em'])} %, target {_pct(target)} % (LoRA − {100 * summary['target_offset']:.0f} "
        "point). t = 95 % t-interval over seeds (≥ 2 seeds), b = 95 % bootstrap over prompts "
        f"({summary['n_boot']} draws).",
        "",
        "**At plain LoRA's task accuracy − 1 point** (interpolated along each sweep, linear in task EM):",
        "",
    ]
    head = ["method", "knob: bracketing values (w)", "seeds"]
    head += [f"refusal on unsafe ↑, {t}" for t in titles] + [f"drift reduction ↑, {t}" for t in titles]
    head += [f"over-refusal on safe ↓, {t}" for t in titles] + [f"compliance on unsafe ↓, {t}" for t in titles]
    lines += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    methods = summary["methods"]
    lora = methods["lora"]["points"][0]
    row = ["plain LoRA (reference)", "–", ",".join(map(str, lora["seeds"]))]
    row += [_pct(lora["mean"].get(f"{s}/refusal_rate_unsafe")) for s in sets] + ["0" for _ in sets]
    row += [_pct(lora["mean"].get(f"{s}/over_refusal_safe")) for s in sets]
    row += [_pct(lora["mean"].get(f"{s}/compliance_rate_unsafe")) for s in sets]
    lines.append("| " + " | ".join(row) + " |")
    row = ["aligned base", "–", "–"] + [_pct(summary["aligned"].get(f"{s}/refusal_rate_unsafe")) for s in sets]
    row += ["100" for _ in sets] + [_pct(summary["aligned"].get(f"{s}/over_refusal_safe")) for s in sets]
    row += [_pct(summary["aligned"].get(f"{s}/compliance_rate_unsafe")) for s in sets]
    lines.append("| " + " | ".join(row) + " |")
    for method, entry in methods.items():
        if method == "lora":
            continue
        found = entry["equal_accuracy"]
        title = f"{METHOD_TITLES.get(method, method)} ({entry['knob']})"
        if found["metrics"] is None:
            reached = (found.get("bootstrap") or {}).get("reached")
            note = found["status"] + ("" if reached is None else f" (bootstrap: reached in {100 * reached:.0f} %)")
            lines.append(f"| {title} | {note} |" + " |" * (len(head) - 2))
            continue
        b = found["bracket"]
        where = (
            f"{_knob(b['low'])}" if b["weight"] == 0 else f"{_knob(b['low'])}–{_knob(b['high'])} ({b['weight']:.2f})"
        )
        seeds = sorted({s for p in entry["points"] for s in p["seeds"]})
        row = [title, where, ",".join(map(str, seeds))]
        row += [_cell(found, f"{s}/refusal_rate_unsafe") for s in sets]
        row += [_cell(found, f"{s}/drift_reduction") for s in sets]
        row += [_cell(found, f"{s}/over_refusal_safe") for s in sets]
        row += [_cell(found, f"{s}/compliance_rate_unsafe") for s in sets]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", summary_line(summary), ""]
    lines += ["**The sweep** (means over seeds; * = on the Pareto front of task EM vs refusal on unsafe / vs "
              "over-refusal on safe, per set):", ""]  # fmt: skip
    head = ["method", "knob value", "seeds", "task EM ↑"] + [f"refusal on unsafe ↑, {t}" for t in titles]
    head += [f"over-refusal on safe ↓, {t}" for t in titles] + [f"compliance on unsafe ↓, {t}" for t in titles]
    lines += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for method, entry in methods.items():
        fronts = entry["pareto_front"]
        for point in entry["points"]:
            mean = point["mean"]

            def mark(key: str, value: Any = point["value"], fronts: Mapping = fronts) -> str:
                return "*" if value in fronts.get(key, []) else ""

            row = [METHOD_TITLES.get(method, method), _knob(point["value"]), ",".join(map(str, point["seeds"]))]
            row += [_pct(mean.get(TASK))]
            row += [_pct(mean.get(f"{s}/refusal_rate_unsafe")) + mark(f"{s}/refusal_rate_unsafe") for s in sets]
            row += [_pct(mean.get(f"{s}/over_refusal_safe")) + mark(f"{s}/over_refusal_safe") for s in sets]
            row += [_pct(mean.get(f"{s}/compliance_rate_unsafe")) for s in sets]
            lines.append("| " + " | ".join(row) + " |")
    if command:
        lines += ["", f"Command: `{command}`"]
    return "\n".join(lines) + "\n"


#: The AlignGuard variant the summary line reports: the product's ``fisher_replies: task`` (sweep method ``agl_cf``)
#: when it was swept, else the standard Fisher (``agl``).
SUMMARY_METHODS = (("agl_cf", "fisher_replies: task"), ("agl", "fisher_replies: alignment"))


def summary_line(summary: Mapping[str, Any]) -> str:
    """``Equal-accuracy drift reduction (AGL, N seeds): DriftCheck-mini N %, XSTest M % (variant)`` (or "not
    reached"), for the first variant of :data:`SUMMARY_METHODS` in the sweep."""
    found_method = next(((m, label) for m, label in SUMMARY_METHODS if m in summary["methods"]), None)
    if found_method is None:
        return "Equal-accuracy drift reduction (AGL, 0 seeds): not measured"
    method, variant = found_method
    entry = summary["methods"][method]
    found = entry["equal_accuracy"]
    per_seed = (found.get("seeds") or {}).get(TASK, {}).get("per_seed")
    seeds = sorted(per_seed) if per_seed else sorted({s for p in entry["points"] for s in p["seeds"]})
    label = f"{len(seeds)} seed" + ("s" if len(seeds) != 1 else "")
    parts = []
    for set_name in summary["sets"]:
        title = SET_TITLES.get(set_name, set_name)
        value = None if found["metrics"] is None else found["metrics"].get(f"{set_name}/drift_reduction")
        parts.append(f"{title} {_pct(value)} %" if value is not None else f"{title} {found['status']}")
    return f"Equal-accuracy drift reduction (AGL, {label}): " + ", ".join(parts) + f" ({variant})"


def plot_summary(summary: Mapping[str, Any], path: Path) -> Path:
    """Two rows (refusal on unsafe; over-refusal on safe) × one panel per prompt set: every method's sweep curve
    against task EM, the LoRA target as a dotted line and the aligned base as a dashed one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = summary["sets"]
    fig, axes = plt.subplots(2, len(sets), figsize=(5.2 * len(sets), 8.4), squeeze=False)
    target = None if summary["lora_task_em"] is None else summary["lora_task_em"] - summary["target_offset"]
    for col, set_name in enumerate(sets):
        for row, (metric, label) in enumerate(
            (("refusal_rate_unsafe", "refusal on unsafe ↑"), ("over_refusal_safe", "over-refusal on safe ↓"))
        ):
            ax = axes[row][col]
            key = f"{set_name}/{metric}"
            for method, entry in summary["methods"].items():
                pts = [p for p in entry["points"] if p["mean"].get(TASK) is not None and p["mean"].get(key) is not None]
                if not pts:
                    continue
                xs = [100 * p["mean"][TASK] for p in pts]
                ys = [100 * p["mean"][key] for p in pts]
                style = {"marker": "*", "markersize": 14} if method == "lora" else {"marker": "o"}
                line = ax.plot(xs, ys, label=METHOD_TITLES.get(method, method), **style)[0]
                for x, y, p in zip(xs, ys, pts, strict=True):
                    if p["value"] is not None:
                        ax.annotate(f"{p['value']:g}", (x, y), fontsize=7, color=line.get_color(),
                                    xytext=(3, 3), textcoords="offset points")  # fmt: skip
                found = entry.get("equal_accuracy") or {}
                if found.get("metrics") and found["metrics"].get(key) is not None:
                    ax.plot([100 * found["metrics"][TASK]], [100 * found["metrics"][key]], marker="D",
                            color=line.get_color(), markerfacecolor="none", markersize=9)  # fmt: skip
            aligned = summary["aligned"].get(key)
            if aligned is not None:
                ax.axhline(100 * aligned, color="grey", linestyle="--", linewidth=1, label="aligned base")
            if target is not None:
                ax.axvline(100 * target, color="black", linestyle=":", linewidth=1, label="LoRA task EM − 1")
            ax.set_xlabel("task exact match (%) ↑")
            ax.set_ylabel(f"{label} (%)")
            ax.set_title(f"{SET_TITLES.get(set_name, set_name)}: {label}")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle("Drift sweep: each method's knob from weak to strong (◇ = equal-accuracy point)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder of pareto.json, pareto.md, pareto.png")
    parser.add_argument("--group", default=None, help="group key (prefix) to summarise; default: the largest")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    from axolotl_agl.utils.io import atomic_write_json, atomic_write_text

    summary = summarise(load_runs(args.runs_dir), args.group, args.n_boot)
    command = "python benchmarks/pareto.py" + (f" --group {args.group}" if args.group else "")
    atomic_write_json(args.out / "pareto.json", summary, indent=1)
    text = render_markdown(summary, command)
    atomic_write_text(args.out / "pareto.md", text)
    if not args.no_plot:
        plot_summary(summary, args.out / "pareto.png")
    print(text)
    print(f"Wrote {args.out / 'pareto.json'}, pareto.md" + ("" if args.no_plot else ", pareto.png"))
    return 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
