"""The peers in the drift sweep (``benchmarks/drift.py``): each training-time peer's config is what its plugin reads
(validated by the installed Axolotl), the post-hoc transforms are dispatched with the right inputs, the dry run lists
every method; and one small sweep of the peer code paths end to end on the tiny model (marked ``e2e``)."""

import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import drift  # noqa: E402
import drift_eval  # noqa: E402

TRAINING_PEERS = ("l2", "ewc", "constrained_sft", "asft")
PEER_PLUGIN = "axolotl_agl.experiments.peers.PeerPlugin"


def _save_lora(model_dir: Path, out: Path, targets: list[str], seed: int, r: int = 2) -> Path:
    """A random non-zero PEFT LoRA adapter on the model in ``model_dir``, saved to ``out``."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = LoraConfig(r=r, lora_alpha=2 * r, target_modules=targets, init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def tiny_aligned(tmp_path_factory, tiny_model_dir) -> Path:
    """The tiny model (the "unaligned" one) with a random alignment LoRA merged in; ``agl_source.json`` records the
    adapter as the SmolLM2 aligned base records its ``align-out`` folder."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = tmp_path_factory.mktemp("aligned")
    adapter = _save_lora(tiny_model_dir, tmp / "align-out", ["q_proj", "v_proj"], seed=11)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    out = tmp / "aligned"
    PeftModel.from_pretrained(model, adapter).merge_and_unload().save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    source = {"base": str(tiny_model_dir), "adapter": str(adapter), "recipe_sha256": "tiny-test-recipe"}
    (out / "agl_source.json").write_text(json.dumps(source), encoding="utf-8")
    return out


def _context(tmp_path: Path, aligned: Path, unaligned: Path, adapter: Path | None) -> drift.SweepContext:
    task_path, _ = drift.write_task_data(tmp_path / "work", n_train=40, n_eval=4, eval_seed=3)
    settings = {"limit_per_set": 4, "task_items": 4, "eval_seed": 3, "max_new_tokens": 4, "batch_size": 4,
                "xstest": None}  # fmt: skip
    ctx = drift.SweepContext(tmp_path / "work", aligned, unaligned, task_path, 5, 1e-3, 8, 40,
                             drift.aligned_recipe_fingerprint(aligned), settings)  # fmt: skip
    ctx.eval_id = drift.eval_identity(settings)
    ctx.alignment_adapter = adapter
    return ctx


def test_the_context_finds_the_alignment_lora_the_base_was_built_from(tiny_aligned):
    assert drift.recorded_alignment_adapter(tiny_aligned) == tiny_aligned.parent / "align-out"
    assert drift.recorded_alignment_adapter(tiny_aligned.parent) is None  # no agl_source.json there


@pytest.mark.parametrize("method", TRAINING_PEERS)
def test_training_peer_config_is_what_the_peer_plugin_reads(
    method, tmp_path, tiny_aligned, tiny_model_dir, fresh_plugin_manager
):
    """The planned config passes Axolotl's own validation with the plugin's ``peer_baseline`` schema, the plugin
    picks the peer's trainer, and each peer finds what it needs (AsFT the recorded alignment LoRA, constrained SFT
    the aligned base as ``base_model``, EWC its Fisher settings)."""
    from axolotl.cli.config import load_cfg

    from axolotl_agl.experiments.peers.asft import resolve_alignment_adapter
    from axolotl_agl.experiments.peers.plugin import TRAINERS, PeerPlugin, check_peer_config, peer_config_of

    adapter = drift.recorded_alignment_adapter(tiny_aligned)
    ctx = _context(tmp_path, tiny_aligned, tiny_model_dir, adapter)
    value = drift.SWEEP[method].values[1]
    run = drift.plan_run(method, value, 0, ctx, tmp_path / "runs")
    cfg = run.cfg
    assert cfg["plugins"] == [PEER_PLUGIN] and cfg["adapter"] == "lora"
    assert cfg["base_model"] == str(tiny_aligned)  # constrained SFT's reference: this model, adapter disabled
    path = tmp_path / f"{method}.yml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    loaded = load_cfg(str(path))
    peer = peer_config_of(loaded)
    assert (peer.method, peer.weight) == (method, value)
    check_peer_config(loaded, peer)  # what the plugin checks before the model loads
    assert PeerPlugin().get_trainer_cls(loaded) is TRAINERS[method]
    if method == "asft":
        assert peer.alignment_adapter == str(adapter)
        assert resolve_alignment_adapter(peer, loaded.get("base_model")) == adapter
    else:
        assert peer.alignment_adapter is None
    if method == "ewc":
        assert peer.fisher_num_samples == ctx.fisher_samples
        assert Path(peer.fisher_cache_path).parent == ctx.work
    # The identity: the knob and the method's revision, the block resolved to every default, no machine paths.
    block = run.identity["train"]["peer_baseline"]
    assert block["weight"] == value and block["on_nonfinite"] == "error" and "alignment_adapter" not in block
    assert run.identity["revision"] == drift.SWEEP[method].revision
    if method == "constrained_sft":
        assert (block["first_token_factor"], block["bias_factor"], block["bias_length"]) == (5.0, 20.0, 5)


