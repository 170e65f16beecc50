"""The drift sweep (``benchmarks/drift.py``: run identity, plan, resume) and its Pareto aggregator
(``benchmarks/pareto.py``: fronts, the equal-accuracy interpolation, intervals) on synthetic run files; and one
small sweep end to end on the tiny model through the real Axolotl CLI."""

import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import drift  # noqa: E402
import pareto  # noqa: E402

# ---------------------------------------------------------------------------------------------------------------------
# Synthetic run files
# ---------------------------------------------------------------------------------------------------------------------

N_TASK, N_UNSAFE, N_SAFE = 10, 4, 4


def flags(count: int, total: int) -> list[int]:
    return [1] * count + [0] * (total - count)


def run_file(method, value, seed, task, unsafe_refusal, safe_refusal=0, unsafe_compliance=0, group="g", **extra):
    """A run file in drift.py's format: counts of 1s among 10 task items, 4 unsafe and 4 safe prompts."""
    ids_u = [f"dc-u{i}" for i in range(N_UNSAFE)]
    ids_s = [f"dc-s{i}" for i in range(N_SAFE)]
    label = {i: "unsafe" for i in ids_u} | {i: "safe" for i in ids_s}
    refusal = dict(zip(ids_u, flags(unsafe_refusal, N_UNSAFE), strict=True))
    refusal |= dict(zip(ids_s, flags(safe_refusal, N_SAFE), strict=True))
    compliance = dict(zip(ids_u, flags(unsafe_compliance, N_UNSAFE), strict=True)) | {i: 1 for i in ids_s}
    name = f"{method}-{drift.format_value(value)}-s{seed}-x"
    return {
        "kind": "axolotl_agl.benchmarks.sweep_run",
        "name": name,
        "key": extra.get("key", name),
        "group": group,
        "reference": extra.get("reference", "ref-key"),
        "method": method,
        "knob": extra.get("knob"),
        "value": value,
        "seed": seed,
        "per_prompt": {
            "driftcheck_mini": {"label": label, "refusal": refusal, "compliance": compliance},
            "task": {"correct": {f"task-{i}": f for i, f in enumerate(flags(task, N_TASK))}},
        },
    }


def aligned_file(group="g"):
    return run_file("aligned", None, None, task=0, unsafe_refusal=4, safe_refusal=2, group=group, key="ref-key")


def synthetic_runs():
    """LoRA (EM 0.6, refusal 0) and AGL at 1 / 10 / 100 over seeds 0 and 1; Safe LoRA never loses accuracy."""
    runs = [aligned_file()]
    for seed in (0, 1):
        runs.append(run_file("lora", None, seed, task=6, unsafe_refusal=0, unsafe_compliance=3))
        runs.append(run_file("agl", 1.0, seed, task=6, unsafe_refusal=1, knob="lambda_A"))
        runs.append(run_file("agl", 10.0, seed, task=5 + seed, unsafe_refusal=1 + 2 * seed, safe_refusal=2,
                             knob="lambda_A"))  # fmt: skip
        runs.append(run_file("agl", 100.0, seed, task=3, unsafe_refusal=4, safe_refusal=4, knob="lambda_A"))
        runs.append(run_file("safelora", 0.1, seed, task=7, unsafe_refusal=1, knob="threshold"))
        runs.append(run_file("safelora", 0.5, seed, task=6, unsafe_refusal=2, knob="threshold"))
    return runs


# ---------------------------------------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------------------------------------


def test_bracket_strongest_crossing():
    i, w = pareto.bracket([0.6, 0.5, 0.3], 0.45)
    assert i == 1 and w == pytest.approx(0.25)
    assert pareto.bracket([0.6, 0.45, 0.3], 0.45) == (1, 0.0)  # a swept value on the target is used as is
    i, w = pareto.bracket([0.6, 0.4, 0.7, 0.3], 0.5)  # non-monotone: the strongest pair that brackets
    assert i == 2 and w == pytest.approx(0.5)
    assert pareto.bracket([0.6, 0.5, 0.7, 0.3], 0.5)[0] == 2  # a later crossing wins over an earlier exact hit
    i, w = pareto.bracket([0.3, 0.6], 0.5)  # rising accuracy brackets too
    assert i == 0 and w == pytest.approx(2 / 3)
    assert pareto.bracket([0.6, 0.55], 0.5) == "not reached: every point above the target"
    assert pareto.bracket([0.4, 0.3], 0.5) == "not reached: every point below the target"
    assert pareto.bracket([0.6, None, 0.4], 0.5) == "not reached: no neighbouring pair brackets it"
    assert pareto.bracket([None], 0.5) == "not reached: no task accuracy"


