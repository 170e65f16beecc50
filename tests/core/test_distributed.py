"""AlignGuard under real ``torch.distributed`` (2 CPU processes, gloo): DDP and FSDP2 (``fully_shard``, with and
without ``reshard_after_forward``).

Each rank adds the same penalty to its own task loss; after backward, the gradients of every LoRA
factor must equal the single-process reference ``mean_r ∇L_task(batch_r) + ∇P`` and the penalty value
must equal the single-process one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from axolotl_agl.experiments.launch import find_free_port  # noqa: E402
from tests.core.dist_penalty_worker import build_model_and_fishers, lora_grads, loss_of, penalty_of  # noqa: E402

WORKER = Path(__file__).parent / "dist_penalty_worker.py"


def _reference() -> tuple[float, dict[str, torch.Tensor]]:
    grads: dict[str, torch.Tensor] = {}
    for rank in (0, 1):
        model, fishers = build_model_and_fishers()
        loss_of(model, model, fishers, rank).backward()
        for name, grad in lora_grads(model).items():
            grads[name] = grads.get(name, 0) + grad / 2
    model, fishers = build_model_and_fishers()
    return float(penalty_of(model, fishers)), grads


def _run(mode: str, out: Path) -> None:
    torchrun = Path(sys.executable).parent / "torchrun"
    cmd = [str(torchrun), "--nproc_per_node", "2", "--master_port", str(find_free_port()), str(WORKER), mode, str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(Path(__file__).parents[2]))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


@pytest.mark.parametrize("mode", ["ddp", "fsdp2", "fsdp2-keep-unsharded"])
def test_penalty_and_gradients_match_single_process(tmp_path, mode):
    _run(mode, tmp_path)
    penalty, expected = _reference()
    for rank in (0, 1):
        got = load_file(str(tmp_path / f"rank{rank}.safetensors"))
        assert float(got["penalty"]) == pytest.approx(penalty, rel=1e-6)
        names = {k.removeprefix("grad::") for k in got if k.startswith("grad::")}
        assert names == set(expected), (sorted(names)[:4], sorted(expected)[:4])
        for name, grad in expected.items():
            torch.testing.assert_close(got[f"grad::{name}"], grad, rtol=1e-5, atol=1e-7, msg=f"{mode} {name}")
