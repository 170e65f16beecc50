"""Resuming: the Fisher cache is reused, the penalty state is the checkpoint's, and the result is the same.

End to end through the real Axolotl CLI (``run_axolotl_train``): a run is killed right after its step-3
checkpoint (a test plugin calls ``os._exit`` in ``on_save``, as a pre-empted job would die), then
resumed with ``auto_resume_from_checkpoints: true``; its final adapter must equal the adapter of an
uninterrupted 6-step run with the same config and seed (cosine schedule with warm-up, so the optimizer
and scheduler states matter too).

Why this needs the plugin: Axolotl 0.19 seeds only the trainer (``TrainingArguments.seed``), after the
LoRA layers were created, so the LoRA ``A`` matrices got a different random initialisation in every
run and no two runs with the same ``seed:`` matched (observed: max |ΔA| ≈ 0.25 for |A| ≤ 0.13 after 3
steps). ``AlignGuardPlugin.pre_lora_load`` now seeds the LoRA initialisation with ``seed:``. Data order
was never the problem: the prepared dataset is shuffled with ``seed:`` and Transformers skips the
batches already seen on resume.

In process: checkpoints record the Fisher checksum and settings, and a resumed run whose penalty differs
is reported (warning) or refused (``alignguard.fisher_cache: strict``).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from axolotl_agl.experiments.launch import parse_step_logs
from tests.helpers import run_axolotl_train, write_axolotl_config

CRASH_PLUGIN = """
import os

from axolotl.integrations.base import BasePlugin
from transformers import TrainerCallback