def test_interpolate_and_drift_reduction():
    a, b = {"task_em": 0.6, "r": 0.25, "x": None}, {"task_em": 0.55, "r": 0.625, "x": 1.0}
    out = pareto.interpolate(a, b, 0.2)
    assert out["task_em"] == pytest.approx(0.59) and out["r"] == pytest.approx(0.325) and out["x"] is None
    assert pareto.interpolate(a, b, 0.0) == a
    assert pareto.drift_reduction(0.325, 0.0, 1.0) == pytest.approx(0.325)
    assert pareto.drift_reduction(0.5, 0.2, 0.8) == pytest.approx(0.5)
    assert pareto.drift_reduction(0.5, 0.9, 0.8) is None  # LoRA did not lose refusals: nothing to reduce


def test_pareto_front_maximise_and_minimise():
    xs, ys = [0.5, 0.4, 0.6, 0.6, 0.3], [0.2, 0.5, 0.1, 0.1, 0.5]
    assert pareto.pareto_front(xs, ys) == [1, 0, 2, 3]  # (0.3, 0.5) is dominated by (0.4, 0.5); ties kept
    assert pareto.pareto_front(xs, ys, maximize_y=False) == [2, 3]
    assert pareto.pareto_front([0.5], [0.1]) == [0]


def test_t_interval_matches_the_formula():
    lo, hi = pareto.t_interval([0.25, 0.35])
    half = 12.706204736174707 * math.sqrt(0.005) / math.sqrt(2)
    assert lo == pytest.approx(0.3 - half) and hi == pytest.approx(0.3 + half)
    assert pareto.t_interval([0.3]) is None


# ---------------------------------------------------------------------------------------------------------------------
# The summary of synthetic run files
# ---------------------------------------------------------------------------------------------------------------------


def test_summary_equal_accuracy_numbers():
    summary = pareto.summarise(synthetic_runs(), n_boot=200)
    assert summary["lora_task_em"] == pytest.approx(0.6) and summary["sets"] == ["driftcheck_mini"]
    assert summary["aligned"]["driftcheck_mini/refusal_rate_unsafe"] == 1.0
    agl = summary["methods"]["agl"]
    assert [p["value"] for p in agl["points"]] == [1.0, 10.0, 100.0]
    assert [p["mean"]["task_em"] for p in agl["points"]] == pytest.approx([0.6, 0.55, 0.3])
    found = agl["equal_accuracy"]
    # target 0.59 lies between λ 1 (EM 0.60) and λ 10 (EM 0.55): w = 0.01 / 0.05 = 0.2
    assert found["target"] == pytest.approx(0.59) and found["status"] == "interpolated"
    assert found["bracket"]["low"] == 1.0 and found["bracket"]["high"] == 10.0
    assert found["bracket"]["weight"] == pytest.approx(0.2)
    m = found["metrics"]
    assert m["task_em"] == pytest.approx(0.59)
    assert m["driftcheck_mini/refusal_rate_unsafe"] == pytest.approx(0.8 * 0.25 + 0.2 * 0.5)  # 0.30
    assert m["driftcheck_mini/drift_reduction"] == pytest.approx(0.3)  # (0.3 − 0) / (1 − 0)
    assert m["driftcheck_mini/over_refusal_safe"] == pytest.approx(0.2 * 0.5)
    # per seed with the same w: seed 0 0.8·0.25 + 0.2·0.25 = 0.25, seed 1 0.8·0.25 + 0.2·0.75 = 0.35
    seeds = found["seeds"]["driftcheck_mini/refusal_rate_unsafe"]
    assert seeds["per_seed"] == {0: pytest.approx(0.25), 1: pytest.approx(0.35)}
    assert seeds["t_interval"] == pytest.approx(list(pareto.t_interval([0.25, 0.35])))
    assert found["seeds"]["driftcheck_mini/drift_reduction"]["per_seed"] == {0: pytest.approx(0.25),
                                                                             1: pytest.approx(0.35)}  # fmt: skip
    boot = found["bootstrap"]
    assert 0 < boot["reached"] <= 1
    lo, hi = boot["intervals"]["driftcheck_mini/refusal_rate_unsafe"]
    assert 0 <= lo < 0.3 < hi <= 1
    # Safe LoRA keeps accuracy at every threshold: the target is never reached
    safelora = summary["methods"]["safelora"]["equal_accuracy"]
    assert safelora["status"] == "not reached: every point above the target" and safelora["metrics"] is None
    # Pareto fronts (task EM vs refusal on unsafe ↑; vs over-refusal on safe ↓)
    assert agl["pareto_front"]["driftcheck_mini/refusal_rate_unsafe"] == [100.0, 10.0, 1.0]
    assert agl["pareto_front"]["driftcheck_mini/over_refusal_safe"] == [1.0]
    assert summary["methods"]["safelora"]["pareto_front"]["driftcheck_mini/refusal_rate_unsafe"] == [0.5, 0.1]
    json.dumps(summary)