def test_asft_key_does_not_depend_on_where_the_alignment_lora_is(tmp_path, tiny_aligned, tiny_model_dir):
    """A dry run before the base is built (no adapter recorded yet) plans the same AsFT keys as the sweep after it."""
    adapter = drift.recorded_alignment_adapter(tiny_aligned)
    with_lora = _context(tmp_path / "a", tiny_aligned, tiny_model_dir, adapter)
    without = _context(tmp_path / "b", tiny_aligned, tiny_model_dir, None)
    run = drift.plan_run("asft", 1.0, 0, with_lora, tmp_path / "runs")
    assert run.key == drift.plan_run("asft", 1.0, 0, without, tmp_path / "runs").key
    assert "alignment_adapter" not in drift.plan_run("asft", 1.0, 0, without, tmp_path / "runs").cfg["peer_baseline"]
    assert run.key != drift.plan_run("asft", 10.0, 0, with_lora, tmp_path / "runs").key
    assert run.key != drift.plan_run("l2", 1.0, 0, with_lora, tmp_path / "runs").key


def _dense_updates(model_dir: Path, adapter: Path) -> dict[str, torch.Tensor]:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from axolotl_agl.core.lora_modules import find_lora_linears

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), adapter)
    return {h.name: (h.scale * h.factors()[1] @ h.factors()[0]).detach() for h in find_lora_linears(model)}


