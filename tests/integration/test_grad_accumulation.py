"""The penalty enters each optimiser step exactly once, whatever the gradient accumulation and loss scaling.

Runs the real ``AlignGuardTrainer`` (a ``PenalisedTrainer``, an ``AxolotlTrainer``) in-process for one SGD step
without gradient clipping. With plain SGD the weights after the step are ``θ0 − lr·(∇L_task + c·∇P)``, so the
difference between a run with the penalty and one without is ``−lr·c·∇P(θ0)``; we check ``c = 1``.

Both accumulation branches of ``Trainer.training_step`` are forced: ``model_accepts_loss_kwargs`` False (Axolotl
0.19 for a PEFT Llama: the loss is a micro-batch mean that the Trainer divides by the accumulation steps) and True
(0.20+: the model normalises by ``num_items_in_batch`` and the Trainer does not divide), each with
``loss_is_scaled_for_ga`` in {None, True, False} set on the instance. Transformers 5.20+ honours that flag; older
releases ignore it, and so must the penalty's scaling (feature detection, not a version check).
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("axolotl")

import transformers  # noqa: E402
from axolotl.core.training_args import AxolotlTrainingArguments  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import default_data_collator  # noqa: E402

from axolotl_agl.core.fisher_state import ModuleFisher, low_rank_factor_from_dense  # noqa: E402
from axolotl_agl.core.lora_modules import find_lora_linears  # noqa: E402
from axolotl_agl.core.penalty import combine_terms, compute_module_terms  # noqa: E402
from axolotl_agl.integration.args import AlignGuardConfig  # noqa: E402
from axolotl_agl.integration.penalised import trainer_divides_loss  # noqa: E402
from axolotl_agl.integration.trainer import AlignGuardTrainer  # noqa: E402
from tests.helpers import tiny_peft_llama  # noqa: E402

LR = 0.05
#: Whether the installed Transformers' ``training_step`` reads ``Trainer.loss_is_scaled_for_ga`` (5.20+).
HONOURS_GA_FLAG = hasattr(transformers.Trainer, "loss_is_scaled_for_ga")
AGL = AlignGuardConfig(lambda_alignment=3.0, lambda_task=2.0, lambda_collision=0.5, alpha=0.3, rank_k=3)


def _random_psd(dim: int, generator: torch.Generator) -> torch.Tensor:
    m = torch.randn(dim, dim, generator=generator)
    return m @ m.T / dim + 0.1 * torch.eye(dim)


def _model_and_fishers() -> tuple[torch.nn.Module, dict[str, ModuleFisher]]:
    model = tiny_peft_llama(["q_proj", "down_proj"], init_lora_weights=False)
    gen = torch.Generator().manual_seed(1)
    fishers = {}
    for h in find_lora_linears(model):
        d_out, d_in = h.base_layer.out_features, h.base_layer.in_features
        fishers[h.name] = ModuleFisher(
            low_rank_factor_from_dense(_random_psd(d_out, gen), 3),
            low_rank_factor_from_dense(_random_psd(d_in, gen), 3),
        )
    return model, fishers


def _dataset() -> Dataset:
    gen = torch.Generator().manual_seed(2)
    rows = []
    for _ in range(4):
        ids = torch.randint(0, 40, (8,), generator=gen).tolist()
        rows.append({"input_ids": ids, "labels": list(ids), "attention_mask": [1] * 8})
    return Dataset.from_list(rows)


def _lora_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


class _RecordingTrainer(AlignGuardTrainer):
    """Records the scale the penalty was given at each optimiser step (to check which branch was taken)."""

    def penalty_loss_scale(self, num_items_in_batch):
        scale = super().penalty_loss_scale(num_items_in_batch)
        self.recorded_scales = [*getattr(self, "recorded_scales", []), scale]
        return scale


def _one_step(tmp_path, micro_batch: int, accumulation: int, with_penalty: bool, accepts=None, flag=None):
    """LoRA weights after one SGD step; ``accepts``/``flag`` force ``model_accepts_loss_kwargs``/the GA flag."""
    model, fishers = _model_and_fishers()
    args = AxolotlTrainingArguments(
        output_dir=str(tmp_path / f"mb{micro_batch}_ga{accumulation}_{with_penalty}_{accepts}_{flag}"),
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation,
        max_steps=1,
        learning_rate=LR,
        optim="sgd",
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=0.0,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = _RecordingTrainer(model=model, args=args, train_dataset=_dataset(), data_collator=default_data_collator)
    if accepts is not None:
        trainer.model_accepts_loss_kwargs = accepts
    if flag is not None:
        trainer.loss_is_scaled_for_ga = flag
    if with_penalty:
        handles = {h.name: h for h in find_lora_linears(model)}
        trainer.set_alignguard_state(AGL, [(handles[n], f) for n, f in fishers.items()])
    trainer.train()
    if with_penalty:
        logged = {k for entry in trainer.state.log_history for k in entry}
        assert {"agl/fisher", "agl/stabiliser", "agl/overlap", "agl/geodesic", "agl/penalty"} <= logged
    return _lora_state(model), getattr(trainer, "recorded_scales", [])


def _expected_penalty_step() -> dict[str, torch.Tensor]:
    """``−lr·∇P(θ0)`` computed directly from the initial LoRA factors."""
    model, fishers = _model_and_fishers()
    handles = {h.name: h for h in find_lora_linears(model)}
    terms = [
        compute_module_terms(*handles[n].factors(), handles[n].scale, f, AGL.split_damping) for n, f in fishers.items()
    ]
    total, _ = combine_terms(terms, AGL.lambda_alignment, AGL.lambda_task, AGL.lambda_collision, AGL.alpha)
    total.backward()
    return {n: -LR * p.grad for n, p in model.named_parameters() if "lora_" in n}


def _assert_penalty_counted_once(with_penalty, without) -> None:
    expected = _expected_penalty_step()
    assert any(v.abs().max() > 1e-4 for v in expected.values()), "penalty gradient too small to test anything"
    for name, step in expected.items():
        torch.testing.assert_close(with_penalty[name] - without[name], step, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("micro_batch", "accumulation"), [(4, 1), (1, 4), (2, 2)])
def test_penalty_counted_once_per_optimizer_step(tmp_path, micro_batch, accumulation):
    with_penalty, scales = _one_step(tmp_path, micro_batch, accumulation, with_penalty=True)
    without, _ = _one_step(tmp_path, micro_batch, accumulation, with_penalty=False)
    assert len(scales) == 1, "the penalty must be added on exactly one micro-batch per optimiser step"
    _assert_penalty_counted_once(with_penalty, without)


def _divides(accepts: bool, flag: bool | None) -> bool:
    """What ``training_step`` does with the loss, read off Transformers' code (5.16 and 5.20), written out here."""
    if HONOURS_GA_FLAG and flag is not None:
        return not flag
    return not accepts  # with accepts, num_items_in_batch is counted and passed, so the loss is already scaled


