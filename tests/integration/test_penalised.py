"""``PenalisedTrainer`` on its own: a toy penalty ``w·Σ‖B‖²`` through the real trainer.

* one SGD step moves the LoRA weights by exactly ``−lr·∇P`` more than the task alone, in both accumulation branches;
* the terms are logged under the subclass's prefix, every step;
* a non-finite penalty stops before the update (``error``) or is left out and counted (``skip``);
* no penalty outside training;
* ``loss_is_scaled_for_ga`` is read only when the installed ``transformers.Trainer`` has it;
* under DeepSpeed sequence parallelism the penalty is divided exactly when (and by what) Axolotl divides the task loss.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip("axolotl")

import transformers  # noqa: E402
from accelerate import Accelerator  # noqa: E402
from axolotl.core.trainers.base import AxolotlTrainer  # noqa: E402
from axolotl.core.training_args import AxolotlTrainingArguments  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import TrainerCallback, default_data_collator  # noqa: E402

from axolotl_agl.integration.penalised import (  # noqa: E402
    PenalisedTrainer,
    loss_scaled_flag,
    penalty_loss_scale,
    sequence_parallel_divisor,
)
from tests.helpers import tiny_peft_llama  # noqa: E402

LR, WEIGHT = 0.05, 0.7


def _penalty_of(model: torch.nn.Module) -> torch.Tensor:
    return sum((p.float() ** 2).sum() for n, p in model.named_parameters() if "lora_B" in n)


class _Toy(PenalisedTrainer):
    metric_prefix = "toy"
    penalty_label = "Toy penalty"
    nonfinite_key = "toy.on_nonfinite"
    poison_from_step: int | None = None

    def penalty_active(self) -> bool:
        return True

    def penalty_terms(self):
        total = _penalty_of(self.model)
        if self.poison_from_step is not None and self.state.global_step + 1 >= self.poison_from_step:
            total = total * float("nan")
        return WEIGHT * total, {"b_sq": total.detach()}


def _dataset(n: int = 8) -> Dataset:
    gen = torch.Generator().manual_seed(2)
    rows = []
    for _ in range(n):
        ids = torch.randint(0, 40, (8,), generator=gen).tolist()
        rows.append({"input_ids": ids, "labels": list(ids), "attention_mask": [1] * 8})
    return Dataset.from_list(rows)


def _lora_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def _trainer(tmp_path, cls, micro_batch=2, accumulation=1, max_steps=1, accepts=None) -> PenalisedTrainer:
    model = tiny_peft_llama(["q_proj", "down_proj"], init_lora_weights=False)
    args = AxolotlTrainingArguments(
        output_dir=str(tmp_path / f"{cls.__name__}-{micro_batch}-{accumulation}-{accepts}"),
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation,
        max_steps=max_steps,
        learning_rate=LR,
        optim="sgd",
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = cls(model=model, args=args, train_dataset=_dataset(), data_collator=default_data_collator)
    if accepts is not None:
        trainer.model_accepts_loss_kwargs = accepts
    return trainer


@pytest.mark.parametrize("accepts", [False, True], ids=["loss_kwargs_false", "loss_kwargs_true"])
@pytest.mark.parametrize(("micro_batch", "accumulation"), [(1, 4), (2, 2)])
def test_one_sgd_step_adds_exactly_lr_times_the_penalty_gradient(tmp_path, micro_batch, accumulation, accepts):
    with_penalty = _trainer(tmp_path, _Toy, micro_batch, accumulation, accepts=accepts)
    start = _lora_state(with_penalty.model)
    with_penalty.train()
    without = _trainer(tmp_path, PenalisedTrainer, micro_batch, accumulation, accepts=accepts)  # no penalty
    without.train()
    moved = {n: p - start[n] for n, p in _lora_state(with_penalty.model).items()}
    moved_task = {n: p - start[n] for n, p in _lora_state(without.model).items()}
    for name in moved:
        expected = -LR * WEIGHT * 2 * start[name] if "lora_B" in name else torch.zeros_like(start[name])
        torch.testing.assert_close(moved[name] - moved_task[name], expected, rtol=1e-4, atol=1e-6)
    assert any("lora_B" in n and v.abs().max() > 1e-3 for n, v in moved.items())


def test_terms_are_logged_every_step_with_the_prefix(tmp_path):
    trainer = _trainer(tmp_path, _Toy, max_steps=3)
    first = float(_penalty_of(trainer.model))
    trainer.train()
    logged = [e for e in trainer.state.log_history if "toy/penalty" in e]
    assert len(logged) == 3
    assert logged[0]["toy/b_sq"] == pytest.approx(first, rel=1e-6)
    assert logged[0]["toy/penalty"] == pytest.approx(WEIGHT * first, rel=1e-6)
    assert logged[2]["toy/b_sq"] < logged[0]["toy/b_sq"]  # the penalty pulls B towards 0


class _Snapshots(TrainerCallback):
    def __init__(self, model):
        self.model, self.after = model, {}

    def on_step_end(self, args, state, control, **kwargs):
        self.after[state.global_step] = _lora_state(self.model)


def test_nonfinite_penalty_stops_before_the_update(tmp_path):
    trainer = _trainer(tmp_path, _Toy, max_steps=3)
    trainer.poison_from_step = 2
    snapshots = _Snapshots(trainer.model)
    trainer.add_callback(snapshots)
    with pytest.raises(FloatingPointError) as info:
        trainer.train()
    assert str(info.value).startswith("Toy penalty is not finite at step 2: terms {'b_sq': nan}. ")
    assert str(info.value).endswith("toy.on_nonfinite: skip leaves such steps' penalty out instead of stopping")
    assert sorted(snapshots.after) == [1]
    for name, value in _lora_state(trainer.model).items():
        assert torch.equal(value, snapshots.after[1][name])


def test_nonfinite_penalty_is_skipped_and_counted(tmp_path, caplog):
    trainer = _trainer(tmp_path, _Toy, max_steps=3)
    trainer.poison_from_step = 2
    trainer.on_nonfinite = "skip"
    with caplog.at_level(logging.WARNING, logger="axolotl_agl"):
        trainer.train()
    assert trainer.state.global_step == 3 and trainer.nonfinite_skips == 2
    assert [e["toy/nonfinite_skips"] for e in trainer.state.log_history if "toy/nonfinite_skips" in e] == [1.0, 2.0]
    assert "Skipped this step's penalty (2 so far)" in caplog.text
    assert all(bool(torch.isfinite(v).all()) for v in _lora_state(trainer.model).values())


def test_no_penalty_outside_training(tmp_path):
    trainer = _trainer(tmp_path, _Toy)
    batch = default_data_collator([_dataset()[i] for i in range(2)])
    trainer.model.eval()
    with torch.no_grad():
        assert torch.equal(trainer.compute_loss(trainer.model, batch), trainer.model(**batch).loss)
        trainer.model.train()
        with_penalty = trainer.compute_loss(trainer.model, batch)
        torch.testing.assert_close(with_penalty - trainer.model(**batch).loss, WEIGHT * _penalty_of(trainer.model))


def test_loss_scaled_flag_is_read_only_when_the_trainer_class_has_it(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path, _Toy)
    trainer.loss_is_scaled_for_ga = True
    if hasattr(transformers.Trainer, "loss_is_scaled_for_ga"):
        assert loss_scaled_flag(trainer) is True
        monkeypatch.delattr(transformers.Trainer, "loss_is_scaled_for_ga")
        assert loss_scaled_flag(trainer) is None
    else:
        assert loss_scaled_flag(trainer) is None  # Transformers < 5.20 ignores the attribute, so must we
        monkeypatch.setattr(transformers.Trainer, "loss_is_scaled_for_ga", None, raising=False)
        assert loss_scaled_flag(trainer) is True


# --------------------------------------------------------------------------------------------------------------
# DeepSpeed sequence parallelism: Axolotl 0.21+ divides the task loss by the SP group size (ZeRO sums those
# ranks' gradients); earlier releases run context parallelism as ring attention and divide nothing.
# --------------------------------------------------------------------------------------------------------------

#: Whether the installed Axolotl divides the task loss under DeepSpeed Ulysses (0.21+).
AXOLOTL_DIVIDES_FOR_SP = hasattr(AxolotlTrainer, "_deepspeed_sequence_parallel_group")


def _with_sp_group(group):
    return SimpleNamespace(
        _deepspeed_sequence_parallel_group=lambda: group,
        accelerator=SimpleNamespace(parallelism_config=SimpleNamespace(sp_backend="deepspeed", sp_size=4)),
    )


def test_sequence_parallel_divisor_follows_the_trainer():
    assert sequence_parallel_divisor(_with_sp_group(object())) == 4  # an SP group: the task loss is divided by 4
    assert sequence_parallel_divisor(_with_sp_group(None)) == 1  # no SP group (sp_size 1, another backend)
    # A trainer without the method (Axolotl < 0.21) never divides, even if the accelerator reports DeepSpeed SP.
    old_release = SimpleNamespace(accelerator=_with_sp_group(object()).accelerator)
    assert sequence_parallel_divisor(old_release) == 1


def test_penalty_loss_scale_combines_accumulation_and_sequence_parallelism():
    trainer = _with_sp_group(object())
    trainer.model_accepts_loss_kwargs, trainer.compute_loss_func = False, None
    trainer.current_gradient_accumulation_steps = 8
    assert penalty_loss_scale(trainer, num_items_in_batch=None) == pytest.approx(8 / 4)
    trainer._deepspeed_sequence_parallel_group = lambda: None
    assert penalty_loss_scale(trainer, num_items_in_batch=None) == pytest.approx(8.0)


class _ToyWithUlysses(_Toy):
    """Where the installed Axolotl has no DeepSpeed Ulysses path: what 0.21's ``AxolotlTrainer`` does with one."""

    def _deepspeed_sequence_parallel_group(self):
        return object()

    def task_loss(self, model, inputs, return_outputs, num_items_in_batch):
        loss = super().task_loss(model, inputs, return_outputs, None)
        return loss / self.accelerator.parallelism_config.sp_size


