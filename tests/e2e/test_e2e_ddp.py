"""Two CPU processes (gloo DDP) through the real CLI: the Fisher statistics are all-reduced, so the
2-process Fisher cache equals the 1-process one, and training logs every AlignGuard term."""

from __future__ import annotations

import pytest
import torch

from axolotl_agl.experiments.launch import parse_step_logs
from axolotl_agl.integration.fisher_cache import load_fisher_cache
from tests.helpers import run_axolotl_train, write_axolotl_config

pytestmark = pytest.mark.e2e


def _run(tmp, model_dir, data, processes: int):
    config = write_axolotl_config(
        tmp / f"p{processes}" / "agl.yml",
        base_model=model_dir,
        data_path=data,
        plugins=["axolotl_agl.AlignGuardPlugin"],
        adapter="alignguard",
        alignguard={"rank_k": 4, "fisher_num_samples": 16},
        max_steps=3,
    )
    out = run_axolotl_train(config, num_processes=processes).stdout
    summary, _ = load_fisher_cache(config.parent / "out" / "alignguard_fisher.safetensors")
    return out, summary


def test_ddp_two_processes_all_reduce_fisher(tmp_path, tiny_model_dir, chat_data_path):
    out2, two = _run(tmp_path, tiny_model_dir, chat_data_path, 2)
    steps = parse_step_logs(out2)
    assert len(steps) >= 3 and all("agl/penalty" in s for s in steps)
    _, one = _run(tmp_path, tiny_model_dir, chat_data_path, 1)
    assert set(one) == set(two)
    for name in one:
        for side in ("input_factor", "output_factor"):
            a, b = getattr(one[name], side), getattr(two[name], side)
            torch.testing.assert_close(b.values, a.values, rtol=1e-4, atol=1e-9)
            torch.testing.assert_close(b.residual, a.residual, rtol=1e-4, atol=1e-9)
