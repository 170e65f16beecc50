"""Numerical faults never poison the adapter silently; the penalty stays fp32 under bf16/fp16 autocast.

* NaN/Inf in the Fisher statistics stops before anything is cached;
* a cache holding NaN (with a valid checksum) is refused: strict stops, reuse recomputes;
* a non-finite penalty term stops training at that step (``on_nonfinite: error``: the step's update is
  never applied) or leaves that step's penalty out (``skip``);
* the penalty computed through ``AlignGuardTrainer.compute_loss`` under autocast is float32 and equals
  the float32 reference.
"""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch

pytest.importorskip("axolotl")

from axolotl.core.training_args import AxolotlTrainingArguments  # noqa: E402
from datasets import Dataset  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import TrainerCallback, default_data_collator  # noqa: E402

import axolotl_agl.integration.precompute as precompute  # noqa: E402
import axolotl_agl.integration.trainer as trainer_module  # noqa: E402
from axolotl_agl.core.lora_modules import find_lora_linears  # noqa: E402
from axolotl_agl.core.penalty import combine_terms, compute_module_terms  # noqa: E402
from axolotl_agl.integration.args import AlignGuardConfig  # noqa: E402
from axolotl_agl.integration.fisher_cache import (  # noqa: E402
    FORMAT_VERSION,
    FisherCacheError,
    _file_layout,
    save_fisher_cache,
    summary_checksum,
)
from axolotl_agl.integration.precompute import FisherNonFiniteError  # noqa: E402
from axolotl_agl.integration.trainer import AlignGuardTrainer  # noqa: E402
from tests.integration.test_cache import obtain, tiny_peft_model  # noqa: E402

# --------------------------------------------------------------------------------------------------------------
# Fisher statistics and cache
# --------------------------------------------------------------------------------------------------------------


def test_nan_in_fisher_statistics_stops_before_caching(tmp_path, monkeypatch):
    real = precompute.collect_kfac_factors

    def poisoned(*args, **kwargs):
        factors = real(*args, **kwargs)
        first = next(iter(factors.values()))
        first.grad_moment[0, 0] = float("nan")
        return factors

    monkeypatch.setattr(precompute, "collect_kfac_factors", poisoned)
    with pytest.raises(
        FisherNonFiniteError, match=r"Fisher statistics of 1 module\(s\) contain NaN/Inf .*nothing was cached"
    ):
        obtain(tmp_path)
    assert not any(tmp_path.iterdir()), "a poisoned Fisher must not be cached"


def test_save_refuses_a_non_finite_summary(tmp_path):
    result = obtain(tmp_path / "ok")
    name = next(iter(result.summary))
    result.summary[name].input_factor.values[0] = float("inf")
    with pytest.raises(ValueError, match=r"refusing to write Fisher cache .*non-finite values"):
        save_fisher_cache(tmp_path / "bad.safetensors", result.summary, result.metadata)
    assert not (tmp_path / "bad.safetensors").exists()


def _write_nan_cache(tmp_path) -> None:
    """A cache whose checksum is valid but whose tensors hold NaN (written around save_fisher_cache's guard)."""
    result = obtain(tmp_path)
    name = next(iter(result.summary))
    result.summary[name].output_factor.vectors[0, 0] = float("nan")
    tensors, module_factors = _file_layout(result.summary)
    meta = {k: v for k, v in result.metadata.items() if k != "checksum"}
    meta.update(
        format_version=FORMAT_VERSION,
        modules=json.dumps(sorted(result.summary)),
        module_factors=json.dumps(module_factors),
        checksum=summary_checksum(result.summary),
    )
    save_file(tensors, str(result.path), metadata=meta)


def test_nan_cache_stops_under_strict(tmp_path):
    _write_nan_cache(tmp_path)
    with pytest.raises(FisherCacheError, match=r"contains NaN/Inf values .*\(alignguard\.fisher_cache: strict\)"):
        obtain(tmp_path, fisher_cache="strict")


def test_nan_cache_is_recomputed_under_reuse(tmp_path, caplog):
    _write_nan_cache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        result = obtain(tmp_path)
    assert not result.reused and "contains NaN/Inf values" in caplog.text
    assert all(
        bool(torch.isfinite(t).all())
        for f in result.summary.values()
        for t in (f.output_factor.vectors, f.input_factor.vectors)
    )


# --------------------------------------------------------------------------------------------------------------
# Non-finite penalty during training
# --------------------------------------------------------------------------------------------------------------


def _dataset(n: int = 8) -> Dataset:
    gen = torch.Generator().manual_seed(2)
    rows = []
    for _ in range(n):
        ids = torch.randint(2, 40, (8,), generator=gen).tolist()
        rows.append({"input_ids": ids, "labels": list(ids), "attention_mask": [1] * 8})
    return Dataset.from_list(rows)


def _lora_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


class _Snapshots(TrainerCallback):
    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.after_step: dict[int, dict[str, torch.Tensor]] = {}

    def on_step_end(self, args, state, control, **kwargs):
        self.after_step[state.global_step] = _lora_state(self.model)


def _trainer(tmp_path, tmp_cache, on_nonfinite: str = "error", bf16: bool = False, max_steps: int = 3):
    model = tiny_peft_model(("q_proj", "down_proj"))
    fisher = obtain(tmp_cache, model=model)
    args = AxolotlTrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=2,
        max_steps=max_steps,
        learning_rate=0.05,
        optim="sgd",
        lr_scheduler_type="constant",
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        use_cpu=True,
        bf16=bf16,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = AlignGuardTrainer(model=model, args=args, train_dataset=_dataset(), data_collator=default_data_collator)
    agl = AlignGuardConfig(rank_k=3, lambda_alignment=5.0, on_nonfinite=on_nonfinite)
    handles = {h.name: h for h in find_lora_linears(model)}
    trainer.set_alignguard_state(agl, [(handles[n], f) for n, f in fisher.summary.items()], fisher.metadata["checksum"])
    return trainer


