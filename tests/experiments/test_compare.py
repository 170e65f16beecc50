"""The LoRA-vs-AlignGuard comparison shared by ``make demo`` and ``benchmarks/drift.py``: configs, task data,
run keys, the drift table; and one end-to-end run on the tiny model through the real Axolotl CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from axolotl_agl.experiments import compare
from axolotl_agl.experiments.compare import (
    aggregate,
    base_config,
    method_config,
    render_table,
    run_comparison,
    write_task_data,
)


def _configs(tmp_path: Path) -> tuple[dict, dict]:
    cfg = base_config(tmp_path / "aligned", tmp_path / "task.jsonl", tmp_path / "out", seed=0, steps=7, lr=3e-4)
    common = {"agl_lambda": 2.5, "fisher_samples": 32, "fisher_cache_path": tmp_path / "fisher.safetensors"}
    return method_config("lora", cfg, **common), method_config("agl", cfg, **common)


def test_method_configs(tmp_path):
    lora, agl = _configs(tmp_path)
    assert lora["adapter"] == "lora" and "plugins" not in lora and "alignguard" not in lora
    assert lora["max_steps"] == 7 and lora["learning_rate"] == 3e-4 and lora["seed"] == 0
    assert agl["adapter"] == "alignguard" and agl["plugins"] == ["axolotl_agl.AlignGuardPlugin"]
    assert agl["alignguard"] == {
        "lambda_alignment": 2.5,
        "fisher_num_samples": 32,
        "fisher_cache_path": str(tmp_path / "fisher.safetensors"),
    }
    # Everything but the AlignGuard keys is the same run.
    assert {k: v for k, v in agl.items() if k not in ("adapter", "plugins", "alignguard")} == {
        k: v for k, v in lora.items() if k != "adapter"
    }
    with pytest.raises(ValueError, match="unknown method"):
        method_config("ewc", lora, agl_lambda=1.0, fisher_samples=1, fisher_cache_path="x")


def test_method_configs_pass_axolotl_validation(tmp_path):
    pytest.importorskip("axolotl")
    from axolotl.cli.config import prepare_plugins
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault

    from axolotl_agl.integration.plugin import agl_config_of, alignguard_enabled

    lora, agl = _configs(tmp_path)
    validated = validate_config(DictDefault(lora))
    assert validated.adapter == "lora" and not alignguard_enabled(validated)
    cfg = DictDefault(agl)
    prepare_plugins(cfg)
    validated = validate_config(cfg)
    assert alignguard_enabled(validated) and validated.adapter == "lora"
    assert agl_config_of(validated).lambda_alignment == 2.5


def test_task_data_holds_out_eval_items_and_is_stable(tmp_path):
    path, eval_items = write_task_data(tmp_path, n_train=200, n_eval=20, eval_seed=5)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 200 and len(eval_items) == 20
    train_prompts = {row["messages"][0]["content"] for row in rows}
    assert not train_prompts & {item["instruction"] for item in eval_items}
    assert all(row["messages"][1]["content"].startswith(("Sure", "Of course", "Absolutely", "Certainly", "Okay",
                                                          "Yes", "Here")) for row in rows)  # fmt: skip
    before = path.stat().st_mtime_ns
    write_task_data(tmp_path, n_train=200, n_eval=20, eval_seed=5)
    assert path.stat().st_mtime_ns == before  # unchanged content is not rewritten


# ---------------------------------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------------------------------


def _est(value: float, lo: float, hi: float, n: int = 10) -> dict:
    return {"value": value, "lo": lo, "hi": hi, "n": n}


def _model(refusal: float, base_refusal: float | None, task: float, over: float = 0.5, comply: float = 0.2) -> dict:
    metrics = {
        "refusal_rate_unsafe": _est(refusal, refusal - 0.1, refusal + 0.1),
        "over_refusal_safe": _est(over, over - 0.1, over + 0.1),
        "compliance_rate_unsafe": _est(comply, comply - 0.1, comply + 0.1),
    }
    drift = None
    if base_refusal is not None:
        delta = refusal - base_refusal
        drift = {"refusal_rate_unsafe": {**_est(delta, delta - 0.05, delta + 0.15), "paired": True}}
    return {
        "sets": {"driftcheck_mini": {"metrics": metrics, "drift": drift, "judges": {}, "by_category": {}}},
        "task": {"accuracy": _est(task, task - 0.1, task + 0.1), "drift": None},
    }


def _results(**models: dict) -> dict:
    return {"models": models, "counts": {"prompt_sets": {"driftcheck_mini": {"safe": 10, "unsafe": 10, "total": 20}}}}


def test_aggregate_single_seed_drift_reduction_and_bootstrap_intervals():
    results = _results(
        aligned=_model(0.9, None, 0.1), **{"lora-s0": _model(0.1, 0.9, 0.5), "agl-s0": _model(0.5, 0.9, 0.45)}
    )
    table = aggregate(results, ["lora", "agl"], [0], bootstrap_intervals=True, sets=["driftcheck_mini"])
    agl, lora, base = table["agl"], table["lora"], table["aligned"]
    assert agl["driftcheck_mini/drift"]["mean"] == pytest.approx(0.4)
    # drift = aligned − method, so the paired interval of (method − aligned) = [−0.45, −0.25] flips to [0.25, 0.45].
    assert agl["driftcheck_mini/drift"]["lo"] == pytest.approx(0.25)
    assert agl["driftcheck_mini/drift"]["hi"] == pytest.approx(0.45)
    assert agl["driftcheck_mini/drift_reduction_vs_lora"]["mean"] == pytest.approx(1 - 0.4 / 0.8)
    assert agl["driftcheck_mini/drift_reduction_vs_lora"]["lo"] is None  # a ratio: point estimate only
    assert lora["driftcheck_mini/drift_reduction_vs_lora"]["mean"] == pytest.approx(0.0)
    assert agl["driftcheck_mini/refusal_rate_unsafe"] == {"mean": 0.5, "lo": 0.4, "hi": 0.6, "n": 10}
    assert base["task_accuracy"]["lo"] == pytest.approx(0.0) and agl["task_accuracy"]["mean"] == 0.45
    assert "driftcheck_mini/drift" not in base

    text = render_table(table, ["driftcheck_mini"], {"aligned": "aligned base", "agl": "AGL"}, transpose=True)
    lines = text.splitlines()
    assert lines[0] == "| metric (%) | aligned base | lora | AGL |"
    assert "| refusal on unsafe ↑, DC-mini | 90 [80, 100] | 10 [0, 20] | 50 [40, 60] |" in lines
    assert "| drift reduction vs LoRA ↑, DC-mini | – | 0 | 50 |" in lines
    assert "| drift ↓, DC-mini | – | 80 [65, 85] | 40 [25, 45] |" in lines
    wide = render_table(table, ["driftcheck_mini"]).splitlines()
    assert wide[0].startswith("| model | refusal on unsafe ↑, DC-mini |")
    assert wide[2].startswith("| aligned | 90 [80, 100] |")


def test_aggregate_without_lora_drift_and_over_seeds():
    results = _results(
        aligned=_model(0.5, None, 0.1),
        **{
            "lora-s0": _model(0.5, 0.5, 0.4),  # LoRA did not drift: no reduction can be computed
            "agl-s0": _model(0.3, 0.5, 0.4),
            "lora-s1": _model(0.1, 0.5, 0.6),
            "agl-s1": _model(0.3, 0.5, 0.6),
        },
    )
    table = aggregate(results, ["lora", "agl"], [0, 1], sets=["driftcheck_mini", "xstest"])
    agl = table["agl"]
    assert agl["driftcheck_mini/drift_reduction_vs_lora"]["mean"] == pytest.approx(0.5)  # seed 1 only
    assert agl["driftcheck_mini/drift_reduction_vs_lora"]["n"] == 1
    assert agl["task_accuracy"]["mean"] == pytest.approx(0.5)
    assert agl["task_accuracy"]["lo"] == pytest.approx(0.5 - 12.71 * 0.1414213 / 2**0.5, rel=1e-4)
    assert agl["xstest/refusal_rate_unsafe"]["mean"] is None  # absent set
    assert table["aligned"]["driftcheck_mini/refusal_rate_unsafe"] == {"mean": 0.5, "lo": None, "hi": None, "n": 1}


# ---------------------------------------------------------------------------------------------------------------------
# Run keys: a changed setting trains anew, an unchanged one is reused
# ---------------------------------------------------------------------------------------------------------------------


def test_run_dirs_are_keyed_by_settings(tmp_path, monkeypatch):
    aligned = tmp_path / "aligned"
    aligned.mkdir()
    (aligned / "model.safetensors").write_bytes(b"weights")
    trained: list[str] = []

    def fake_train(cfg, config_path, cwd=None, pythonpath=()):
        out = Path(cfg["output_dir"])
        if not (out / "adapter_model.safetensors").exists():
            trained.append(out.name)
            out.mkdir(parents=True)
            (out / "adapter_model.safetensors").write_bytes(b"")
        return out, []

    def fake_eval(aligned, adapters, **kwargs):
        names = {"aligned": None, **adapters}
        models = {n: _model(0.9 if n == "aligned" else 0.2, None if n == "aligned" else 0.9, 0.3) for n in names}
        kwargs["out_dir"].mkdir(parents=True)
        (kwargs["out_dir"] / "results_x.json").write_text(json.dumps(_results(**models)))
        return _results(**models)

    monkeypatch.setattr(compare, "train_config", fake_train)
    monkeypatch.setattr(compare, "evaluate_runs", fake_eval)
    settings = {"steps": 3, "lr": 1e-3, "agl_lambda": 1.0, "limit_per_set": 4, "task_items": 2, "n_train": 20}
    first = run_comparison(aligned, tmp_path / "work", **settings)
    assert sorted(trained) == sorted(p.name for p in first["runs"].values())
    assert set(first["table"]) == {"aligned", "lora", "agl"}
    again = run_comparison(aligned, tmp_path / "work", **settings)
    assert len(trained) == 2 and again["runs"] == first["runs"] and again["eval_dir"] == first["eval_dir"]
    other_lambda = run_comparison(aligned, tmp_path / "work", **{**settings, "agl_lambda": 10.0})
    assert other_lambda["runs"]["lora"] == first["runs"]["lora"]  # λ_A is not a LoRA setting
    assert other_lambda["runs"]["agl"] != first["runs"]["agl"] and len(trained) == 3
    assert other_lambda["eval_dir"] != first["eval_dir"]
    other_steps = run_comparison(aligned, tmp_path / "work", **{**settings, "steps": 4})
    assert set(other_steps["runs"].values()).isdisjoint(first["runs"].values()) and len(trained) == 5
    (aligned / "model.safetensors").write_bytes(b"rebuilt base")  # a rebuilt aligned base never reuses old runs
    rebuilt = run_comparison(aligned, tmp_path / "work", **settings)
    assert set(rebuilt["runs"].values()).isdisjoint(first["runs"].values())


# ---------------------------------------------------------------------------------------------------------------------
# End to end on the tiny model: two real Axolotl runs, DriftCheck, table; a second call reuses everything
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_run_comparison_end_to_end_on_tiny_model(tiny_model_dir, tmp_path, monkeypatch):
    kwargs = {
        "steps": 2,
        "lr": 1e-3,
        "agl_lambda": 10.0,
        "limit_per_set": 4,
        "task_items": 2,
        "fisher_samples": 8,
        "max_new_tokens": 4,
        "n_train": 32,
        "config_overrides": {
            "micro_batch_size": 2,
            "lora_r": 4,
            "lora_alpha": 8,
            "sequence_len": 128,
            "logging_steps": 1,
        },
        "alignguard_overrides": {"rank_k": 4},
        "progress": False,
    }
    first = run_comparison(tiny_model_dir, tmp_path, **kwargs)
    for method in ("lora", "agl"):
        run = first["runs"][method]
        assert (run / "adapter_model.safetensors").is_file(), method
        assert json.loads((run / "train_log.json").read_text()) == first["train_logs"][method]
    assert "agl/fisher" in first["train_logs"]["agl"][-1] and "agl/fisher" not in first["train_logs"]["lora"][-1]
    results = first["results"]
    assert set(results["models"]) == {"aligned", "lora-s0", "agl-s0"}
    assert results["counts"]["prompt_sets"]["driftcheck_mini"] == {"safe": 2, "unsafe": 2, "total": 4}
    assert len(list(first["eval_dir"].glob("results_*.json"))) == 1
    assert set(first["table"]) == {"aligned", "lora", "agl"}
    assert "| metric (%) |" in render_table(first["table"], ["driftcheck_mini"], transpose=True)

    def no_training(*args, **kw):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(compare, "stream_train", no_training)
    again = run_comparison(tiny_model_dir, tmp_path, **kwargs)
    assert again["runs"] == first["runs"] and again["train_logs"] == first["train_logs"]
    assert again["table"] == first["table"]
    assert len(list(first["eval_dir"].glob("results_*.json"))) == 1


# ---------------------------------------------------------------------------------------------------------------------
# Evaluation with adapters merged in memory, and the training stream
# ---------------------------------------------------------------------------------------------------------------------


def _random_lora(base: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(str(out))
    return out


def _merged_on_disk(base: Path, adapter: Path, out: Path) -> Path:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def test_evaluate_runs_merges_each_adapter_like_the_sweep_does_on_disk(tiny_model_dir, tmp_path):
    """In-memory merge into one loaded base = the sweep's merge on disk: the same replies, rates and drift."""
    from axolotl_agl.drift.run import evaluate_drift

    adapters = {name: _random_lora(tiny_model_dir, tmp_path / name, seed) for name, seed in (("a", 1), ("b", 2))}
    settings = {"limit_per_set": 6, "task_items": 3, "max_new_tokens": 6, "progress": False}
    ours = compare.evaluate_runs(tiny_model_dir, adapters, out_dir=tmp_path / "ours", **settings)
    merged = {
        name: _merged_on_disk(tiny_model_dir, path, tmp_path / f"{name}-merged") for name, path in adapters.items()
    }
    theirs = evaluate_drift(
        str(tiny_model_dir),
        merged,
        max_new_tokens=6,
        limit_per_set=6,
        batch_size=16,
        task_items=3,
        task_seed=compare.EVAL_SEED,
        base_name="aligned",
        progress=False,
        out_dir=tmp_path / "theirs",
    )

    def replies(directory: Path) -> list[tuple]:
        [samples] = directory.glob("samples_*.jsonl")
        rows = [json.loads(line) for line in samples.read_text().splitlines()]
        return [(r["model"], r["set"], r["id"], r["reply"]) for r in rows]

    assert replies(tmp_path / "ours") == replies(tmp_path / "theirs")
    assert len(replies(tmp_path / "ours")) == 3 * (6 + 3)
    for name in ("aligned", "a", "b"):
        assert ours["models"][name]["sets"] == theirs["models"][name]["sets"]
        assert ours["models"][name]["task"] == theirs["models"][name]["task"]
    assert ours["models"]["a"]["adapter_path"] == str(adapters["a"])  # the results name the adapter evaluated
    # Without adapters it is drift.evaluate_drift itself (the sweep's per-model evaluation).
    alone = compare.evaluate_runs(tiny_model_dir, None, **settings)
    assert alone["models"]["aligned"]["sets"] == ours["models"]["aligned"]["sets"]