def test_penalty_is_divided_like_the_task_loss_under_deepspeed_sequence_parallelism(tmp_path, monkeypatch):
    """(task + penalty) / sp_size: after ZeRO sums the SP ranks' gradients, the penalty counts once, as the task does.

    On Axolotl 0.21+ this runs Axolotl's own ``compute_loss`` with its SP group faked (no DeepSpeed here); on
    earlier releases the stand-in above does what 0.21 does.
    """
    sp_size = 2
    trainer = _trainer(tmp_path, _Toy if AXOLOTL_DIVIDES_FOR_SP else _ToyWithUlysses)
    # Set after the trainer exists (accelerate reads it when it starts). sp_enabled=False keeps Transformers' own
    # Ulysses loss (a DeepSpeed all-gather) out: under test is the division Axolotl applies on top of it.
    pc = SimpleNamespace(sp_backend="deepspeed", sp_size=sp_size, sp_enabled=False)
    monkeypatch.setattr(Accelerator, "parallelism_config", property(lambda self: pc))
    if AXOLOTL_DIVIDES_FOR_SP:
        monkeypatch.setattr(AxolotlTrainer, "_deepspeed_sequence_parallel_group", lambda self: object())
    batch = default_data_collator([_dataset()[i] for i in range(2)])
    trainer.model.train()
    with torch.no_grad():
        task, penalty = trainer.model(**batch).loss, WEIGHT * _penalty_of(trainer.model)
        torch.testing.assert_close(trainer.task_loss(trainer.model, batch, False, None), task / sp_size)
        torch.testing.assert_close(trainer.compute_loss(trainer.model, batch), (task + penalty) / sp_size)