def _poison_penalty_at(trainer: AlignGuardTrainer, step: int) -> str:
    """From optimiser step ``step`` (1-based) on, the penalty reads a LoRA ``A`` holding NaN (the model does not)."""
    handle = trainer.agl_modules[0][0]
    real = handle.factors

    def factors():
        a, b = real()
        if trainer.state.global_step + 1 >= step:
            a = a.clone()
            a[0, 0] = float("nan")
        return a, b

    handle.factors = factors
    return handle.name


def test_nonfinite_penalty_stops_at_that_step_without_updating(tmp_path):
    trainer = _trainer(tmp_path, tmp_path / "cache")
    snapshots = _Snapshots(trainer.model)
    trainer.add_callback(snapshots)
    module = _poison_penalty_at(trainer, step=2)
    with pytest.raises(FloatingPointError) as info:
        trainer.train()
    message = str(info.value)
    assert message.startswith("AlignGuard penalty is not finite at step 2: terms {")
    assert f"(modules ['{module}'])" in message
    assert "alignguard.on_nonfinite: skip leaves such steps' penalty out instead of stopping" in message
    assert sorted(snapshots.after_step) == [1]
    now = _lora_state(trainer.model)
    for name, value in snapshots.after_step[1].items():
        assert torch.equal(now[name], value), f"{name} was updated by the poisoned step"
        assert bool(torch.isfinite(now[name]).all())


def test_nan_lora_weight_stops_training_naming_the_module(tmp_path):
    trainer = _trainer(tmp_path, tmp_path / "cache")
    handle = trainer.agl_modules[1][0]

    class _Diverge(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 1:
                with torch.no_grad():
                    handle.module.lora_B[handle.adapter].weight[0, 0] = float("inf")

    trainer.add_callback(_Diverge())
    with pytest.raises(FloatingPointError, match=rf"not finite at step 2: .*\(modules \['{handle.name}'\]\)"):
        trainer.train()


def test_nonfinite_penalty_is_skipped_with_a_count(tmp_path, caplog):
    trainer = _trainer(tmp_path, tmp_path / "cache", on_nonfinite="skip")
    _poison_penalty_at(trainer, step=2)
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        trainer.train()
    assert trainer.state.global_step == 3 and trainer.agl_nonfinite_skips == 2
    assert "Skipped this step's penalty (2 so far)" in caplog.text
    logged = [entry for entry in trainer.state.log_history if "agl/nonfinite_skips" in entry]
    assert [entry["agl/nonfinite_skips"] for entry in logged] == [1.0, 2.0]
    assert all(bool(torch.isfinite(v).all()) for v in _lora_state(trainer.model).values())
    assert math.isfinite(trainer.state.log_history[0]["agl/penalty"])  # step 1 had its penalty


# --------------------------------------------------------------------------------------------------------------
# fp32 penalty under autocast
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def record_terms(monkeypatch):
    """Record the dtypes of the penalty and its terms and whether autocast was on when the trainer computed them."""
    seen = []
    real = trainer_module.StackedPenalty.penalty

    def recording(self, *args, **kwargs):
        autocast = torch.is_autocast_enabled("cpu")
        total, agg = real(self, *args, **kwargs)
        seen.append({"autocast": autocast, "dtypes": {total.dtype} | {t.dtype for t in agg.values()}})
        return total, agg

    monkeypatch.setattr(trainer_module.StackedPenalty, "penalty", recording)
    return seen


def _reference_penalty(trainer: AlignGuardTrainer) -> torch.Tensor:
    cfg = trainer.agl_config
    terms = []
    for handle, fisher in trainer.agl_modules:
        a, b = (t.detach().float() for t in handle.factors())
        terms.append(compute_module_terms(a, b, handle.scale, fisher, cfg.split_damping))
    return combine_terms(terms, cfg.lambda_alignment, cfg.lambda_task, cfg.lambda_collision, cfg.alpha)[0]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_penalty_is_fp32_under_autocast_through_the_trainer(tmp_path, record_terms, dtype):
    trainer = _trainer(tmp_path, tmp_path / "cache")
    model = trainer.model
    torch.manual_seed(3)
    for name, param in model.named_parameters():  # a non-zero update, stored in the low precision
        if "lora_" in name:
            param.data = (0.1 * torch.randn_like(param)).to(dtype)
    batch = default_data_collator([_dataset()[i] for i in range(2)])
    model.train()
    with torch.no_grad():
        task_only = model(**batch).loss.float()
    reference = _reference_penalty(trainer)
    with torch.autocast("cpu", dtype=dtype):
        loss = trainer.compute_loss(model, batch)
    assert record_terms and record_terms[-1]["autocast"], "compute_loss did not run under autocast"
    assert record_terms[-1]["dtypes"] == {torch.float32}
    assert reference.item() > 1e-3
    penalty = loss.float() - task_only
    torch.testing.assert_close(penalty, reference, rtol=2e-2, atol=1e-3)  # loss itself is in autocast precision


def test_bf16_training_logs_finite_fp32_terms(tmp_path, record_terms):
    trainer = _trainer(tmp_path, tmp_path / "cache", bf16=True, max_steps=2)
    trainer.train()
    assert record_terms and all(r["dtypes"] == {torch.float32} for r in record_terms)
    logged = [e for e in trainer.state.log_history if "agl/penalty" in e]
    assert len(logged) == 2 and all(math.isfinite(e[k]) for e in logged for k in e if k.startswith("agl/"))