def test_bootstrap_recomputes_the_bracket_in_every_draw():
    """Outcomes constant within each run: every draw gives the same target, bracket and weight."""
    runs = [aligned_file()]
    for seed in (0, 1, 2):
        runs.append(run_file("lora", None, seed, task=10, unsafe_refusal=0))
        runs.append(run_file("agl", 1.0, seed, task=10, unsafe_refusal=0, knob="lambda_A"))
        runs.append(run_file("agl", 10.0, seed, task=0, unsafe_refusal=4, knob="lambda_A"))
    summary = pareto.summarise(runs, n_boot=50)
    found = summary["methods"]["agl"]["equal_accuracy"]
    assert found["bracket"]["weight"] == pytest.approx(0.01)  # target 0.99 between EM 1.0 and 0.0
    assert found["metrics"]["driftcheck_mini/refusal_rate_unsafe"] == pytest.approx(0.01)
    assert found["bootstrap"]["reached"] == 1.0
    assert found["bootstrap"]["intervals"]["driftcheck_mini/refusal_rate_unsafe"] == pytest.approx([0.01, 0.01])
    assert found["seeds"]["driftcheck_mini/refusal_rate_unsafe"]["t_interval"] == pytest.approx([0.01, 0.01])


def test_groups_are_not_mixed_and_missing_pieces_are_named():
    runs = synthetic_runs() + [run_file("lora", None, 0, task=1, unsafe_refusal=4, group="other", reference="new")]
    assert pareto.choose_group(runs) == "g"  # the larger group
    with pytest.raises(ValueError, match="expected one aligned reference"):
        pareto.summarise(runs, group="oth", n_boot=0)
    no_lora = [r for r in synthetic_runs() if r["method"] != "lora"]
    with pytest.raises(ValueError, match="no plain-LoRA run"):
        pareto.summarise(no_lora, n_boot=0)
    with pytest.raises(ValueError, match="matches 0"):
        pareto.choose_group(runs, "zzz")


def test_markdown_summary_line_and_plot(tmp_path):
    summary = pareto.summarise(synthetic_runs(), n_boot=100)
    text = pareto.render_markdown(summary, "python benchmarks/pareto.py")
    assert "Equal-accuracy drift reduction (AGL, 2 seeds): DriftCheck-mini 30 %" in text
    row = next(line for line in text.splitlines() if line.startswith("| AlignGuard (lambda_A) | 1–10 (0.20)"))
    assert "| 0,1 | 30 t [" in row
    assert "| Safe LoRA (threshold) | not reached: every point above the target (bootstrap: reached in" in text
    assert "| AlignGuard | 100 | 0,1 | 30 | 100* |" in text
    png = pareto.plot_summary(summary, tmp_path / "pareto.png")
    assert png.stat().st_size > 10_000


def test_main_reads_run_files_and_writes_outputs(tmp_path):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    for run in synthetic_runs():
        (runs_dir / f"{run['name']}.json").write_text(json.dumps(run))
    (runs_dir / "unrelated.json").write_text(json.dumps({"kind": "something else"}))
    assert pareto.main(["--runs-dir", str(runs_dir), "--out", str(tmp_path), "--n-boot", "20"]) == 0
    data = json.loads((tmp_path / "pareto.json").read_text())
    assert data["methods"]["agl"]["equal_accuracy"]["bracket"]["weight"] == pytest.approx(0.2)
    assert "Equal-accuracy drift reduction" in (tmp_path / "pareto.md").read_text()
    assert (tmp_path / "pareto.png").is_file()


# ---------------------------------------------------------------------------------------------------------------------
# The sweep runner: identity, plan, resume
# ---------------------------------------------------------------------------------------------------------------------


