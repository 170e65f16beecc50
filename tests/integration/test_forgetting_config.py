"""``alignguard.forgetting``: validation errors name the YAML key and the fix; the plugin adds the callback for
``adapter: alignguard`` and for ``adapter: lora`` (then nothing else: no Fisher pass, no AlignGuard trainer).

Each case runs the Axolotl stage where the input is caught, in process (``config``: ``prepare_plugins`` +
``validate_config``; ``data``: the plugin's ``load_datasets`` hook, before the training data and the model).
"""

from __future__ import annotations

import collections
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("axolotl")

from axolotl.cli.config import prepare_plugins  # noqa: E402
from axolotl.integrations.base import PluginManager  # noqa: E402
from axolotl.utils.config import normalize_config, validate_config  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402

from axolotl_agl.integration.plugin import alignguard_enabled  # noqa: E402
from axolotl_agl.integration.settings import state_of  # noqa: E402

PLUGIN = "axolotl_agl.AlignGuardPlugin"


pytestmark = pytest.mark.usefixtures("fresh_plugin_manager")


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model_dir, chat_data_path) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("forgetting_config")
    (tmp / "empty.jsonl").write_text("", encoding="utf-8")
    (tmp / "no_prompt.jsonl").write_text(json.dumps({"question": "What is rain?"}) + "\n", encoding="utf-8")
    (tmp / "prompts.txt").write_text("What is rain?\nWhy is grass green?\n", encoding="utf-8")
    (tmp / "prompts.csv").write_text("prompt\nWhat is rain?\n", encoding="utf-8")
    return {
        "model": str(tiny_model_dir),
        "chat_data": str(chat_data_path),
        "out": str(tmp / "out"),
        "empty": str(tmp / "empty.jsonl"),
        "no_prompt": str(tmp / "no_prompt.jsonl"),
        "txt": str(tmp / "prompts.txt"),
        "csv": str(tmp / "prompts.csv"),
        "missing": str(tmp / "missing.jsonl"),
    }


def _fill(value, files):
    if isinstance(value, str):
        return value.format(**files)
    if isinstance(value, dict):
        return {k: _fill(v, files) for k, v in value.items()}
    return value


def validated(files: dict[str, str], adapter: str = "lora", **overrides) -> DictDefault:
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
        "adapter": adapter,
        "alignguard": {"forgetting": {}},
    }
    for key, value in _fill(overrides, files).items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    cfg = DictDefault(raw)
    prepare_plugins(cfg)
    cfg = validate_config(cfg)
    normalize_config(cfg)
    return cfg


def _forgetting(**settings) -> dict:
    return {"alignguard": {"forgetting": settings}}


CASES = [
    ("not-a-mapping", "config", {"alignguard": {"forgetting": True}},
     r"alignguard\.forgetting must be a mapping of settings, got True; write `forgetting: \{\}` for the defaults"),
    ("eval-steps-zero", "config", _forgetting(eval_steps=0),
     r"alignguard\.forgetting\.eval_steps must be >= 1, got 0; the default is 10"),
    ("max-examples-negative", "config", _forgetting(max_examples=-3),
     r"alignguard\.forgetting\.max_examples must be >= 1, got -3; the default is 64"),
    ("batch-size-zero", "config", _forgetting(batch_size=0), r"alignguard\.forgetting\.batch_size must be >= 1"),
    ("max-new-tokens-zero", "config", _forgetting(max_new_tokens=0),
     r"alignguard\.forgetting\.max_new_tokens must be >= 1, got 0; the default is 48"),
    ("unknown-key", "config", _forgetting(evaluation_steps=5),
     r"alignguard\.forgetting\.evaluation_steps\s+Extra inputs are not permitted"),
    ("prompts-wrong-type", "config", _forgetting(general_prompts="{csv}"),
     r"alignguard\.forgetting\.general_prompts must be a \.jsonl .* or \.txt .* file, got '.*prompts\.csv'; "
     r"convert it, or remove the key"),
    ("prompts-missing", "config", _forgetting(general_prompts="{missing}"),
     r"alignguard\.forgetting\.general_prompts: '.*missing\.jsonl' does not exist .*fix the path, or remove the key"),
    ("rl-trainer", "config", {"rl": "dpo"},
     r"alignguard\.forgetting does not support rl: 'dpo' .*remove alignguard\.forgetting or `rl:`"),
    ("prompts-empty", "data", _forgetting(general_prompts="{empty}"),
     r"alignguard\.forgetting\.general_prompts: .*empty\.jsonl holds no prompts; add some or remove the key"),
    ("prompts-without-field", "data", _forgetting(general_prompts="{no_prompt}"),
     r"alignguard\.forgetting\.general_prompts: .*no_prompt\.jsonl:1 needs a non-empty string field 'prompt'"),
]  # fmt: skip


