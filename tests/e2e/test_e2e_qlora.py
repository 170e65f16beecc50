"""QLoRA for real on CPU: ``load_in_4bit: true`` + ``adapter: alignguard`` through the Axolotl CLI.

bitsandbytes 0.50.2 runs NF4 on the CPU, so the base layers are genuine ``Linear4bit`` modules: the
Fisher pass runs through them (hooks on the frozen 4-bit layers), the penalty is applied, and the
adapter saves as a plain PEFT LoRA.
"""

from __future__ import annotations

import json

import pytest

from axolotl_agl.experiments.launch import parse_step_logs
from tests.helpers import run_axolotl_train, write_axolotl_config

pytestmark = pytest.mark.e2e


def test_qlora_4bit_alignguard(tmp_path, tiny_model_dir, chat_data_path):
    config = write_axolotl_config(
        tmp_path / "qlora.yml",
        base_model=tiny_model_dir,
        data_path=chat_data_path,
        plugins=["axolotl_agl.AlignGuardPlugin"],
        adapter="alignguard",
        load_in_4bit=True,
        alignguard={"rank_k": 4, "fisher_num_samples": 16, "lambda_alignment": 10.0},
        max_steps=4,
    )
    out = run_axolotl_train(config).stdout
    assert "adapter: alignguard -> qlora" in out
    assert "base layers: Linear4bit" in out
    steps = parse_step_logs(out)
    assert len(steps) >= 4 and all("agl/penalty" in step for step in steps)
    assert float(steps[-1]["agl/penalty"]) > 0
    adapter = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA"
    assert (tmp_path / "out" / "adapter_model.safetensors").exists()
