"""End to end through the real Axolotl CLI: ``accelerate launch -m axolotl.cli.train`` with
``adapter: alignguard`` on a tiny local model, then plain PEFT loading and ``axolotl merge-lora``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from axolotl_agl.experiments.launch import parse_step_logs
from tests.helpers import run_axolotl_train, write_axolotl_config

pytestmark = pytest.mark.e2e

AGL_KEYS = {"agl/fisher", "agl/stabiliser", "agl/overlap", "agl/geodesic", "agl/penalty"}


def _alignguard_config(tmp: Path, model_dir: Path, data: Path, **overrides) -> Path:
    return write_axolotl_config(
        tmp / "agl.yml",
        base_model=model_dir,
        data_path=data,
        plugins=["axolotl_agl.AlignGuardPlugin"],
        adapter="alignguard",
        alignguard={"rank_k": 4, "fisher_num_samples": 24, "lambda_alignment": 10.0},
        # Leave the Triton kernels unset: the plugin must switch them off on CPU.
        lora_mlp_kernel=None,
        lora_qkv_kernel=None,
        lora_o_kernel=None,
        **({"max_steps": 10} | overrides),
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir, chat_data_path) -> dict:
    tmp = tmp_path_factory.mktemp("agl_e2e")
    config = _alignguard_config(tmp, tiny_model_dir, chat_data_path)
    first = run_axolotl_train(config)
    cache = tmp / "out" / "alignguard_fisher.safetensors"
    stat_after_first = cache.stat()
    second = run_axolotl_train(config)
    return {
        "tmp": tmp,
        "config": config,
        "first": first.stdout,
        "second": second.stdout,
        "cache": cache,
        "cache_stat": (stat_after_first.st_mtime_ns, stat_after_first.st_ino),
    }


def test_trains_ten_steps_and_logs_every_term(trained):
    steps = parse_step_logs(trained["first"])
    assert len(steps) >= 10
    for step in steps:
        assert AGL_KEYS <= set(step), f"missing agl terms in {step}"
    # After the first update (B != 0) every term is active.
    last = steps[-1]
    for key in ("agl/stabiliser", "agl/overlap", "agl/geodesic", "agl/penalty"):
        assert float(last[key]) > 0, (key, last)
    assert "AlignGuard Fisher pass" in trained["first"]


def test_second_run_reuses_fisher_cache(trained):
    assert "reusing Fisher cache" in trained["second"]
    assert "AlignGuard Fisher pass" not in trained["second"]
    stat = trained["cache"].stat()
    assert (stat.st_mtime_ns, stat.st_ino) == trained["cache_stat"], "cache was rewritten"


def test_saved_adapter_is_plain_peft_lora(trained, tiny_model_dir):
    out = trained["tmp"] / "out"
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["peft_type"] == "LORA"
    script = f"""
import sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
base = AutoModelForCausalLM.from_pretrained({str(tiny_model_dir)!r})
model = PeftModel.from_pretrained(base, {str(out)!r})
ids = torch.tensor([[1, 2, 3, 4]])
with torch.no_grad():
    before = model(ids).logits
merged = model.merge_and_unload()
with torch.no_grad():
    after = merged(ids).logits
assert torch.allclose(before, after, atol=1e-5), (before - after).abs().max()
assert not any(name.startswith("axolotl_agl") for name in sys.modules), "axolotl_agl was imported"
print("PLAIN_PEFT_OK")
"""
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=trained["tmp"], env=env, timeout=300
    )
    assert "PLAIN_PEFT_OK" in proc.stdout, proc.stderr[-3000:]


def test_axolotl_merge_lora(trained):
    out = trained["tmp"] / "out"
    axolotl = Path(sys.executable).parent / "axolotl"
    proc = subprocess.run(
        [str(axolotl), "merge-lora", str(trained["config"]), "--lora-model-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1"),
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    merged = out / "merged"
    assert any(merged.glob("*.safetensors")), list(merged.iterdir()) if merged.exists() else "no merged dir"


def test_agl_fisher_command_writes_a_cache_that_training_reuses(tmp_path, tiny_model_dir, chat_data_path):
    """``axolotl agl-fisher cfg.yml`` (the ``axolotl.cli_commands`` entry point) computes the cache alone."""
    config = _alignguard_config(tmp_path, tiny_model_dir, chat_data_path, max_steps=2)
    axolotl = Path(sys.executable).parent / "axolotl"
    env = dict(os.environ, AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1", OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run(
        [str(axolotl), "agl-fisher", str(config)], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "AlignGuard Fisher cache computed" in proc.stdout
    assert (tmp_path / "out" / "alignguard_fisher.safetensors").exists()
    assert "reusing Fisher cache" in run_axolotl_train(config).stdout


def test_task_replies_fisher_from_agl_fisher_is_reused_by_training(tmp_path, tiny_model_dir, chat_data_path):
    """``fisher_replies: task``: ``agl-fisher`` and training draw the same training replies (same tokenised rows,
    same seed), so the cache the command writes is the one training reuses; it holds only unsafe prompts."""
    from axolotl_agl.integration.fisher_cache import load_fisher_cache

    config = _alignguard_config(tmp_path, tiny_model_dir, chat_data_path, max_steps=2)
    text = config.read_text().replace("lambda_alignment: 10.0", "lambda_alignment: 10.0\n  fisher_replies: task")
    assert "fisher_replies: task" in text
    config.write_text(text)
    axolotl = Path(sys.executable).parent / "axolotl"
    env = dict(os.environ, AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1", OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run(
        [str(axolotl), "agl-fisher", str(config)], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    _, metadata = load_fisher_cache(tmp_path / "out" / "alignguard_fisher.safetensors")
    assert metadata["fisher_replies"] == "task" and metadata["fisher_type"] == "empirical"
    assert metadata["fisher_reply_tokens"] == "8" and metadata["num_examples"] == "24"
    out = run_axolotl_train(config).stdout
    assert "reusing Fisher cache" in out, out[-3000:]
    assert "paired with the first 8 tokens of training replies" in out