def _context(root: Path, recipe: str = "r1") -> drift.SweepContext:
    aligned = root / "aligned"
    aligned.mkdir(parents=True, exist_ok=True)
    (aligned / "agl_source.json").write_text(json.dumps({"recipe_sha256": recipe}))
    task_path, _ = drift.write_task_data(root / "work", n_train=40, n_eval=4, eval_seed=3)
    settings = {"limit_per_set": 8, "task_items": 4, "eval_seed": 3, "max_new_tokens": 8, "batch_size": 4,
                "xstest": None}  # fmt: skip
    ctx = drift.SweepContext(root / "work", aligned, root / "unaligned", task_path, 5, 1e-3, 16, 40,
                             drift.aligned_recipe_fingerprint(aligned), settings)  # fmt: skip
    ctx.eval_id = drift.eval_identity(settings)
    return ctx


def test_run_identity_is_portable_and_covers_every_setting(tmp_path):
    a, b = _context(tmp_path / "machine-a"), _context(tmp_path / "machine-b")
    run_a = drift.plan_run("agl", 10.0, 0, a, tmp_path / "runs")
    run_b = drift.plan_run("agl", 10.0, 0, b, tmp_path / "runs")
    assert run_a.key == run_b.key  # other folders, same content: the same run
    assert run_a.path.name == f"agl-10-s0-{run_a.key[:12]}.json"
    assert run_a.cfg["alignguard"]["lambda_alignment"] == 10.0
    assert run_a.identity["train"]["alignguard"]["rank_k"] == 32  # AGL's block resolved to every default
    assert "fisher_cache_path" not in run_a.identity["train"]["alignguard"]
    assert run_a.identity["train"]["datasets"][0]["path"].startswith("sha256:")
    keys = {
        run_a.key,
        drift.plan_run("agl", 30.0, 0, a, tmp_path / "runs").key,
        drift.plan_run("agl", 10.0, 1, a, tmp_path / "runs").key,
        drift.plan_run("lora", None, 0, a, tmp_path / "runs").key,
        drift.plan_run("agl", 10.0, 0, _context(tmp_path / "new-base", recipe="r2"), tmp_path / "runs").key,
    }
    assert len(keys) == 5
    other_eval = _context(tmp_path / "machine-c")
    other_eval.eval_id = {**other_eval.eval_id, "task_items": 5}
    assert drift.plan_run("agl", 10.0, 0, other_eval, tmp_path / "runs").key != run_a.key
    safelora = drift.plan_run("safelora", 0.1, 0, a, tmp_path / "runs")
    assert safelora.parent.key == drift.plan_run("lora", None, 0, a, tmp_path / "runs").key
    assert safelora.identity["parent"] == safelora.parent.key and safelora.cfg is None


def test_replay_rows_and_value_parsing(tmp_path):
    source = tmp_path / "align.jsonl"
    source.write_text("".join(json.dumps({"messages": [{"role": "user", "content": str(i)}]}) + "\n"
                              for i in range(50)))  # fmt: skip
    rows = drift.replay_rows(0.2, 100, source)
    assert len(rows) == 25 and rows == drift.replay_rows(0.2, 100, source)  # 0.2 / 0.8 · 100, fixed draw
    assert len(drift.replay_rows(0.9, 100, source)) == 50  # at most every row
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        drift.replay_rows(1.0, 100, source)
    assert drift.parse_values(["agl=1,3", "replay=0.1"]) == {"agl": [1.0, 3.0], "replay": [0.1]}
    with pytest.raises(ValueError, match="--values"):
        drift.parse_values(["lora=1"])
    assert drift.deadline_of("12:40", now=86400 * 3 + 5) == 86400 * 3 + 12 * 3600 + 40 * 60
    with pytest.raises(ValueError, match="HH:MM"):
        drift.deadline_of("25:00")


def test_chosen_points_are_the_bracketing_values():
    summary = pareto.summarise(synthetic_runs(), n_boot=0)
    assert drift.chosen_values(summary) == {"agl": [1.0, 10.0]}  # Safe LoRA did not reach the target


def test_every_method_has_one_knob_with_four_values():
    for method, spec in drift.SWEEP.items():
        if method == "lora":
            assert spec.kind == "reference" and spec.values == (None,)
            continue
        assert spec.knob and len(spec.values) >= 4 and list(spec.values) == sorted(spec.values), method
        assert (method in drift.CONFIGURE) != (spec.kind == "post_hoc"), method


