"""The forgetting curve end to end through the real Axolotl CLI (``accelerate launch -m axolotl.cli.train``).

The tiny model trains one epoch (64 chats, micro-batch 2: 32 steps) with ``alignguard.forgetting`` and
``adapter: lora`` or ``adapter: alignguard``. Checked: the records (steps, finite losses, and a token count equal to
the supervised tokens of the prepared dataset after one epoch), that plain LoRA gets no Fisher pass and no penalty,
the ``axolotl agl-forgetting`` / ``axolotl-agl forgetting`` commands, a resumed run, and two DDP processes.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from axolotl_agl.experiments.launch import parse_step_logs
from axolotl_agl.forgetting.fit import FORMS
from tests.helpers import run_axolotl_train, write_axolotl_config

pytestmark = pytest.mark.e2e

PLUGIN = "axolotl_agl.AlignGuardPlugin"
LOSSES = ("general_loss", "alignment_loss", "task_loss")
ENV = dict(os.environ, AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1", OMP_WAIT_POLICY="PASSIVE")


def _config(path: Path, model_dir: Path, data: Path, adapter: str, forgetting: dict, **overrides) -> Path:
    alignguard = {"forgetting": forgetting}
    if adapter == "alignguard":
        alignguard |= {"rank_k": 4, "fisher_num_samples": 16, "lambda_alignment": 10.0}
    settings = {"plugins": [PLUGIN], "max_steps": None, "num_epochs": 1} | overrides
    return write_axolotl_config(path, model_dir, data, adapter=adapter, alignguard=alignguard, **settings)


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "agl_forgetting.jsonl").read_text().splitlines()]


def _supervised_tokens_of_prepared_dataset(prepared: Path) -> int:
    from datasets import load_from_disk

    (dataset_dir,) = [p for p in prepared.iterdir() if p.is_dir()]
    dataset = load_from_disk(str(dataset_dir))
    return sum(sum(label != -100 for label in row["labels"][1:]) for row in dataset)


@pytest.fixture(scope="module")
def arms(tmp_path_factory, tiny_model_dir, chat_data_path) -> dict:
    tmp = tmp_path_factory.mktemp("forgetting_e2e")
    result = {}
    for adapter in ("lora", "alignguard"):
        config = _config(
            tmp / adapter / "cfg.yml", tiny_model_dir, chat_data_path, adapter, {"eval_steps": 8, "max_examples": 16}
        )
        result[adapter] = {"config": config, "out": config.parent / "out", "log": run_axolotl_train(config).stdout}
    return result


@pytest.mark.parametrize("adapter", ["lora", "alignguard"])
def test_records_at_the_expected_steps_with_finite_losses(arms, adapter):
    arm = arms[adapter]
    records = _records(arm["out"])
    assert [r["step"] for r in records] == [0, 8, 16, 24, 32]
    for record in records:
        assert set(record) == {"step", "tokens_seen", *LOSSES, "seconds", "eval_seconds"}
        assert all(math.isfinite(record[key]) and record[key] > 0 for key in LOSSES), record
    tokens = [r["tokens_seen"] for r in records]
    assert tokens[0] == 0 and all(b > a for a, b in zip(tokens, tokens[1:], strict=False))
    # One epoch: every supervised token of the prepared training data was counted exactly once.
    assert tokens[-1] == _supervised_tokens_of_prepared_dataset(arm["config"].parent / "prepared")
    assert records[-1]["task_loss"] < records[0]["task_loss"], "the task was not learnt"
    reference = [json.loads(line) for line in (arm["out"] / "agl_forgetting_reference.jsonl").read_text().splitlines()]
    assert len(reference) == 16 and all(row["answer_ids"] for row in reference)


def test_both_adapters_start_from_the_same_losses(arms):
    first = {adapter: _records(arms[adapter]["out"])[0] for adapter in arms}
    for key in LOSSES:
        assert first["lora"][key] == pytest.approx(first["alignguard"][key], rel=1e-6), key


def test_plain_lora_gets_no_fisher_pass_and_no_penalty(arms):
    lora, agl = arms["lora"], arms["alignguard"]
    assert "AlignGuard Fisher pass" not in lora["log"] and not (lora["out"] / "alignguard_fisher.safetensors").exists()
    assert not any(key.startswith("agl/") for step in parse_step_logs(lora["log"]) for key in step)
    assert "AlignGuard Fisher pass" in agl["log"]
    assert all("agl/penalty" in step for step in parse_step_logs(agl["log"]))
    assert "is ignored because adapter is" not in lora["log"]


def test_axolotl_agl_forgetting_fits_the_runs_and_writes_json_and_png(arms, tmp_path):
    axolotl = Path(sys.executable).parent / "axolotl"
    results = tmp_path / "results"
    runs = [f"lora={arms['lora']['config']}", f"agl={arms['alignguard']['out']}"]
    proc = subprocess.run(
        [str(axolotl), "agl-forgetting", *runs, "--out-dir", str(results), "--bootstrap", "200"],
        capture_output=True, text=True, timeout=600, env=ENV,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (json_file,) = results.glob("forgetting_fit_*.json")
    (png_file,) = results.glob("forgetting_fit_*.png")
    assert png_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png_file.stat().st_size > 10_000
    payload = json.loads(json_file.read_text())
    assert payload["metric"] == "general_loss" and set(payload["runs"]) == {"lora", "agl"}
    for label, run in payload["runs"].items():
        assert run["tokens"][0] == 0 and len(run["tokens"]) == 5
        assert run["selected"] in FORMS and set(run["fits"]) == set(FORMS)
        beta = run["fits"]["power_law"]["intervals"]["beta"]
        assert beta[0] <= run["fits"]["power_law"]["params"]["beta"] <= beta[1]
        assert f"{label}: general_loss, 5 points" in proc.stdout
    assert "selected:" in proc.stdout and str(json_file) in proc.stdout


def test_standalone_command_other_metric_and_a_missing_run(arms, tmp_path):
    script = Path(sys.executable).parent / "axolotl-agl"
    run_dir = str(arms["alignguard"]["out"])
    proc = subprocess.run(
        [str(script), "forgetting", run_dir, "--metric", "task_loss", "--out-dir", str(tmp_path), "--bootstrap", "50"],
        capture_output=True, text=True, timeout=300, env=ENV,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (json_file,) = tmp_path.glob("forgetting_fit_*.json")
    (run,) = json.loads(json_file.read_text())["runs"].values()
    assert run["metric"] == "task_loss" and run["losses"][-1] < run["losses"][0]
    missing = subprocess.run(
        [str(script), "forgetting", f"none={tmp_path}", "--out-dir", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=300, env=ENV,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "none (" in missing.stderr and "no forgetting records" in missing.stderr


# --------------------------------------------------------------------------------------------------------------
# Resuming: the records and the token count continue where the checkpoint left off
# --------------------------------------------------------------------------------------------------------------

CRASH_PLUGIN = """
import os