@pytest.mark.parametrize("method", ["safelora", "safemerge"])
def test_post_hoc_methods_are_dispatched_with_their_inputs(method, tmp_path, tiny_aligned, tiny_model_dir, monkeypatch):
    """``execute`` derives a post-hoc run from the plain-LoRA adapter of the same seed through ``transform_adapter``:
    Safe LoRA with the aligned and unaligned checkpoints, SafeMERGE with the alignment LoRA as the safety LoRA. The
    written adapter is what is evaluated and the transform's summary lands in the run file."""
    import shutil

    # A copy elsewhere: SafeMERGE must use the context's alignment LoRA, not only agl_source.json's default.
    adapter = Path(shutil.copytree(drift.recorded_alignment_adapter(tiny_aligned), tmp_path / "alignment-lora"))
    ctx = _context(tmp_path, tiny_aligned, tiny_model_dir, adapter)
    task = _save_lora(tiny_aligned, tmp_path / "task-lora", ["q_proj", "v_proj", "down_proj"], seed=3)
    run = drift.plan_run(method, 2.0, 0, ctx, tmp_path / "runs")  # threshold/τ 2 > any cosine: every layer changes
    assert run.parent.method == "lora" and run.identity["parent"] == run.parent.key and run.cfg is None
    assert run.identity["implementation"] == f"axolotl_agl.experiments.peers.{method}"
    trained = []

    def fake_training(parent):
        trained.append(parent.name)
        return task, [], 1.5

    monkeypatch.setattr(drift, "ensure_adapter", fake_training)
    evaluated = []

    def fake_evaluate(model, name, aligned, scratch, settings, progress=True):
        evaluated.append((model, name, aligned))
        return {"metrics": {"task": {"accuracy": 0.5}}, "per_prompt": {}, "seconds": {"merge": 0.0, "evaluate": 0.0}}

    monkeypatch.setattr(drift_eval, "evaluate_run", fake_evaluate)
    (tmp_path / "runs").mkdir()
    path = drift.execute(run, ctx, "g", "ref", commit=False, progress=False)
    saved = json.loads(path.read_text())
    assert trained == [run.parent.name]
    out = ctx.work / "runs" / run.name
    assert evaluated == [(out, run.name, tiny_aligned)]
    summary = saved["extra"][method]
    task_updates, new_updates = _dense_updates(tiny_aligned, task), _dense_updates(tiny_aligned, out)
    assert set(new_updates) == set(task_updates)
    aligned_layers = [n for n in task_updates if n.endswith(("q_proj", "v_proj"))]  # where the alignment LoRA is
    assert aligned_layers and len(task_updates) == 3 * len(aligned_layers) // 2
    if method == "safemerge":
        assert summary["merged_layers"] == summary["compared_layers"] == len(aligned_layers)
        assert summary["layers"] == len(task_updates)
        assert json.loads((out / "safemerge.json").read_text())["safety_adapter"] == str(adapter)
        safety = _dense_updates(tiny_model_dir, adapter)
        for name, update in new_updates.items():
            expected = task_updates[name] if name not in safety else 0.8 * task_updates[name] + 0.2 * safety[name]
            torch.testing.assert_close(update, expected, rtol=1e-5, atol=1e-7)
    else:
        # V = W_aligned − W_unaligned is non-zero only where the alignment LoRA was merged (q_proj, v_proj).
        assert summary["projected_layers"] == summary["layers"] == len(aligned_layers)
        torch.testing.assert_close(new_updates["model.layers.0.mlp.down_proj"],
                                   task_updates["model.layers.0.mlp.down_proj"])  # fmt: skip
        assert not torch.allclose(new_updates["model.layers.0.self_attn.q_proj"],
                                  task_updates["model.layers.0.self_attn.q_proj"])  # fmt: skip
    with pytest.raises(ValueError, match="not a post-hoc method"):
        drift.transform_adapter(drift.plan_run("l2", 0.1, 0, ctx, tmp_path / "runs"), task, out, ctx)


def test_missing_inputs_are_named(tmp_path, tiny_aligned, tiny_model_dir):
    adapter = drift.recorded_alignment_adapter(tiny_aligned)
    ok = _context(tmp_path / "a", tiny_aligned, tiny_model_dir, adapter)
    assert drift.missing_inputs(list(drift.SWEEP), ok) == []
    gone = _context(tmp_path / "b", tiny_aligned, tmp_path / "no-unaligned", None)
    problems = drift.missing_inputs(list(drift.SWEEP), gone)
    assert len(problems) == 2
    assert "Safe LoRA needs the pre-alignment weights" in problems[0]
    assert problems[1].startswith("asft, safemerge: need the alignment LoRA") and "records no adapter" in problems[1]
    stale = _context(tmp_path / "c", tiny_aligned, tiny_model_dir, tmp_path / "deleted-align-out")
    assert "is not a PEFT adapter directory" in drift.missing_inputs(["safemerge"], stale)[0]
    assert drift.missing_inputs(["lora", "agl", "l2", "constrained_sft"], gone) == []