def test_main_skips_finished_runs(tmp_path, monkeypatch):
    ctx = _context(tmp_path)
    monkeypatch.setattr(drift, "_resolve_models", lambda args: (ctx.aligned, ctx.unaligned))
    monkeypatch.setattr(drift, "eval_identity", lambda settings: ctx.eval_id)
    executed = []

    def fake_execute(run, ctx, group, reference, commit, progress):
        executed.append(run.path.name)
        run.path.write_text(json.dumps({"key": run.key}))
        return run.path

    def fake_reference(ctx, runs_dir, group, commit, progress):
        path = runs_dir / "aligned-ref-x.json"
        path.write_text(json.dumps({"key": "ref"}))
        return path

    monkeypatch.setattr(drift, "execute", fake_execute)
    monkeypatch.setattr(drift, "execute_reference", fake_reference)
    args = ["--methods", "lora", "agl", "--values", "agl=1,10", "--seeds", "0", "--aligned", str(ctx.aligned),
            "--work", str(ctx.work), "--runs-dir", str(tmp_path / "runs"), "--n-train", "40", "--task-eval", "4",
            "--eval-seed", "3",
            "--steps", "5", "--lr", "1e-3", "--fisher-samples", "16", "--no-commit"]  # fmt: skip
    (tmp_path / "runs").mkdir()
    assert drift.main([*args, "--max-runs", "2"]) == 0
    assert [n.split("-s0-")[0] for n in executed] == ["lora-none", "agl-1"]
    assert drift.main(args) == 0
    assert [n.split("-s0-")[0] for n in executed] == ["lora-none", "agl-1", "agl-10"]
    assert drift.main(args) == 0 and len(executed) == 3  # everything finished: nothing runs again


# ---------------------------------------------------------------------------------------------------------------------
# End to end: a small sweep on the tiny model (real Axolotl runs, real DriftCheck), then the aggregator
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_sweep_end_to_end_on_tiny_model(tiny_model_dir, tmp_path, monkeypatch):
    from tests.helpers import build_tiny_model

    unaligned = build_tiny_model(tmp_path / "unaligned", family="llama", seed=1)
    runs_dir = tmp_path / "runs"
    methods = ["lora", "replay", "safelora"]
    args = ["--aligned", str(tiny_model_dir), "--unaligned", str(unaligned), "--methods", *methods,
            "--values", "replay=0.2", "safelora=0.5", "--seeds", "0", "--steps", "2", "--n-train", "32",
            "--limit", "4", "--task-eval", "2", "--max-new-tokens", "4", "--work", str(tmp_path / "work"),
            "--runs-dir", str(runs_dir), "--no-commit", "--no-progress"]  # fmt: skip
    assert drift.main(args) == 0
    files = sorted(p.name for p in runs_dir.glob("*.json"))
    expected = ["lora-none", "replay-0.2", "safelora-0.5"]
    assert [f.split("-s0-")[0] for f in files if not f.startswith("aligned-ref-")] == expected
    assert sum(f.startswith("aligned-ref-") for f in files) == 1
    replay = json.loads(next(runs_dir.glob("replay-*.json")).read_text())
    assert replay["identity"]["train"]["datasets"][1]["path"].startswith("sha256:")
    assert {"driftcheck_mini", "task"} <= set(replay["per_prompt"])  # + xstest when its CSV is found
    assert len(replay["per_prompt"]["driftcheck_mini"]["refusal"]) == 4
    from axolotl_agl.data import load_driftcheck_mini

    text = next(runs_dir.glob("replay-*.json")).read_text()
    rows = load_driftcheck_mini()
    if "xstest" in replay["per_prompt"]:
        from axolotl_agl.data import load_xstest

        rows += load_xstest(BENCH.parents[1] / "shared" / "data" / "xstest_prompts.csv")  # what drift.main found
    assert not [row["id"] for row in rows if row["prompt"] in text]  # ids and 0/1 outcomes only, never prompt text
    assert replay["timings"]["train_seconds"] > 0 and replay["timings"]["evaluate_seconds"] > 0
    summary = pareto.summarise(pareto.load_runs(runs_dir), n_boot=20)
    assert set(summary["methods"]) == set(methods)

    def no_training(*a, **k):
        raise AssertionError("a finished run was run again")

    monkeypatch.setattr(drift, "execute", no_training)
    assert drift.main(args) == 0
