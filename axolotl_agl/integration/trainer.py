"""``AlignGuardTrainer``: the AlignGuard penalty on a :class:`~axolotl_agl.integration.penalised.PenalisedTrainer`."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from axolotl_agl.core.fisher_state import ModuleFisher
from axolotl_agl.core.lora_modules import LoraHandle
from axolotl_agl.core.penalty import compute_module_terms
from axolotl_agl.core.stacked_penalty import StackedPenalty
from axolotl_agl.integration.args import AlignGuardConfig
from axolotl_agl.integration.penalised import PenalisedTrainer

LOG = logging.getLogger(__name__)

#: Written into every checkpoint: which Fisher state and settings the penalty used up to that step.
CHECKPOINT_STATE_FILE = "alignguard_state.json"
#: Settings whose change between a checkpoint and the resumed run changes the penalty.
_PENALTY_KEYS = ("lambda_alignment", "lambda_task", "lambda_collision", "alpha", "rank_k", "split_damping")


class AlignGuardCheckpointCallback(TrainerCallback):
    """Records the penalty's Fisher checksum and settings in each checkpoint (JSON, main process only)."""

    def __init__(self, trainer: AlignGuardTrainer) -> None:
        self.trainer = trainer

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and checkpoint.is_dir() and self.trainer.agl_config is not None:
            record = self.trainer.alignguard_state_record()
            (checkpoint / CHECKPOINT_STATE_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")


class AlignGuardTrainer(PenalisedTrainer):
    """Adds ``λ_A·fisher + λ_T·stabiliser + λ_NC·(α·overlap + (1−α)·geodesic)`` to the training loss.

    The once-per-optimiser-step scaling, the ``agl/*`` logging and the non-finite policy
    (``alignguard.on_nonfinite``) come from :class:`~axolotl_agl.integration.penalised.PenalisedTrainer`;
    this class holds the Fisher state and computes the four terms (:meth:`penalty_terms`).

    The Fisher state is held once: the :class:`~axolotl_agl.core.stacked_penalty.StackedPenalty` built at the
    first penalty (:meth:`alignguard_penalty`) holds the stacked eigenvectors, and ``agl_modules`` then holds
    per-module summaries that are views into them (for the per-module diagnostics of :meth:`nonfinite_details`).
    """

    metric_prefix = "agl"
    penalty_label = "AlignGuard penalty"
    nonfinite_key = "alignguard.on_nonfinite"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agl_config: AlignGuardConfig | None = None
        self.agl_modules: list[tuple[LoraHandle, ModuleFisher]] = []
        self.agl_penalty: StackedPenalty | None = None
        self.agl_fisher_checksum: str | None = None
        self.agl_generator: torch.Generator | None = None
        self.add_callback(AlignGuardCheckpointCallback(self))

    @property
    def agl_nonfinite_skips(self) -> int:
        """Steps whose penalty was left out because it was not finite (``alignguard.on_nonfinite: skip``)."""
        return self.nonfinite_skips

    def set_alignguard_state(
        self,
        config: AlignGuardConfig,
        modules: list[tuple[LoraHandle, ModuleFisher]],
        fisher_checksum: str | None = None,
    ) -> None:
        """Install the Fisher summaries (in float32, where they are) and their checksum.

        The stacked penalty is built at the first step, on the LoRA factors' devices as they are then (after any
        wrapping or moving of the model); from then on ``agl_modules`` holds views into it and the summaries
        passed here are no longer referenced.
        """
        self.agl_config = config
        self.on_nonfinite = config.on_nonfinite
        self.agl_fisher_checksum = fisher_checksum
        self.agl_penalty = None
        self.agl_modules = [
            (handle, fisher.to(fisher.output_factor.vectors.device, torch.float32)) for handle, fisher in modules
        ]

    def alignguard_penalty(self) -> StackedPenalty:
        """The stacked penalty of ``agl_modules``, built on first use; ``agl_modules`` then views into it."""
        if self.agl_penalty is None:
            handles = [handle for handle, _ in self.agl_modules]
            with torch.no_grad():
                example_factors = [handle.factors() for handle in handles]
            penalty = StackedPenalty(
                example_factors,
                [handle.scale for handle in handles],
                [fisher for _, fisher in self.agl_modules],
                self.agl_config.split_damping,
            )
            self.agl_modules = list(zip(handles, penalty.module_fishers(), strict=True))
            self.agl_penalty = penalty
        return self.agl_penalty

    def _module_terms(self) -> list[dict[str, torch.Tensor]]:
        cfg = self.agl_config
        per_module = []
        for handle, fisher in self.agl_modules:
            a, b = handle.factors()
            per_module.append(compute_module_terms(a, b, handle.scale, fisher, cfg.split_damping, cfg.overlap_samples))
        return per_module

    def penalty_active(self) -> bool:
        return bool(self.agl_modules)

    def penalty_generator(self) -> torch.Generator | None:
        """The generator of this optimiser step's random draws (the overlap's lines and modules).

        Seeded afresh at every step from ``(seed, global_step, process_index)``, so the draws of a step do not
        depend on what ran before it: a resumed run draws what the uninterrupted run drew (no generator state to
        checkpoint), and the global random state (dropout, data order) is not touched. Each rank draws its own
        (independent unbiased estimates, averaged by DDP). ``None`` (the global generator) when the LoRA modules
        sit on more than one device, since one generator serves one device.
        """
        penalty = self.alignguard_penalty()
        if len({group.scale.device for group in penalty.groups}) != 1:
            return None
        if self.agl_generator is None:
            self.agl_generator = torch.Generator(device=penalty.groups[0].scale.device)
        seed = (int(self.args.seed) * 1_000_003 + int(self.state.global_step)) * 1_009 + self.args.process_index
        self.agl_generator.manual_seed(seed % 2**63)
        return self.agl_generator

    def penalty_terms(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total penalty (differentiable w.r.t. every LoRA factor) and its four aggregated terms."""
        cfg = self.agl_config
        weights = (cfg.lambda_alignment, cfg.lambda_task, cfg.lambda_collision, cfg.alpha)
        # Modules of one shape are computed together (core/stacked_penalty.py).
        penalty = self.alignguard_penalty()
        factors = [handle.factors() for handle, _ in self.agl_modules]
        return penalty.penalty(
            factors,
            *weights,
            overlap_samples=cfg.overlap_samples,
            overlap_module_fraction=cfg.overlap_module_fraction,
            generator=self.penalty_generator(),
        )

    def nonfinite_details(self) -> tuple[str, str]:
        """The modules whose terms are not finite, and the fix."""
        with torch.no_grad():
            per_module = self._module_terms()
        bad_modules = [
            handle.name
            for (handle, _), module_terms in zip(self.agl_modules, per_module, strict=True)
            if not all(bool(torch.isfinite(v)) for v in module_terms.values())
        ]
        hint = (
            "The LoRA weights or the Fisher cache hold NaN/Inf (lower learning_rate, use bf16 instead of fp16, "
            "or delete alignguard.fisher_cache_path to recompute the Fisher)"
        )
        return f" (modules {bad_modules[:5]})", hint

    # ------------------------------------------------------------------------------------------------
    # Checkpoints and resuming
    # ------------------------------------------------------------------------------------------------

    def alignguard_state_record(self) -> dict[str, Any]:
        """What a checkpoint records about the penalty: the Fisher checksum, module names and settings."""
        cfg = self.agl_config
        return {
            "fisher_checksum": self.agl_fisher_checksum,
            "modules": sorted(handle.name for handle, _ in self.agl_modules),
            "settings": {key: getattr(cfg, key) for key in _PENALTY_KEYS},
        }

    def _resume_checkpoint_dir(self, resume_from_checkpoint: str | bool | None) -> Path | None:
        if isinstance(resume_from_checkpoint, bool) and resume_from_checkpoint:
            from transformers.trainer_utils import get_last_checkpoint

            last = get_last_checkpoint(self.args.output_dir)
            return Path(last) if last else None
        if isinstance(resume_from_checkpoint, (str, os.PathLike)):
            return Path(resume_from_checkpoint)
        return None

    def check_resume_state(self, checkpoint: Path) -> None:
        """Compare the penalty state of this run with the one ``checkpoint`` was trained with.

        A different Fisher (cache rebuilt on other data, other k, ...) or other λ/α settings mean the
        resumed run does not continue the same objective: an error under ``alignguard.fisher_cache:
        strict``, a warning otherwise.
        """
        record_path = checkpoint / CHECKPOINT_STATE_FILE
        if self.agl_config is None or not record_path.is_file():
            return
        record = json.loads(record_path.read_text(encoding="utf-8"))
        current = self.alignguard_state_record()
        differences = [
            f"{key}: checkpoint {record.get('settings', {}).get(key)!r}, now {value!r}"
            for key, value in current["settings"].items()
            if record.get("settings", {}).get(key) != value
        ]
        if record.get("modules") != current["modules"]:
            differences.append("the regularised LoRA modules differ")
        if record.get("fisher_checksum") and record["fisher_checksum"] != current["fisher_checksum"]:
            differences.append("the Fisher summary differs (the cache was rebuilt or replaced)")
        if not differences:
            LOG.info("AlignGuard: resuming from %s with the same Fisher state and settings", checkpoint)
            return
        message = (
            f"AlignGuard: resuming from {checkpoint}, but the penalty differs from the one it was trained with: "
            f"{'; '.join(differences)}. Restore the original alignguard settings and Fisher cache to continue the "
            "same run"
        )
        if self.agl_config.fisher_cache == "strict":
            raise RuntimeError(message + " (alignguard.fisher_cache: strict)")
        LOG.warning(message)

    def train(self, resume_from_checkpoint: str | bool | None = None, *args: Any, **kwargs: Any) -> Any:
        """``Trainer.train``, after checking that a resumed run uses the checkpoint's penalty state."""
        checkpoint = self._resume_checkpoint_dir(resume_from_checkpoint)
        if checkpoint is not None:
            self.check_resume_state(checkpoint)
        return super().train(resume_from_checkpoint, *args, **kwargs)