class _DieAfterSave(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        if state.global_step == int(os.environ.get("AGL_TEST_CRASH_AFTER_STEP", "0")):
            print(f"AGL_TEST_CRASH at step {state.global_step}", flush=True)
            os._exit(17)


class CrashPlugin(BasePlugin):
    def add_callbacks_post_trainer(self, cfg, trainer):
        return [_DieAfterSave()]
"""


def _config(tmp: Path, name: str, model_dir: Path, data: Path) -> Path:
    return write_axolotl_config(
        tmp / name / "cfg.yml",
        base_model=model_dir,
        data_path=data,
        plugins=["axolotl_agl.AlignGuardPlugin", "agl_test_crash.CrashPlugin"],
        adapter="alignguard",
        alignguard={"rank_k": 4, "fisher_num_samples": 8, "lambda_alignment": 10.0},
        dataset_prepared_path=str(tmp / "prepared"),  # shared: the runs tokenise the training data once
        max_steps=6,
        save_strategy="steps",
        save_steps=3,
        lr_scheduler="cosine",
        warmup_steps=2,
        auto_resume_from_checkpoints=True,
    )


def _adapter(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "adapter_model.safetensors"))


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_ino


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir, chat_data_path) -> dict:
    tmp = tmp_path_factory.mktemp("resume")
    (tmp / "plugins").mkdir()
    (tmp / "plugins" / "agl_test_crash.py").write_text(CRASH_PLUGIN, encoding="utf-8")
    # OMP_WAIT_POLICY=PASSIVE: on a busy machine, spinning OpenMP threads made each tiny step take seconds
    # (observed 13 s/step vs 0.4 s); it changes scheduling only, not the thread count or the arithmetic.
    env = {"PYTHONPATH": str(tmp / "plugins"), "OMP_WAIT_POLICY": "PASSIVE"}
    interrupted = _config(tmp, "interrupted", tiny_model_dir, chat_data_path)
    with pytest.raises(AssertionError, match="exit status 17") as crash:  # accelerate wraps our exit code
        run_axolotl_train(interrupted, extra_env=env | {"AGL_TEST_CRASH_AFTER_STEP": "3"})
    out = interrupted.parent / "out"
    cache = out / "alignguard_fisher.safetensors"
    state = {"crash": str(crash.value), "out": out, "cache_identity": _identity(cache)}
    state["checkpoint_files"] = sorted(p.name for p in (out / "checkpoint-3").iterdir())
    state["had_final_adapter"] = (out / "adapter_model.safetensors").exists()
    state["checkpoint3_interrupted"] = _adapter(out / "checkpoint-3")
    state["resumed"] = run_axolotl_train(interrupted, extra_env=env).stdout
    full = _config(tmp, "full", tiny_model_dir, chat_data_path)
    state["full"] = run_axolotl_train(full, extra_env=env).stdout
    state["full_out"] = full.parent / "out"
    return state


@pytest.mark.e2e
def test_interrupted_run_left_a_checkpoint_with_the_penalty_state(runs):
    assert "AGL_TEST_CRASH at step 3" in runs["crash"]
    assert not runs["had_final_adapter"]
    assert "alignguard_state.json" in runs["checkpoint_files"]
    assert {"adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json"} <= set(
        runs["checkpoint_files"]
    )
    record = json.loads((runs["out"] / "checkpoint-3" / "alignguard_state.json").read_text())
    assert len(record["fisher_checksum"]) == 64 and len(record["modules"]) == 14
    assert record["settings"]["lambda_alignment"] == 10.0


@pytest.mark.e2e
def test_resume_reuses_the_fisher_cache_and_penalty_state(runs):
    resumed = runs["resumed"]
    assert "Using auto-resume functionality to resume from checkpoint at" in resumed
    assert "reusing Fisher cache" in resumed
    assert "AlignGuard Fisher pass" not in resumed, "the Fisher pass ran again"
    assert "with the same Fisher state and settings" in resumed
    cache = runs["out"] / "alignguard_fisher.safetensors"
    assert _identity(cache) == runs["cache_identity"], "the cache was rewritten"
    assert [round(float(s["epoch"]), 4) for s in parse_step_logs(resumed)] == [0.125, 0.1562, 0.1875]


@pytest.mark.e2e
def test_resumed_run_ends_with_the_uninterrupted_adapter(runs):
    # Float tolerance, not bitwise: with 2 intra-op threads the reduction order of a few kernels may differ
    # between processes (observed once: |Δ| <= 1e-8 on weights of size ~0.1, in the first leg already).
    close = {"rtol": 1e-5, "atol": 1e-7}
    full_ckpt = _adapter(runs["full_out"] / "checkpoint-3")
    for name, value in runs["checkpoint3_interrupted"].items():
        torch.testing.assert_close(value, full_ckpt[name], **close)  # the first leg is reproducible
    resumed, full = _adapter(runs["out"]), _adapter(runs["full_out"])
    assert resumed.keys() == full.keys() and len(full) == 28
    assert max(v.abs().max().item() for k, v in full.items() if "lora_B" in k) > 1e-3, "the adapter did not train"
    for name, value in full.items():
        torch.testing.assert_close(resumed[name], value, **close)
    # The logged loss and penalty terms of steps 4-6 agree too (to the 4 significant digits printed).
    for after_resume, uninterrupted in zip(
        parse_step_logs(runs["resumed"]), parse_step_logs(runs["full"])[3:], strict=True
    ):
        for key in ("loss", "agl/fisher", "agl/stabiliser", "agl/overlap", "agl/geodesic", "agl/penalty"):
            a, b = float(after_resume[key]), float(uninterrupted[key])
            assert math.isclose(a, b, rel_tol=2e-3, abs_tol=1e-6), (key, a, b)


# --------------------------------------------------------------------------------------------------------------
# In process: the checkpoint record and the check on resume
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def trainer(tmp_path):
    pytest.importorskip("axolotl")
    from tests.integration.test_numerics import _trainer

    return _trainer(tmp_path, tmp_path / "cache", max_steps=2)


def _checkpoint_with(trainer, tmp_path: Path, **changes) -> Path:
    record = trainer.alignguard_state_record()
    for key, value in changes.items():
        if key in record:
            record[key] = value
        else:
            record["settings"][key] = value
    checkpoint = tmp_path / "out" / "checkpoint-1"
    checkpoint.mkdir(parents=True)
    (checkpoint / "alignguard_state.json").write_text(json.dumps(record))
    return checkpoint


def test_checkpoints_record_the_fisher_checksum(trainer):
    trainer.args.save_strategy = "steps"
    trainer.args.save_steps = 1
    trainer.train()
    record = json.loads((Path(trainer.args.output_dir) / "checkpoint-2" / "alignguard_state.json").read_text())
    assert record == trainer.alignguard_state_record()
    assert record["fisher_checksum"] == trainer.agl_fisher_checksum and len(record["fisher_checksum"]) == 64


def test_resume_with_another_penalty_warns(trainer, tmp_path, caplog):
    checkpoint = _checkpoint_with(trainer, tmp_path, fisher_checksum="0" * 64, lambda_alignment=1.0)
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        trainer.check_resume_state(checkpoint)
    assert f"AlignGuard: resuming from {checkpoint}, but the penalty differs from the one it was trained with" in (
        caplog.text
    )
    assert "lambda_alignment: checkpoint 1.0, now 5.0" in caplog.text
    assert "the Fisher summary differs (the cache was rebuilt or replaced)" in caplog.text


def test_resume_with_another_penalty_is_refused_under_strict(trainer, tmp_path):
    trainer.agl_config = trainer.agl_config.model_copy(update={"fisher_cache": "strict"})
    checkpoint = _checkpoint_with(trainer, tmp_path, fisher_checksum="0" * 64)
    with pytest.raises(RuntimeError, match=r"the Fisher summary differs .*\(alignguard\.fisher_cache: strict\)"):
        trainer.train(resume_from_checkpoint=str(checkpoint))
    assert trainer.state.global_step == 0
