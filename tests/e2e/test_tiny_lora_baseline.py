"""Harness check: a plain ``adapter: lora`` Axolotl run (no plugin) of the tiny model on CPU."""

import json
import re
from pathlib import Path

import pytest

from tests.helpers import run_axolotl_train, write_axolotl_config


@pytest.mark.e2e
def test_tiny_lora_baseline_run(tmp_path: Path, tiny_model_dir: Path, chat_data_path: Path) -> None:
    cfg = write_axolotl_config(
        tmp_path / "cfg.yml",
        base_model=tiny_model_dir,
        data_path=chat_data_path,
        max_steps=5,
    )
    proc = run_axolotl_train(cfg, timeout=600)

    out_dir = tmp_path / "out"
    assert (out_dir / "adapter_model.safetensors").is_file(), proc.stdout[-5000:]
    adapter_cfg = json.loads((out_dir / "adapter_config.json").read_text())
    assert adapter_cfg["peft_type"] == "LORA"
    assert adapter_cfg["r"] == 4
    assert set(adapter_cfg["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    # One log line per step (logging_steps: 1), each with a finite loss.
    losses = [float(x) for x in re.findall(r"'loss': '([0-9.]+)'", proc.stdout)]
    assert len(losses) == 5, proc.stdout[-5000:]