def test_dry_run_lists_every_method_with_its_four_values(tmp_path, tiny_aligned, tiny_model_dir, capsys):
    args = ["--dry-run", "--seeds", "0", "--aligned", str(tiny_aligned), "--unaligned", str(tiny_model_dir),
            "--work", str(tmp_path / "work"), "--runs-dir", str(tmp_path / "runs"), "--n-train", "40",
            "--task-eval", "4"]  # fmt: skip
    assert drift.main(args) == 0
    out = capsys.readouterr().out
    assert "pending" not in out and "skipping" not in out and "before running" not in out
    names = [line.split()[-1] for line in out.splitlines() if line.startswith("  [ ] ")]
    planned = {}
    for name in names:
        method, value = name.split("-s0-")[0].rsplit("-", 1)
        planned.setdefault(method, []).append(value)
    assert list(planned) == list(drift.SWEEP)  # every method, by default, plain LoRA first
    for method, spec in drift.SWEEP.items():
        assert planned[method] == [drift.format_value(v) for v in spec.values]
        line = next(x for x in out.splitlines() if x.startswith(f"  {method} "))
        if spec.knob is not None:
            assert len(spec.values) >= 4 and f"{spec.knob} = " in line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # nothing ran


def test_dry_run_before_the_default_base_is_built_uses_the_recipe_it_will_record(tmp_path, monkeypatch, capsys):
    from axolotl_agl.experiments import aligned_base

    recipe_sha = "feed" * 16  # what the builder would record (its real value depends on the recipe's data files)
    monkeypatch.setattr(aligned_base, "alignment_recipe_fingerprint", lambda: recipe_sha)
    monkeypatch.setenv("AGL_CACHE_DIR", str(tmp_path / "empty-cache"))
    recipe, built = drift.sweep_recipe(tmp_path / "empty-cache" / "smollm2-135m-aligned", explicit=False)
    assert (recipe, built) == ({"recipe_sha256": recipe_sha}, False)
    args = ["--seeds", "0", "--methods", "lora", "asft", "--work", str(tmp_path / "work"), "--runs-dir",
            str(tmp_path / "runs"), "--n-train", "40", "--task-eval", "4"]  # fmt: skip
    with pytest.raises(SystemExit, match="no current aligned base"):
        drift.main(args)
    assert drift.main(["--dry-run", *args]) == 0
    out = capsys.readouterr().out
    assert "keys use the recipe its build will record" in out and recipe_sha[:20] in out
    assert "before running: asft: need the alignment LoRA" in out


# ---------------------------------------------------------------------------------------------------------------------
# End to end: the peers' code paths in one small sweep on the tiny model (real Axolotl runs, real DriftCheck)
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_peer_sweep_end_to_end_on_tiny_model(tiny_aligned, tiny_model_dir, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    args = ["--aligned", str(tiny_aligned), "--unaligned", str(tiny_model_dir),
            "--methods", "constrained_sft", "asft", "safemerge", "safelora",
            "--values", "constrained_sft=0.1", "asft=1", "safemerge=0.5", "safelora=0.5", "--seeds", "0",
            "--steps", "5", "--n-train", "48", "--limit", "4", "--task-eval", "2", "--max-new-tokens", "4",
            "--work", str(tmp_path / "work"), "--runs-dir", str(runs_dir), "--no-commit", "--no-progress"]  # fmt: skip
    assert drift.main(args) == 0
    out = capsys.readouterr().out
    runs = {p.name.split("-s0-")[0]: json.loads(p.read_text()) for p in runs_dir.glob("*-s0-*.json")}
    assert sorted(runs) == ["asft-1", "constrained_sft-0.1", "lora-none", "safelora-0.5", "safemerge-0.5"]
    assert "AsFT: alignment directions from " + str(tiny_aligned.parent / "align-out") in out
    assert float(runs["asft-1"]["extra"]["last_step_log"]["peer/asft"]) > 0  # the Trainer prints values as strings
    csft = runs["constrained_sft-0.1"]["extra"]["last_step_log"]
    assert {"peer/constrained_sft", "peer/task_ce"} <= set(csft)
    assert runs["safemerge-0.5"]["extra"]["safemerge"]["compared_layers"] > 0
    assert runs["safelora-0.5"]["extra"]["safelora"]["layers"] > 0
    lora_key = runs["lora-none"]["key"]
    for name in ("safemerge-0.5", "safelora-0.5"):
        assert runs[name]["identity"]["parent"] == lora_key
    for run in runs.values():
        assert len(run["per_prompt"]["driftcheck_mini"]["refusal"]) == 4
        assert len(run["per_prompt"]["task"]["correct"]) == 2