@pytest.mark.parametrize("adapter", ["lora", "alignguard"])
@pytest.mark.parametrize(("stage", "overrides", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_forgetting_settings_are_rejected_early(files, adapter, stage, overrides, match):
    if adapter == "alignguard" and "alignguard" in overrides:
        overrides = {**overrides, "alignguard": {**overrides["alignguard"], "rank_k": 4, "fisher_num_samples": 8}}
    with pytest.raises(Exception, match=match) as info:
        cfg = validated(files, adapter=adapter, **overrides)
        if stage == "data":
            PluginManager.get_instance().load_datasets(cfg, preprocess=False)
    assert "Traceback" not in str(info.value)
    out = Path(files["out"])
    assert not out.exists() or not any(out.iterdir()), f"partial output left behind: {list(out.iterdir())}"


def _fake_trainer(cfg, tmp_path):
    from axolotl.loaders import load_tokenizer

    return SimpleNamespace(processing_class=load_tokenizer(cfg), args=SimpleNamespace(output_dir=str(tmp_path)))


def test_lora_with_forgetting_adds_only_the_callback(files, tmp_path, caplog):
    from axolotl_agl.integration.forgetting_callback import ForgettingCallback

    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        cfg = validated(
            files, alignguard={"forgetting": {"eval_steps": 5, "max_examples": 6, "general_prompts": "{txt}"}}
        )
    assert cfg.adapter == "lora" and not alignguard_enabled(cfg)
    assert "ignored" not in caplog.text
    manager = PluginManager.get_instance()
    assert manager.get_trainer_cls(cfg) is None, "plain LoRA keeps Axolotl's trainer (no penalty)"
    manager.load_datasets(cfg, preprocess=False)
    loaded = [count for count, _ in state_of(cfg).examples.values()]
    assert loaded == [6], "only the curve's 6 alignment examples are prepared for adapter: lora (no Fisher examples)"
    (callback,) = manager.add_callbacks_post_trainer(cfg, _fake_trainer(cfg, tmp_path))
    assert isinstance(callback, ForgettingCallback)
    assert callback.settings.eval_steps == 5 and len(callback.alignment) == 6
    assert callback.max_tokens == 128 and callback.base_model == files["model"]


def test_lora_with_other_alignguard_keys_warns_about_those_keys(files, caplog):
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        validated(files, alignguard={"forgetting": {}, "lambda_alignment": 5.0, "rank_k": 4})
    assert (
        "alignguard keys ['lambda_alignment', 'rank_k'] are ignored because adapter is 'lora' (only "
        "alignguard.forgetting applies)" in caplog.text
    )


def test_without_forgetting_no_callback(files, tmp_path):
    cfg = validated(files, adapter="alignguard", alignguard={"rank_k": 4, "fisher_num_samples": 8})
    assert PluginManager.get_instance().add_callbacks_post_trainer(cfg, _fake_trainer(cfg, tmp_path)) == []
    cfg = validated(files, alignguard=None)
    assert PluginManager.get_instance().add_callbacks_post_trainer(cfg, _fake_trainer(cfg, tmp_path)) == []


def test_both_adapters_evaluate_the_same_alignment_examples(files, tmp_path):
    """The curve's alignment set is the start of the Fisher examples, whatever fisher_num_samples is."""
    manager = PluginManager.get_instance()
    agl_cfg = validated(
        files,
        adapter="alignguard",
        alignguard={"rank_k": 4, "fisher_num_samples": 12, "forgetting": {"max_examples": 5}},
    )
    manager.load_datasets(agl_cfg, preprocess=False)
    ((_, fisher_examples),) = state_of(agl_cfg).examples.values()
    (agl_callback,) = manager.add_callbacks_post_trainer(agl_cfg, _fake_trainer(agl_cfg, tmp_path))
    assert agl_callback.alignment == fisher_examples[:5]

    manager.plugins = collections.OrderedDict()
    lora_cfg = validated(files, alignguard={"forgetting": {"max_examples": 5}})
    manager.load_datasets(lora_cfg, preprocess=False)
    (lora_callback,) = manager.add_callbacks_post_trainer(lora_cfg, _fake_trainer(lora_cfg, tmp_path))
    assert lora_callback.alignment == agl_callback.alignment