from axolotl.integrations.base import BasePlugin
from transformers import TrainerCallback


class _DieAtStepEnd(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == int(os.environ.get("AGL_TEST_CRASH_AT_STEP", "0")):
            print(f"AGL_TEST_CRASH at step {state.global_step}", flush=True)
            os._exit(17)


class CrashPlugin(BasePlugin):
    def add_callbacks_post_trainer(self, cfg, trainer):
        return [_DieAtStepEnd()]
"""


def test_resumed_run_continues_the_curve(tmp_path, tiny_model_dir, chat_data_path):
    """Evaluations every 3 steps, a checkpoint at step 4, a crash at step 6 (after its evaluation); then resume.

    The resumed run drops the step-6 record, takes the token count from the step-4 checkpoint (no record is at
    step 4), evaluates at 4, 6 and 8, and agrees with an uninterrupted run.
    """
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "agl_test_crash.py").write_text(CRASH_PLUGIN, encoding="utf-8")
    env = {"PYTHONPATH": str(tmp_path / "plugins")}

    def config(name: str) -> Path:
        return _config(
            tmp_path / name / "cfg.yml", tiny_model_dir, chat_data_path, "alignguard", {"eval_steps": 3, "max_examples": 8},
            plugins=[PLUGIN, "agl_test_crash.CrashPlugin"], max_steps=8, save_strategy="steps", save_steps=4,
            dataset_prepared_path=str(tmp_path / "prepared"), auto_resume_from_checkpoints=True,
        )  # fmt: skip

    interrupted = config("interrupted")
    with pytest.raises(AssertionError, match="exit status 17"):
        run_axolotl_train(interrupted, extra_env=env | {"AGL_TEST_CRASH_AT_STEP": "6"})
    out = interrupted.parent / "out"
    assert [r["step"] for r in _records(out)] == [0, 3, 6]
    assert json.loads((out / "checkpoint-4" / "agl_forgetting_state.json").read_text())["step"] == 4
    resumed_log = run_axolotl_train(interrupted, extra_env=env).stdout
    assert "reusing the base model's reference answers" in resumed_log
    full = config("full")
    run_axolotl_train(full, extra_env=env)
    resumed = {r["step"]: r for r in _records(out)}
    uninterrupted = {r["step"]: r for r in _records(full.parent / "out")}
    assert list(resumed) == [0, 3, 4, 6, 8] and list(uninterrupted) == [0, 3, 6, 8]
    for step, b in uninterrupted.items():
        a = resumed[step]
        assert a["tokens_seen"] == b["tokens_seen"], step
        for key in LOSSES:
            assert a[key] == pytest.approx(b[key], rel=1e-4), (step, key)


# --------------------------------------------------------------------------------------------------------------
# Two DDP processes: no deadlock, one set of records, tokens summed over ranks
# --------------------------------------------------------------------------------------------------------------


def test_two_ddp_processes_write_one_curve_with_tokens_summed_over_ranks(tmp_path, tiny_model_dir, chat_data_path):
    config = _config(
        tmp_path / "cfg.yml", tiny_model_dir, chat_data_path, "alignguard", {"eval_steps": 8, "max_examples": 8}
    )
    run_axolotl_train(config, num_processes=2, timeout=900)
    records = _records(tmp_path / "out")
    assert [r["step"] for r in records] == [0, 8, 16]  # 64 chats / (2 ranks x 2) = 16 steps
    assert all(math.isfinite(r[key]) for r in records for key in LOSSES)
    assert records[-1]["tokens_seen"] == _supervised_tokens_of_prepared_dataset(tmp_path / "prepared")
