"""The ``alignguard:`` block through Axolotl's own ``prepare_plugins`` + ``validate_config``."""

from __future__ import annotations

import copy

import pytest
import torch

pytest.importorskip("axolotl")

from axolotl.cli.config import prepare_plugins  # noqa: E402
from axolotl.utils.config import validate_config  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402

from axolotl_agl.core.kfac import KFACFactors  # noqa: E402
from axolotl_agl.core.kfac_summary import summarise_factors  # noqa: E402
from axolotl_agl.integration.alignment_data import load_alignment_examples  # noqa: E402
from axolotl_agl.integration.args import AlignGuardConfig, AlignmentDataset  # noqa: E402
from axolotl_agl.integration.plugin import AlignGuardPlugin, agl_config_of, alignguard_enabled  # noqa: E402

PLUGIN = "axolotl_agl.AlignGuardPlugin"
BASE = {
    "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "datasets": [{"path": "data.jsonl", "type": "chat_template"}],
    "sequence_len": 128,
    "micro_batch_size": 1,
    "gradient_accumulation_steps": 1,  # Axolotl 0.18 needs a second batch-size key
    "num_epochs": 1,
    "learning_rate": 1e-4,
    "output_dir": "./out",
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_target_linear": True,
    "plugins": [PLUGIN],
    "adapter": "alignguard",
}


def _validated(**overrides) -> DictDefault:
    raw = copy.deepcopy(BASE)
    raw.update(overrides)
    cfg = DictDefault(raw)
    prepare_plugins(cfg)
    return validate_config(cfg)


def test_round_trip_keeps_every_key():
    block = {
        "lambda_alignment": 2.5,
        "lambda_task": 0.2,
        "lambda_collision": 0.3,
        "alpha": 0.25,
        "rank_k": 8,
        "split_damping": 2.0,
        "fisher_num_samples": 17,
        "fisher_max_tokens": 64,
        "fisher_batch_size": 3,
        "fisher_cache_path": "/tmp/fisher.safetensors",
        "alignment_datasets": [{"path": "mine.jsonl", "type": "alpaca"}],
    }
    cfg = _validated(alignguard=block)
    assert cfg.adapter == "lora"
    assert alignguard_enabled(cfg)
    agl = agl_config_of(cfg)
    for key, value in block.items():
        got = getattr(agl, key)
        if key == "alignment_datasets":
            got = [d.model_dump(include={"path", "type"}) for d in got]
        assert got == value, key


def test_defaults_and_cpu_kernels_off():
    cfg = _validated()
    assert cfg.adapter == "lora"
    assert agl_config_of(cfg) == AlignGuardConfig(active=True)
    if not torch.cuda.is_available():
        assert cfg.lora_mlp_kernel is False and cfg.lora_qkv_kernel is False and cfg.lora_o_kernel is False


def test_user_kernel_setting_is_kept():
    cfg = DictDefault(copy.deepcopy(BASE) | {"lora_mlp_kernel": True})
    AlignGuardPlugin().register(cfg)
    assert cfg.lora_mlp_kernel is True


def test_load_in_4bit_becomes_qlora():
    cfg = _validated(load_in_4bit=True)
    assert cfg.adapter == "qlora"


def test_inert_without_alignguard_adapter():
    cfg = _validated(adapter="lora", alignguard={"lambda_alignment": 3.0})
    assert cfg.adapter == "lora"
    assert not alignguard_enabled(cfg)
    assert AlignGuardPlugin().get_trainer_cls(cfg) is None
    AlignGuardPlugin().post_trainer_create(cfg, trainer=None)  # must not touch the trainer


def test_trainer_class_selected():
    from axolotl_agl.integration.trainer import AlignGuardTrainer

    assert AlignGuardPlugin().get_trainer_cls(_validated()) is AlignGuardTrainer


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ({"lambda_alignment": -1.0}, r"alignguard\.lambda_alignment must be a finite number >= 0"),
        ({"lambda_task": float("nan")}, r"alignguard\.lambda_task must be a finite number >= 0"),
        ({"lambda_collision": float("inf")}, r"alignguard\.lambda_collision must be a finite number >= 0"),
        ({"alpha": 1.5}, r"alignguard\.alpha must lie in \[0, 1\]"),
        ({"alpha": -0.1}, r"alignguard\.alpha must lie in \[0, 1\]"),
        ({"rank_k": 0}, r"alignguard\.rank_k must be >= 1"),
        ({"split_damping": 0.0}, r"alignguard\.split_damping must be > 0"),
        ({"fisher_reply_tokens": 0}, r"alignguard\.fisher_reply_tokens must be >= 1"),
        ({"alignment_datasets": []}, r"alignguard\.alignment_datasets is an empty list"),
        ({"overlap_module_fraction": 0.0}, r"alignguard\.overlap_module_fraction must lie in \(0, 1\]"),
        ({"overlap_module_fraction": 1.5}, r"alignguard\.overlap_module_fraction must lie in \(0, 1\]"),
        ({"lambda_aligment": 1.0}, r"lambda_aligment"),  # typo: unknown keys are errors, not silently dropped
    ],
)
def test_invalid_values_are_rejected(block, match):
    with pytest.raises(Exception, match=match):
        _validated(alignguard=block)


def test_rejection_restores_the_users_adapter_value():
    raw = DictDefault(copy.deepcopy(BASE) | {"alignguard": {"alpha": 2.0}})
    prepare_plugins(raw)
    assert raw.adapter == "lora"
    with pytest.raises(Exception, match="alpha"):
        validate_config(raw)
    from axolotl.integrations.base import PluginManager

    manager = PluginManager.get_instance()
    # Axolotl calls this hook since 0.19; on older releases call the plugin's own hook.
    restore = getattr(manager, "on_config_validation_error", None) or manager.plugins[PLUGIN].on_config_validation_error
    restore(raw)
    assert raw.adapter == "alignguard"


def test_rl_is_rejected():
    with pytest.raises(ValueError, match=r"rl: 'dpo'.*remove `rl:`"):
        _validated(rl="dpo")


def test_rank_k_larger_than_module():
    factors = {"layers.0.q_proj": KFACFactors(torch.eye(8), torch.eye(4), tokens=1, examples=1)}
    with pytest.raises(ValueError, match=r"alignguard\.rank_k=5 is larger than module 'layers\.0\.q_proj'"):
        summarise_factors(factors, 5)


def test_missing_alignment_data_file(tmp_path):
    spec = AlignmentDataset(path=str(tmp_path / "missing.jsonl"))
    with pytest.raises(ValueError, match=r"alignguard\.alignment_datasets: could not read"):
        load_alignment_examples([spec], tokenizer=None, max_examples=4, max_tokens=16)