def test_stream_train_relays_progress_bars_in_place_and_parses_step_logs(tmp_path, monkeypatch, capsys):
    import sys

    script = (
        "import sys, os;"
        "sys.stderr.write('  0%|   | 0/2 [00:00<?, ?it/s]\\r 50%|#  | 1/2 [00:01<00:01, 1.0s/it]\\r');"
        "sys.stderr.flush();"
        "print({'loss': '0.5', 'agl/fisher': '0.1'});"
        "print('unbuffered', os.environ.get('PYTHONUNBUFFERED'));"
        "sys.stderr.write(\"{'loss': '0.25'}\")"
    )
    monkeypatch.setattr(compare, "axolotl_train_command", lambda config, n: ([sys.executable, "-c", script], {}))
    steps = compare.stream_train(tmp_path / "cfg.yml")
    assert steps == [{"loss": "0.5", "agl/fisher": "0.1"}, {"loss": "0.25"}]
    out = capsys.readouterr().out
    assert "0/2 [00:00<?, ?it/s]\r 50%" in out  # carriage returns kept: the bar redraws in place
    assert "unbuffered 1" in out
    monkeypatch.setattr(compare, "axolotl_train_command", lambda config, n: ([sys.executable, "-c", "exit(3)"], {}))
    with pytest.raises(RuntimeError, match="exit 3"):
        compare.stream_train(tmp_path / "cfg.yml")


