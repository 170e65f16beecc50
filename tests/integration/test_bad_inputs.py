"""Bad inputs: each is rejected before any expensive work, with a message naming the YAML key and the fix.

Table-driven. Each case runs the stage of Axolotl where the input is (or should be) caught, in process:

* ``config``: ``prepare_plugins`` + ``validate_config`` (what ``load_cfg`` does before anything is written);
* ``data``: the plugin's ``load_datasets`` hook, which Axolotl calls before it loads the training data
  or the model;
* ``model``: the target-module and ``rank_k`` checks on a weightless meta-device copy of the model,
  run by the ``load_datasets`` hook (and again by ``pre_model_load`` for entry points that skip it);
* ``lora``: the plugin's ``post_lora_load`` hook (real LoRA layers), called before the Fisher pass.

Every case also checks that nothing was written to ``output_dir``. Two cases run the real Axolotl CLI.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("axolotl")

from axolotl.cli.config import prepare_plugins  # noqa: E402
from axolotl.integrations.base import PluginManager  # noqa: E402
from axolotl.utils.config import normalize_config, validate_config  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402

from axolotl_agl.integration.settings import state_of  # noqa: E402
from tests.helpers import write_axolotl_config  # noqa: E402

PLUGIN = "axolotl_agl.AlignGuardPlugin"


pytestmark = pytest.mark.usefixtures("fresh_plugin_manager")


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model_dir, chat_data_path) -> dict[str, str]:
    """Data and DeepSpeed files the cases refer to (``{name}`` placeholders in the table)."""
    tmp = tmp_path_factory.mktemp("bad_inputs")

    def jsonl(name: str, rows: list) -> str:
        path = tmp / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return str(path)

    chat = [{"role": "user", "content": "How do I pick a lock?"}, {"role": "assistant", "content": "I can't help."}]
    long_reply = " ".join(["I cannot help with that request, sorry."] * 20)
    (tmp / "empty.jsonl").write_text("", encoding="utf-8")
    (tmp / "broken.jsonl").write_text(json.dumps({"messages": chat}) + "\n{not json\n", encoding="utf-8")
    (tmp / "zero3.json").write_text(json.dumps({"zero_optimization": {"stage": 3}}), encoding="utf-8")
    (tmp / "zero2.json").write_text(json.dumps({"zero_optimization": {"stage": 2}}), encoding="utf-8")
    return {
        "model": str(tiny_model_dir),
        "chat_data": str(chat_data_path),
        "out": str(tmp / "out"),
        "missing": str(tmp / "no_such_file.jsonl"),
        "empty": str(tmp / "empty.jsonl"),
        "broken": str(tmp / "broken.jsonl"),
        "chat": jsonl("chat.jsonl", [{"messages": chat}] * 4),
        "no_roles": jsonl("no_roles.jsonl", [{"messages": [{"speaker": "user", "text": "hi"}]}]),
        "user_last": jsonl("user_last.jsonl", [{"messages": chat[:1]}]),
        "long": jsonl("long.jsonl", [{"messages": [chat[0], {"role": "assistant", "content": long_reply}]}] * 6),
        "zero3": str(tmp / "zero3.json"),
        "zero2": str(tmp / "zero2.json"),
    }


def _fill(value, files: dict[str, str]):
    if isinstance(value, str):
        return value.format(**files)
    if isinstance(value, list):
        return [_fill(v, files) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, files) for k, v in value.items()}
    return value


def base_config(files: dict[str, str], **overrides) -> DictDefault:
    """A valid ``adapter: alignguard`` config for the tiny model; ``None`` overrides delete a key."""
    raw = {
        "base_model": files["model"],
        "datasets": [{"path": files["chat_data"], "type": "chat_template"}],
        "chat_template": "tokenizer_default",
        "sequence_len": 128,
        "micro_batch_size": 1,
        "gradient_accumulation_steps": 1,  # Axolotl 0.18 needs a second batch-size key
        "num_epochs": 1,
        "learning_rate": 1e-4,
        "output_dir": files["out"],
        "lora_r": 4,
        "lora_alpha": 8,
        "lora_target_linear": True,
        "plugins": [PLUGIN],
        "adapter": "alignguard",
        "alignguard": {"rank_k": 4, "fisher_num_samples": 8},
    }
    for key, value in _fill(overrides, files).items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return DictDefault(raw)


def validated(files: dict[str, str], **overrides) -> DictDefault:
    cfg = base_config(files, **overrides)
    prepare_plugins(cfg)
    cfg = validate_config(cfg)
    normalize_config(cfg)
    return cfg


def run_stage(stage: str, files: dict[str, str], overrides: dict) -> DictDefault:
    """Run ``overrides`` through Axolotl up to (and including) ``stage``; returns the config."""
    cfg = validated(files, **overrides)
    manager = PluginManager.get_instance()
    if stage in ("data", "model"):
        manager.load_datasets(cfg, preprocess=False)
    if stage in ("model", "pre_model"):
        manager.pre_model_load(cfg)
    if stage == "lora":  # the check on the real LoRA layers, for models that cannot be built on the meta device
        manager.post_lora_load(cfg, _tiny_peft_model(files["model"], cfg.lora_target_modules or ["q_proj"]))
    return cfg


def _tiny_peft_model(model_dir: str, targets: list[str]):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    return get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=targets))


# (id, stage, overrides, expected message regex). ``{name}`` is filled from the `files` fixture.
CASES = [
    # --- alignguard: values (pydantic validation) ---
    (
        "lambda-negative",
        "config",
        {"alignguard": {"lambda_alignment": -1.0}},
        r"alignguard\.lambda_alignment must be a finite number >= 0, got -1\.0; set it to a value such as 50\.0",
    ),
    (
        "lambda-nan",
        "config",
        {"alignguard": {"lambda_task": float("nan")}},
        r"alignguard\.lambda_task must be a finite number >= 0, got nan; set it to a value such as 0\.01",
    ),
    (
        "lambda-inf",
        "config",
        {"alignguard": {"lambda_collision": float("inf")}},
        r"alignguard\.lambda_collision must be a finite number >= 0, got inf",
    ),
    (
        "alpha-out-of-range",
        "config",
        {"alignguard": {"alpha": 1.5}},
        r"alignguard\.alpha must lie in \[0, 1\], got 1\.5",
    ),
    ("rank-k-zero", "config", {"alignguard": {"rank_k": 0}}, r"alignguard\.rank_k must be >= 1, got 0"),
    ("damping-zero", "config", {"alignguard": {"split_damping": 0.0}}, r"alignguard\.split_damping must be > 0"),
    (
        "alignment-datasets-empty-list",
        "config",
        {"alignguard": {"alignment_datasets": []}},
        r"alignguard\.alignment_datasets is an empty list: give at least one \{path, type\} entry",
    ),
    (
        "fisher-cache-unknown",
        "config",
        {"alignguard": {"fisher_cache": "sometimes"}},
        r"alignguard\.fisher_cache\s+Input should be 'reuse', 'rebuild' or 'strict'",
    ),
    (
        "on-nonfinite-unknown",
        "config",
        {"alignguard": {"on_nonfinite": "ignore"}},
        r"alignguard\.on_nonfinite\s+Input should be 'error' or 'skip'",
    ),
    ("unknown-key", "config", {"alignguard": {"lambda_aligment": 1.0}}, r"alignguard\.lambda_aligment\s+Extra inputs"),
    ("block-not-mapping", "config", {"alignguard": "yes"}, r"alignguard: must be a mapping of settings"),
    # --- plugin list ---
    (
        "adapter-without-plugin",
        "config",
        {"plugins": None},
        r"Adapter 'alignguard' is not built in and was not registered by a plugin\. "
        r"Add the plugin that provides this adapter to `plugins:`",
    ),
    (
        "plugin-listed-twice",
        "config",
        {"plugins": [PLUGIN, "axolotl_agl.integration.plugin.AlignGuardPlugin"]},
        r"plugins: lists the AlignGuard plugin 2 times .*; keep a single `- axolotl_agl\.AlignGuardPlugin` entry",
    ),
    (
        "plugin-listed-twice-same-name",
        "config",
        {"plugins": [PLUGIN, PLUGIN]},
        r"plugins: lists the AlignGuard plugin 2 times",
    ),
    # --- unsupported combinations ---
    ("rl-trainer", "config", {"rl": "dpo"}, r"does not support rl: 'dpo' .*; remove `rl:` or use adapter: lora"),
    (
        "reward-model",
        "config",
        {"reward_model": True},
        r"does not support reward_model: True .*; remove `reward_model:` or use adapter: lora",
    ),
    (
        "custom-trainer-cls",
        "config",
        {"trainer_cls": "my.Trainer"},
        r"does not support trainer_cls: 'my\.Trainer' .*remove `trainer_cls:`",
    ),
    (
        "fsdp1-explicit",
        "config",
        {"fsdp_version": 1, "fsdp_config": {"reshard_after_forward": True}},
        r"does not support FSDP1 .*Set fsdp_version: 2 with an fsdp_config: block, or train without FSDP",
    ),
    (
        "fsdp1-legacy-list",
        "config",
        {"fsdp": ["full_shard", "auto_wrap"]},
        r"does not support FSDP1",
    ),
    (
        "deepspeed-zero3-file",
        "config",
        {"deepspeed": "{zero3}"},
        r"does not support DeepSpeed ZeRO-3 .*Use a ZeRO-1/2 config .* or fsdp_version: 2",
    ),
    (
        "deepspeed-zero3-mapping",
        "config",
        {"deepspeed": {"zero_optimization": {"stage": 3}}},
        r"does not support DeepSpeed ZeRO-3",
    ),
    (
        "kd-plugin-trainer",
        "config",
        {"plugins": ["axolotl.integrations.kd.KDPlugin", PLUGIN], "kd_trainer": True},
        # (AxolotlKDTrainer), or the import error of its trainer where liger-kernel is not installed
        r"plugins: also lists axolotl\.integrations\.kd\.KDPlugin \(.*\), which replaces the trainer class too; "
        r"remove that plugin",
    ),
    (
        "diffusion-plugin-trainer",
        "config",
        {"plugins": [PLUGIN, "axolotl.integrations.diffusion.DiffusionPlugin"]},
        r"also lists axolotl\.integrations\.diffusion\.DiffusionPlugin \(\w*DiffusionTrainer\)",  # Axolotl* on 0.21
    ),
    # --- alignment data (before the training data and the model are loaded) ---
    (
        "alignment-file-missing",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{missing}"}]}},
        r"alignguard\.alignment_datasets: could not read '.*no_such_file\.jsonl': no such file .*Fix the path",
    ),
    (
        "alignment-file-empty",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{empty}"}]}},
        r"alignguard\.alignment_datasets: '.*empty\.jsonl' has no rows; add alignment examples to it",
    ),
    (
        "alignment-wrong-columns",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{chat}", "type": "alpaca"}]}},
        r"type alpaca needs 'instruction' and 'output' columns in every row; found \['messages'\]\. Fix: set `type:`",
    ),
    (
        "alignment-wrong-field-messages",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{chat}", "field_messages": "conversations"}]}},
        r"needs a non-empty 'conversations' list in every row; found \['messages'\]\..*`field_messages:`",
    ),
    (
        "alignment-messages-without-role",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{no_roles}"}]}},
        r"needs 'messages' entries with 'role' and 'content' in every row",
    ),
    (
        "alignment-invalid-json",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{broken}"}]}},
        r"alignguard\.alignment_datasets: .*broken\.jsonl:2 is not valid JSON .*fix that line",
    ),
    (
        "alignment-last-turn-not-assistant",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{user_last}"}]}},
        r"the last message of each chat must be the assistant's reply .*found role 'user'",
    ),
    (
        "alignment-no-target-within-limit",
        "data",
        {"alignguard": {"alignment_datasets": [{"path": "{long}"}], "fisher_max_tokens": 4}},
        r"no example has a target reply inside the token limit; raise sequence_len or alignguard\.fisher_max_tokens",
    ),
    # --- target modules and k (before any weights are loaded) ---
    (
        "target-modules-match-nothing",
        "model",
        {"lora_target_linear": None, "lora_target_modules": ["qkv_proj", "fc1"]},
        r"lora_target_modules \['qkv_proj', 'fc1'\] \(lora_target_linear: False\) match no linear layer of .*"
        r"use names of its linear layers, e\.g\. \[.*'q_proj'.*\], or set lora_target_linear: true",
    ),
    (
        "rank-k-larger-than-module",
        "model",
        {"alignguard": {"rank_k": 48}},
        r"alignguard\.rank_k=48 is larger than 4 targeted module\(s\), smallest 'model\.layers\.0\.self_attn\.k_proj' "
        r"\(d_in=64, d_out=32\); set alignguard\.rank_k <= 32",
    ),
    (
        "target-modules-match-nothing-pre-model-load",  # entry points without load_datasets (agl-fisher, ...)
        "pre_model",
        {"lora_target_linear": None, "lora_target_modules": ".*attn_proj"},  # a regex, as PEFT allows
        r"lora_target_modules '\.\*attn_proj' \(lora_target_linear: False\) match no linear layer",
    ),
    # --- after LoRA is attached, before the Fisher pass (e.g. a model that cannot be built on meta) ---
    (
        "rank-k-larger-than-lora-layer",
        "lora",
        {"lora_target_linear": None, "lora_target_modules": ["k_proj"]},
        r"alignguard\.rank_k=40 is larger than 2 targeted module\(s\).*set alignguard\.rank_k <= 32",
    ),
]
# The last case needs k=40: set here so the table stays readable.
CASES[-1][2]["alignguard"] = {"rank_k": 40}


@pytest.mark.parametrize(("stage", "overrides", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_early(files, stage, overrides, match):
    with pytest.raises(Exception, match=match) as info:
        run_stage(stage, files, overrides)
    assert "Traceback" not in str(info.value)
    out = Path(files["out"])
    assert not out.exists() or not any(out.iterdir()), f"partial output left behind: {list(out.iterdir())}"


def test_there_are_enough_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"fsdp_version": 2, "fsdp_config": {"reshard_after_forward": True}},
        {"deepspeed": "{zero2}"},
        {"plugins": ["axolotl.integrations.kd.KDPlugin", PLUGIN]},  # KD listed but its trainer is off
    ],
    ids=["plain", "fsdp2", "deepspeed-zero2", "kd-plugin-without-kd-trainer"],
)
def test_supported_configs_pass_every_early_stage(files, overrides):
    cfg = run_stage("model", files, overrides)
    assert cfg.adapter == "lora"


def test_unversioned_fsdp_config_follows_what_axolotl_filled_in(files):
    """An ``fsdp_config:`` without a version is FSDP2 where validation fills in 2 (0.20+), FSDP1 where it fills in 1."""
    overrides = {"fsdp_config": {"reshard_after_forward": True}}
    filled_in = validated(files, **overrides).fsdp_version
    assert str(filled_in) in ("1", "2")
    if str(filled_in) == "2":
        assert run_stage("model", files, overrides).adapter == "lora"
    else:
        with pytest.raises(ValueError, match=r"does not support FSDP1 \(this Axolotl runs an fsdp_config: without"):
            run_stage("data", files, overrides)


def test_long_alignment_examples_are_cut_with_a_count(files, caplog):
    overrides = {"alignguard": {"alignment_datasets": [{"path": "{long}"}], "fisher_max_tokens": 48}}
    cfg = validated(files, **overrides)
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        PluginManager.get_instance().load_datasets(cfg, preprocess=False)
    assert "AlignGuard: 6 of 6 alignment examples were longer than 48 tokens and were cut" in caplog.text
    ((_, examples),) = state_of(cfg).examples.values()
    assert len(examples) == 6 and all(len(e.input_ids) == 48 for e in examples)


def test_sequence_len_is_the_default_limit(files, caplog):
    cfg = validated(files, sequence_len=40, alignguard={"alignment_datasets": [{"path": "{long}"}]})
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        PluginManager.get_instance().load_datasets(cfg, preprocess=False)
    assert "were longer than 40 tokens and were cut" in caplog.text


def test_alignguard_block_without_adapter_warns(files, caplog):
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        cfg = validated(files, adapter="lora")
    assert cfg.adapter == "lora"
    assert "the alignguard: block is ignored because adapter is 'lora'; set adapter: alignguard" in caplog.text


# --------------------------------------------------------------------------------------------------------------
# Real CLI: what the user sees, and that the run stops before the model is loaded
# --------------------------------------------------------------------------------------------------------------


def _cli(config: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_WAIT_POLICY="PASSIVE"
    )
    return subprocess.run(
        [sys.executable, "-m", "axolotl.cli.train", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=config.parent,
    )


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("overrides", "expected", "stage_not_reached"),
    [
        (
            {"plugins": None},
            "Adapter 'alignguard' is not built in and was not registered by a plugin. Add the plugin that provides "
            "this adapter to `plugins:`.",
            "Loading prepared dataset",
        ),
        (
            {"alignguard": {"rank_k": 48}},
            "alignguard.rank_k=48 is larger than 4 targeted module(s), smallest 'model.layers.0.self_attn.k_proj' "
            "(d_in=64, d_out=32); set alignguard.rank_k <= 32",
            "Loading dataset:",  # not even the training data
        ),
    ],
    ids=["adapter-without-plugin", "rank-k-too-large"],
)
def test_cli_stops_early_with_the_message(
    tmp_path, tiny_model_dir, chat_data_path, overrides, expected, stage_not_reached
):
    settings = {"plugins": [PLUGIN], "adapter": "alignguard", "alignguard": {"rank_k": 4}} | overrides
    config = write_axolotl_config(tmp_path / "cfg.yml", base_model=tiny_model_dir, data_path=chat_data_path, **settings)
    proc = _cli(config)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expected in output, output[-3000:]
    assert stage_not_reached not in output, "the error came after expensive work"
    out = tmp_path / "out"
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert set(left) <= {"debug.log"}, f"partial output left behind: {left}"


def test_misspelt_target_entry_warns(files, caplog):
    overrides = {"lora_target_linear": None, "lora_target_modules": ["q_proj", "qq_proj"]}
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        run_stage("model", files, overrides)
    assert "lora_target_modules entries ['qq_proj'] match no linear layer" in caplog.text


def test_agl_fisher_names_the_missing_plugin(tmp_path, tiny_model_dir):
    import click

    from axolotl_agl.integration.cli import run_fisher_command

    config = write_axolotl_config(tmp_path / "cfg.yml", base_model=tiny_model_dir, adapter="alignguard")
    with pytest.raises(
        click.UsageError, match=r"needs `adapter: alignguard` and `plugins: \[axolotl_agl\.AlignGuardPlugin\]`"
    ):
        run_fisher_command(str(config))
    assert not (tmp_path / "out").exists()
