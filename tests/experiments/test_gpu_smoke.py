"""benchmarks/gpu_smoke.py on CPU: its configs (validated by the installed Axolotl), log parsing, and each check on
real artefacts (a Fisher cache from a real Fisher pass, a saved PEFT adapter), passing and failing; the e2e case runs
the whole driver with ``--device cpu`` through the real Axolotl CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import gpu_smoke  # noqa: E402

from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample  # noqa: E402
from axolotl_agl.core.fisher_state import LowRankFactor, ModuleFisher  # noqa: E402
from axolotl_agl.integration.args import AlignGuardConfig  # noqa: E402
from axolotl_agl.integration.fisher_cache import load_fisher_cache, save_fisher_cache  # noqa: E402
from axolotl_agl.integration.precompute import obtain_fisher_summary  # noqa: E402


def gpu_config(method: str, setting: str, tmp_path: Path, model: str = "some/model", flash: bool = True) -> dict:
    return gpu_smoke.smoke_config(
        method,
        setting,
        model=model,
        task_data=tmp_path / "task.jsonl",
        work=tmp_path,
        steps=20,
        device="cuda",
        flash_available=flash,
        wrap_cls="LlamaDecoderLayer",
    )


# ---------------------------------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------------------------------


def test_qlora_case_selects_4bit_flash_attention_and_leaves_the_kernels_to_axolotl(tmp_path):
    agl, lora = gpu_config("agl", "qlora", tmp_path), gpu_config("lora", "qlora", tmp_path)
    assert agl["adapter"] == "alignguard" and agl["plugins"] == [gpu_smoke.PLUGIN] and lora["adapter"] == "qlora"
    for cfg in (agl, lora):
        assert cfg["load_in_4bit"] and cfg["flash_attention"] and cfg["sample_packing"] and cfg["bf16"]
        assert not any(flag in cfg for flag in gpu_smoke.KERNEL_FLAGS)  # unset: Axolotl's default (on) applies
    assert agl["alignguard"]["fisher_cache"] == "rebuild"  # the Fisher pass runs every time, under the kernels
    own = {"plugins", "adapter", "alignguard", "output_dir", "dataset_prepared_path"}
    assert {k: v for k, v in agl.items() if k not in own} == {k: v for k, v in lora.items() if k not in own}


def test_without_flash_attn_the_case_uses_sdpa_without_packing(tmp_path):
    cfg = gpu_config("agl", "qlora", tmp_path, flash=False)
    assert cfg["sdp_attention"] and not cfg["sample_packing"] and "flash_attention" not in cfg


def test_fsdp2_case_wraps_the_decoder_layers(tmp_path, tiny_model_dir):
    wrap = gpu_smoke.decoder_layer_class(tiny_model_dir)
    assert wrap == "LlamaDecoderLayer"
    cfg = gpu_config("agl", "fsdp2", tmp_path)
    assert cfg["fsdp_version"] == 2 and cfg["fsdp_config"]["transformer_layer_cls_to_wrap"] == wrap
    assert "load_in_4bit" not in cfg and cfg["adapter"] == "alignguard"
    with pytest.raises(ValueError, match="wrap_cls"):
        gpu_smoke.setting_overrides("fsdp2", "cuda", True, None)


def test_cpu_mode_drops_the_gpu_only_settings(tmp_path):
    cfg = gpu_smoke.smoke_config(
        "agl",
        "qlora",
        model="m",
        task_data="t",
        work=tmp_path,
        steps=2,
        device="cpu",
        flash_available=False,
        wrap_cls=None,
    )
    assert not any(key in cfg for key in ("load_in_4bit", "flash_attention", "fsdp_config", "sample_packing"))
    assert cfg["bf16"] is False and cfg["lora_mlp_kernel"] is False


def test_gpu_configs_are_valid_for_the_installed_axolotl(
    tmp_path, tiny_model_dir, chat_data_path, fresh_plugin_manager
):
    """``load_cfg`` (what ``axolotl train`` runs first) accepts all four GPU configs; for LoRA the unset kernel flags
    come out on (Axolotl's default), 4-bit and flash-attention stay selected, FSDP2 stays version 2."""
    from axolotl.cli.config import load_cfg

    for setting in gpu_smoke.SETTINGS:
        for method in gpu_smoke.METHODS:
            cfg = gpu_config(method, setting, tmp_path, model=str(tiny_model_dir))
            cfg["datasets"][0]["path"] = str(chat_data_path)
            path = tmp_path / f"{method}-{setting}.yml"
            path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
            loaded = load_cfg(str(path))
            if setting == "qlora":
                assert loaded.load_in_4bit and loaded.adapter == "qlora"
                assert loaded.attn_implementation == "flash_attention_2" or loaded.flash_attention
            else:
                assert loaded.fsdp_version == 2
            if method == "lora":
                assert loaded.lora_mlp_kernel and loaded.lora_qkv_kernel and loaded.lora_o_kernel
            else:
                assert loaded.alignguard is not None


# ---------------------------------------------------------------------------------------------------------------------
# Reading a run's output
# ---------------------------------------------------------------------------------------------------------------------

RUN_LOG = """\
[2026-12-02 10:00:00] [INFO] Auto-enabling LoRA kernel optimizations for faster training.
[INFO] [axolotl_agl.integration.precompute] AlignGuard: Fisher pass with 90 fused LoRA kernel patch(es) undone
[INFO] [axolotl_agl.integration.precompute] AlignGuard: Fisher pass over 64 examples took 7.25s; saved /x/f.safetensors
{'loss': 2.5, 'grad_norm': 1.0, 'agl/fisher': 0.0, 'agl/penalty': 0.1, 'memory/max_allocated (GiB)': 1.5, 'epoch': 0.1}
 10%|#         | 1/10 [00:01<00:09]\r{'loss': 2.25, 'agl/fisher': 0.25, 'agl/penalty': 0.5, \
'memory/max_allocated (GiB)': 1.75, 'memory/device_reserved (GiB)': 2.0, 'epoch': 0.2}
{'train_runtime': 12.5, 'train_samples_per_second': 8.0, 'train_steps_per_second': 0.8, 'train_loss': 2.4}
"""


def test_parse_run_log_reads_steps_runtime_memory_and_the_fisher_lines():
    run = gpu_smoke.parse_run_log(RUN_LOG)
    assert [s["loss"] for s in run["steps"]] == [2.5, 2.25]
    assert run["train_metrics"]["train_runtime"] == 12.5
    assert run["peak_memory"] == {"memory/max_allocated (GiB)": 1.75, "memory/device_reserved (GiB)": 2.0}
    assert run["fisher_seconds"] == 7.25 and run["kernel_patches_undone"] == 90 and run["kernels_auto_enabled"]
    bare = gpu_smoke.parse_run_log("{'loss': 1.0}\n")
    assert bare["kernel_patches_undone"] == 0 and bare["fisher_seconds"] is None and not bare["kernels_auto_enabled"]


def test_agl_terms_check_needs_every_term_on_every_step_and_non_zero_at_the_end():
    terms = ("agl/fisher", "agl/penalty")
    good = [{"agl/fisher": 0.0, "agl/penalty": 0.0}, {"agl/fisher": 0.3, "agl/penalty": 0.2}]
    assert gpu_smoke.agl_terms_check(good, terms)["ok"]  # zero at B = 0 (first step) is expected
    missing = gpu_smoke.agl_terms_check([{"agl/fisher": 0.1}, {"agl/fisher": 0.3, "agl/penalty": 0.2}], terms)
    assert not missing["ok"] and missing["absent"] == ["agl/penalty"]
    stuck = gpu_smoke.agl_terms_check([{"agl/fisher": 0.0, "agl/penalty": 0.2}] * 2, terms)
    assert not stuck["ok"] and stuck["zero_in_last_step"] == ["agl/fisher"]
    assert not gpu_smoke.agl_terms_check([], terms)["ok"]


def test_pair_comparison_gives_step_time_memory_and_ratios():
    lora = gpu_smoke.parse_run_log(RUN_LOG.replace("12.5", "10.0"))
    agl = gpu_smoke.parse_run_log(RUN_LOG)
    comp = gpu_smoke.pair_comparison(lora, agl, steps=10)
    assert comp["step_seconds"] == {"lora": 1.0, "agl": 1.25, "agl_over_lora": 1.25}
    assert comp["peak_memory_gib"]["agl_over_lora"] == 1.0 and comp["agl_fisher_seconds"] == 7.25


# ---------------------------------------------------------------------------------------------------------------------
# The checks on real artefacts
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def trained_adapter(tmp_path, tiny_model_dir):
    """A PEFT adapter with random non-zero B saved from the tiny model, and a real Fisher cache of its modules."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    lora = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    model = get_peft_model(base, lora)
    adapter_dir = tmp_path / "adapter"
    model.save_pretrained(str(adapter_dir))
    gen = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    examples = []
    for _ in range(6):
        ids = torch.randint(3, vocab, (12,), generator=gen).tolist()
        examples.append(TokenizedExample(ids, [IGNORE_INDEX] * 4 + ids[4:]))

    class _Tokenizer:
        pad_token_id, eos_token_id = 0, 1

    agl = AlignGuardConfig(rank_k=2, fisher_batch_size=3, fisher_cache_path=str(adapter_dir / gpu_smoke.FISHER_CACHE))
    obtain_fisher_summary(
        model, _Tokenizer(), agl, base_model="tiny", output_dir=str(tmp_path), show_progress=False, examples=examples
    )
    return adapter_dir


def test_fisher_coverage_passes_on_a_real_fisher_pass_and_names_what_is_missing_or_zero(trained_adapter, tmp_path):
    cache = trained_adapter / gpu_smoke.FISHER_CACHE
    report = gpu_smoke.fisher_coverage(cache, trained_adapter)
    targets = gpu_smoke.adapter_lora_modules(trained_adapter)
    assert report["ok"] and report["targets"] == report["fisher_modules"] == len(targets) > 0
    assert all(name.startswith("model.layers.") for name in targets)

    summary, metadata = load_fisher_cache(cache)
    dropped = sorted(summary)[0]
    partial = {name: fisher for name, fisher in summary.items() if name != dropped}
    meta = {k: v for k, v in metadata.items() if k not in ("checksum", "modules", "format_version")}
    save_fisher_cache(tmp_path / "partial.safetensors", partial, meta)
    missing = gpu_smoke.fisher_coverage(tmp_path / "partial.safetensors", trained_adapter)
    assert not missing["ok"] and missing["missing"] == [dropped]

    def zeroed(factor: LowRankFactor) -> LowRankFactor:
        return LowRankFactor(factor.vectors, torch.zeros_like(factor.values), torch.zeros_like(factor.residual))

    unseen = dict(summary)
    unseen[dropped] = ModuleFisher(zeroed(summary[dropped].output_factor), zeroed(summary[dropped].input_factor))
    save_fisher_cache(tmp_path / "unseen.safetensors", unseen, meta)
    zero = gpu_smoke.fisher_coverage(tmp_path / "unseen.safetensors", trained_adapter)
    assert not zero["ok"] and zero["zero_statistics"] == [dropped] and not zero["missing"]


def test_peft_load_check_loads_every_tensor_and_sees_the_adapter_change_the_logits(trained_adapter, tiny_model_dir):
    report = gpu_smoke.peft_load_check(tiny_model_dir, trained_adapter, "cpu")
    assert report["ok"] and report["tensors_loaded"] == report["tensors_saved"] > 0 and report["max_logit_change"] > 0


def test_peft_load_check_fails_for_an_adapter_that_changes_nothing(tmp_path, tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"]))  # B = 0
    model.save_pretrained(str(tmp_path / "noop"))
    report = gpu_smoke.peft_load_check(tiny_model_dir, tmp_path / "noop", "cpu")
    assert not report["ok"] and report["max_logit_change"] == 0.0 and report["tensors_loaded"] > 0


# ---------------------------------------------------------------------------------------------------------------------
# The whole driver, on CPU, through the real Axolotl CLI
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_driver_on_cpu_trains_both_methods_and_passes_every_check(tmp_path, tiny_model_dir, chat_data_path):
    out = tmp_path / "smoke.json"
    argv = ["--device", "cpu", "--model", str(tiny_model_dir), "--task-data", str(chat_data_path)]
    argv += ["--work", str(tmp_path / "work"), "--out", str(out), "--steps", "3", "--fisher-samples", "8"]
    status = gpu_smoke.main(argv)
    report = json.loads(out.read_text())
    assert status == 0 and report["ok"], json.dumps(report["checks"], indent=1)
    assert set(report["cases"]) == {"lora-qlora", "agl-qlora"}
    checks = report["checks"]["agl-qlora"]
    assert set(checks) == {"trained", "fisher_covers_targets", "agl_terms_logged", "adapter_loads_in_peft"}
    assert checks["fisher_covers_targets"]["targets"] > 0
    assert report["comparison"]["qlora"]["step_seconds"]["agl"] > 0