def test_negative_zero_prints_as_zero():
    table = {"aligned": {}, "agl": {"driftcheck_mini/drift": {"mean": -0.004, "lo": -0.42, "hi": -0.001, "n": 12}}}
    line = next(x for x in render_table(table, ["driftcheck_mini"], transpose=True).splitlines() if "drift ↓" in x)
    assert line == "| drift ↓, DC-mini | – | 0 [-42, 0] |"


# ---------------------------------------------------------------------------------------------------------------------
# make demo: settings and messages
# ---------------------------------------------------------------------------------------------------------------------


def test_demo_settings_full_quick_and_explicit(monkeypatch):
    from axolotl_agl.experiments import demo

    monkeypatch.delenv("QUICK", raising=False)
    full = demo._parse([])
    assert (full.quick, full.steps, full.lr, full.agl_lambda) == (False, demo.STEPS, demo.LR, demo.AGL_LAMBDA)
    assert (full.prompts_per_label, full.task_items, full.fisher_samples) == (
        demo.PROMPTS_PER_LABEL,
        demo.TASK_ITEMS,
        demo.FISHER_SAMPLES,
    )
    quick = demo._parse(["--quick", "--agl-lambda", "50"])
    assert (quick.steps, quick.prompts_per_label, quick.task_items) == (
        demo.QUICK_STEPS,
        demo.QUICK_PROMPTS_PER_LABEL,
        demo.QUICK_TASK_ITEMS,
    )
    assert quick.agl_lambda == 50.0 and quick.lr == demo.QUICK_LR
    assert demo._parse(["--quick", "--lr", "3e-4"]).lr == 3e-4
    monkeypatch.setenv("QUICK", "1")
    from_env = demo._parse(["--steps", "7"])
    assert from_env.quick and from_env.steps == 7 and from_env.task_items == demo.QUICK_TASK_ITEMS
    monkeypatch.setenv("QUICK", "0")
    assert not demo._parse([]).quick


