"""``AlignGuardTrainer``: Axolotl's trainer plus the AlignGuard penalty, once per optimiser step."""

from __future__ import annotations

from typing import Any

import torch
from axolotl.core.trainers.base import AxolotlTrainer
from torch import nn

from axolotl_agl.args import AlignGuardConfig
from axolotl_agl.fisher_state import ModuleFisher
from axolotl_agl.lora_modules import LoraHandle
from axolotl_agl.penalty import combine_terms, compute_module_terms


class AlignGuardTrainer(AxolotlTrainer):
    """Adds ``λ_A·fisher + λ_T·stabiliser + λ_NC·(α·overlap + (1−α)·geodesic)`` to the training loss.

    The penalty is added on the last micro-batch of each gradient-accumulation cycle, scaled so that
    it enters each optimiser step's gradient exactly once (Transformers divides that micro-batch's
    loss by the number of accumulation steps in some configurations; the scale undoes it). Every
    rank adds the same penalty, so the DDP/FSDP gradient average leaves it unchanged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agl_config: AlignGuardConfig | None = None
        self.agl_modules: list[tuple[LoraHandle, ModuleFisher]] = []

    def set_alignguard_state(self, config: AlignGuardConfig, modules: list[tuple[LoraHandle, ModuleFisher]]) -> None:
        """Install the Fisher summaries (moved to each module's device in float32)."""
        self.agl_config = config
        self.agl_modules = []
        for handle, fisher in modules:
            device = handle.module.lora_A[handle.adapter].weight.device
            self.agl_modules.append((handle, fisher.to(device, torch.float32)))

    def alignguard_penalty(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total penalty (differentiable w.r.t. every LoRA factor) and its four aggregated terms."""
        cfg = self.agl_config
        per_module = []
        for handle, fisher in self.agl_modules:
            a, b = handle.factors()
            per_module.append(compute_module_terms(a, b, handle.scale, fisher, cfg.split_damping))
        return combine_terms(per_module, cfg.lambda_alignment, cfg.lambda_task, cfg.lambda_collision, cfg.alpha)

    def _penalty_loss_scale(self, num_items_in_batch: Any) -> float:
        """Factor that makes the penalty count once per optimiser step after HF's loss normalisation."""
        hf_divides = (not self.model_accepts_loss_kwargs or num_items_in_batch is None) and (
            self.compute_loss_func is None
        )
        steps = getattr(self, "current_gradient_accumulation_steps", None) or self.args.gradient_accumulation_steps
        return float(steps) if hf_divides else 1.0

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        result = super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )
        if not (model.training and self.agl_modules and self.accelerator.sync_gradients):
            return result
        loss = result[0] if return_outputs else result
        penalty, terms = self.alignguard_penalty()
        for name, value in terms.items():
            if not torch.isfinite(value):
                raise FloatingPointError(
                    f"AlignGuard term agl/{name} is {value.item()} at step {self.state.global_step}; "
                    "the Fisher cache or the adapter is corrupt (delete alignguard.fisher_cache_path to recompute)"
                )
        loss = loss + self._penalty_loss_scale(num_items_in_batch) * penalty.to(loss.dtype)
        metrics = {f"agl/{name}": value.detach().item() for name, value in terms.items()}
        metrics["agl/penalty"] = penalty.detach().item()
        self.store_metrics(metrics, train_eval="train")
        return (loss, result[1]) if return_outputs else loss
