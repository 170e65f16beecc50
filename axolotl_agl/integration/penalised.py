"""``PenalisedTrainer``: Axolotl's trainer plus a penalty on the weights, counted once per optimiser step.

A weight-space penalty ``P(θ)`` (AlignGuard's four terms, L2, EWC, AsFT, ...) does not depend on the batch, so
it belongs in each optimiser step's gradient exactly once, whatever the gradient accumulation. This base adds it
to the loss of the *last* micro-batch of each accumulation cycle, multiplied by the factor that undoes the
division Transformers' ``Trainer.training_step`` applies to that loss (:func:`penalty_loss_scale`). Every rank adds
the same penalty, so the DDP/FSDP gradient average leaves it unchanged.

Whether ``training_step`` divides the loss by the number of accumulation steps is decided the way Transformers
decides it, detected from the installed ``Trainer`` rather than from version numbers
(:func:`trainer_divides_loss`):

* when the ``Trainer`` class has ``loss_is_scaled_for_ga`` (Transformers 5.20+) and it is set (not None), it
  decides: ``True`` → the loss is used as is, ``False`` → it is divided;
* otherwise the loss counts as already scaled when it was normalised by ``num_items_in_batch`` (the model accepts
  loss kwargs and the count was passed) or a ``compute_loss_func`` is set; else it is divided. Axolotl 0.19 sets
  ``model_accepts_loss_kwargs = False`` for a PEFT Llama, 0.20+ leaves it True, so both branches occur.

Under DeepSpeed sequence parallelism (Axolotl 0.21+ maps ``context_parallel_size`` onto DeepSpeed Ulysses when
``deepspeed:`` is set) ZeRO sums the gradients of the ranks that share a sequence, so Axolotl divides the task loss
by the SP group size; the penalty, identical on those ranks, is divided by the same size
(:func:`sequence_parallel_divisor`, detected from the trainer's own ``_deepspeed_sequence_parallel_group``). Earlier
releases run context parallelism as ring attention, where gradients are averaged and nothing is divided.

Subclasses implement :meth:`PenalisedTrainer.penalty_terms` (the one call into the penalty) and
:meth:`PenalisedTrainer.penalty_active`; the base logs every term as ``<metric_prefix>/<name>`` through
``store_metrics`` and applies the non-finite policy: ``error`` stops training at that step before the backward pass
(the weights are never updated with it), ``skip`` leaves that step's penalty out and counts the skips.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import torch
import transformers
from axolotl.core.trainers.base import AxolotlTrainer
from torch import nn

LOG = logging.getLogger(__name__)

NonFinitePolicy = Literal["error", "skip"]


def trainer_divides_loss(
    *,
    model_accepts_loss_kwargs: bool,
    num_items_in_batch: Any,
    compute_loss_func: Any,
    loss_is_scaled_for_ga: bool | None,
) -> bool:
    """True when ``Trainer.training_step`` divides ``compute_loss``'s result by the accumulation steps.

    ``loss_is_scaled_for_ga`` is the value of Transformers' flag (5.20+), or None when it is unset or the installed
    ``Trainer`` does not have it (then the pre-5.20 rule applies, which is also 5.20's rule for None).
    """
    if loss_is_scaled_for_ga is not None:
        return not loss_is_scaled_for_ga
    already_scaled = (bool(model_accepts_loss_kwargs) and num_items_in_batch is not None) or (
        compute_loss_func is not None
    )
    return not already_scaled


def loss_scaled_flag(trainer: Any) -> bool | None:
    """``trainer.loss_is_scaled_for_ga`` when the installed ``transformers.Trainer`` honours it, else None."""
    if not hasattr(transformers.Trainer, "loss_is_scaled_for_ga"):
        return None
    return getattr(trainer, "loss_is_scaled_for_ga", None)


def sequence_parallel_divisor(trainer: Any) -> int:
    """The number Axolotl divides the task loss by for DeepSpeed sequence parallelism (1 when it does not divide).

    Axolotl 0.21+ divides the training loss by ``accelerator.parallelism_config.sp_size`` exactly when the trainer's
    ``_deepspeed_sequence_parallel_group()`` returns a group (DeepSpeed Ulysses with ``sp_size > 1``), because ZeRO
    sums the gradients of those ranks. A trainer without that method (Axolotl < 0.21) never divides, whatever its
    parallelism config says: there ``context_parallel_size`` is ring attention, whose gradients are averaged.
    """
    group_of = getattr(trainer, "_deepspeed_sequence_parallel_group", None)
    if not callable(group_of) or group_of() is None:
        return 1
    return int(trainer.accelerator.parallelism_config.sp_size)


def penalty_loss_scale(trainer: Any, num_items_in_batch: Any) -> float:
    """Factor for a once-per-step penalty added to the last micro-batch's loss, so that it counts exactly once.

    It undoes the gradient-accumulation division ``training_step`` applies to the loss, and applies the
    sequence-parallel division Axolotl applies to the task loss (:func:`sequence_parallel_divisor`).
    """
    divides = trainer_divides_loss(
        model_accepts_loss_kwargs=trainer.model_accepts_loss_kwargs,
        num_items_in_batch=num_items_in_batch,
        compute_loss_func=trainer.compute_loss_func,
        loss_is_scaled_for_ga=loss_scaled_flag(trainer),
    )
    steps = getattr(trainer, "current_gradient_accumulation_steps", None) or trainer.args.gradient_accumulation_steps
    return (float(steps) if divides else 1.0) / sequence_parallel_divisor(trainer)


class PenalisedTrainer(AxolotlTrainer):
    """``AxolotlTrainer`` + ``penalty_terms()`` added once per optimiser step, logged, with a non-finite policy.

    Subclasses set :attr:`metric_prefix`, :attr:`penalty_label` and :attr:`nonfinite_key` (the YAML key of the
    policy, named in the error), and set :attr:`on_nonfinite` from their config.
    """

    metric_prefix = "penalty"
    penalty_label = "Penalty"
    nonfinite_key = "on_nonfinite"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_nonfinite: NonFinitePolicy = "error"
        self.nonfinite_skips = 0

    # -- what subclasses provide -----------------------------------------------------------------------------------

    def penalty_active(self) -> bool:
        """Whether there is a penalty to add (False until the subclass has its state)."""
        return False

    def penalty_terms(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total penalty (differentiable w.r.t. the trainable weights) and the named terms to log."""
        raise NotImplementedError

    def nonfinite_details(self) -> tuple[str, str]:
        """``(where, hint)`` for the non-finite error: e.g. the modules involved, and what to change."""
        return "", "lower learning_rate or use bf16 instead of fp16"

    # -- the machinery ---------------------------------------------------------------------------------------------

    def penalty_loss_scale(self, num_items_in_batch: Any) -> float:
        """See :func:`penalty_loss_scale`."""
        return penalty_loss_scale(self, num_items_in_batch)

    def nonfinite_message(self, total: torch.Tensor, terms: dict[str, torch.Tensor]) -> str | None:
        """None when the total and every term are finite; otherwise what is non-finite, where, and the fix."""
        bad_terms = {name: value.item() for name, value in terms.items() if not bool(torch.isfinite(value).all())}
        if bool(torch.isfinite(total).all()) and not bad_terms:
            return None
        where, hint = self.nonfinite_details()
        return (
            f"{self.penalty_label} is not finite at step {self.state.global_step + 1}: terms {bad_terms or 'total'}"
            f"{where}. {hint}; {self.nonfinite_key}: skip leaves such steps' penalty out instead of stopping"
        )

    def allow_nonfinite(self, problem: str) -> bool:
        """Apply the policy to a non-finite value: raise (``error``) or count it and return True (``skip``)."""
        if self.on_nonfinite == "error":
            raise FloatingPointError(problem)
        self.nonfinite_skips += 1
        LOG.warning("%s. Skipped this step's penalty (%d so far).", problem, self.nonfinite_skips)
        self.store_metrics({f"{self.metric_prefix}/nonfinite_skips": float(self.nonfinite_skips)}, train_eval="train")
        return True

    def log_terms(self, total: torch.Tensor, terms: dict[str, torch.Tensor]) -> None:
        metrics = {f"{self.metric_prefix}/{name}": float(value.detach()) for name, value in terms.items()}
        metrics[f"{self.metric_prefix}/penalty"] = float(total.detach())
        self.store_metrics(metrics, train_eval="train")

    def add_penalty(self, loss: torch.Tensor, num_items_in_batch: Any) -> torch.Tensor:
        """``loss`` + the scaled penalty (or ``loss`` alone when the penalty is non-finite and skipped)."""
        total, terms = self.penalty_terms()
        problem = self.nonfinite_message(total, terms)
        if problem is not None and self.allow_nonfinite(problem):
            return loss
        self.log_terms(total, terms)
        return loss + self.penalty_loss_scale(num_items_in_batch) * total.to(loss.dtype)

    def task_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool, num_items_in_batch: Any) -> Any:
        """The data term (Axolotl's loss by default; a peer that changes the task objective overrides this)."""
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        result = self.task_loss(model, inputs, return_outputs, num_items_in_batch)
        if not (model.training and self.penalty_active() and self.accelerator.sync_gradients):
            return result
        loss = result[0] if return_outputs else result
        loss = self.add_penalty(loss, num_items_in_batch)
        return (loss, result[1]) if return_outputs else loss