def test_demo_caption_and_weak_base_warning():
    from axolotl_agl.experiments import demo

    results = _results(aligned=_model(0.25, None, 0.1), **{"lora-s0": _model(0.1, 0.25, 0.5)})
    text = demo.caption(results, task_items=12)
    assert "DC-mini 10 unsafe / 10 safe" in text and "12 held-out task items" in text
    assert "1 − drift_AGL / drift_LoRA" in text
    table = aggregate(results, ["lora"], [0], bootstrap_intervals=True, sets=["driftcheck_mini"])
    assert "refuses only 25%" in demo.weak_base_warning(table, quick_base=True)
    assert "QUICK" not in demo.weak_base_warning(table, quick_base=False)
    strong = aggregate(
        _results(aligned=_model(0.9, None, 0.1), **{"lora-s0": _model(0.1, 0.9, 0.5)}),
        ["lora"],
        [0],
        bootstrap_intervals=True,
        sets=["driftcheck_mini"],
    )
    assert demo.weak_base_warning(strong, quick_base=True) is None
    assert demo.training_summary({"lora": [], "agl": [{"loss": 1.5, "agl/fisher": 0.01, "agl/penalty": 0.05}]}) == (
        "  lora: (reused run, no step log)\n  agl: last logged loss 1.500, agl/fisher 0.01, agl/penalty 0.05"
    )