@pytest.mark.parametrize("flag", [None, True, False], ids=["ga_flag_none", "ga_flag_true", "ga_flag_false"])
@pytest.mark.parametrize("accepts", [False, True], ids=["loss_kwargs_false", "loss_kwargs_true"])
@pytest.mark.parametrize(("micro_batch", "accumulation"), [(1, 4), (2, 2)])
def test_penalty_counted_once_in_every_accumulation_branch(tmp_path, micro_batch, accumulation, accepts, flag):
    with_penalty, scales = _one_step(tmp_path, micro_batch, accumulation, True, accepts=accepts, flag=flag)
    without, _ = _one_step(tmp_path, micro_batch, accumulation, False, accepts=accepts, flag=flag)
    expected_scale = float(accumulation) if _divides(accepts, flag) else 1.0
    assert scales == [expected_scale], f"took the wrong branch: scale {scales}, expected {expected_scale}"
    _assert_penalty_counted_once(with_penalty, without)


_RULE_CASES = [
    # (model_accepts_loss_kwargs, num_items_in_batch given, compute_loss_func set, loss_is_scaled_for_ga, divides)
    (False, False, False, None, True),
    (False, True, False, None, True),
    (True, False, False, None, True),
    (True, True, False, None, False),
    (False, False, True, None, False),
    (True, True, True, None, False),
    (True, True, False, False, True),
    (False, False, True, False, True),
    (False, False, False, True, False),
    (True, True, True, True, False),
]


@pytest.mark.parametrize(("accepts", "has_items", "has_func", "flag", "divides"), _RULE_CASES)
def test_division_rule_matches_transformers(accepts, has_items, has_func, flag, divides):
    """The rule of Transformers 5.20's ``training_step`` (5.16's when the flag is None), on every input."""
    result = trainer_divides_loss(
        model_accepts_loss_kwargs=accepts,
        num_items_in_batch=7 if has_items else None,
        compute_loss_func=(lambda *a, **k: None) if has_func else None,
        loss_is_scaled_for_ga=flag,
    )
    assert result is divides
