"""``AlignGuardPlugin``: the Axolotl entry point (``plugins: [axolotl_agl.AlignGuardPlugin]``). Hooks only.

It rewrites ``adapter: alignguard`` to ``lora``/``qlora`` so every LoRA path of Axolotl applies (4-bit loading
included), declares the ``alignguard:`` block, swaps in :class:`~axolotl_agl.integration.trainer.AlignGuardTrainer`,
and runs (or reuses) the Fisher pass once the trainer exists. It does nothing for configs that do not select
``adapter: alignguard``, except recording the forgetting curve when ``alignguard.forgetting`` is set.

Bad inputs are rejected before any expensive work (:mod:`axolotl_agl.integration.checks`): the raw config in
``register``, the ``alignguard:`` values during validation, the validated config, alignment data, LoRA targets and
``rank_k`` in ``load_datasets`` (before the training data and the model are loaded; ``pre_model_load`` repeats the
config checks for entry points that skip it), and the real LoRA layers in ``post_lora_load``. The plugin keeps no
state of its own: what the hooks share for a config lives in :func:`~axolotl_agl.integration.settings.state_of`.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from axolotl.integrations.base import BasePlugin
from torch import nn

from axolotl_agl.integration import checks
from axolotl_agl.integration.checks import _meta_model  # noqa: F401 - imported from here by tests/test_no_pickle.py
from axolotl_agl.integration.settings import (
    agl_config_of,
    alignguard_enabled,
    alignment_data_of,
    forgetting_data_of,
    sequence_len_of,
    state_of,
)

__all__ = ["ADAPTER_NAME", "AlignGuardPlugin", "agl_config_of", "alignguard_enabled"]

LOG = logging.getLogger(__name__)
# Axolotl's console handler shows INFO for loggers named "axolotl*"; ours are not children of the
# "axolotl" logger, so set the package level here (only when running under Axolotl).
logging.getLogger("axolotl_agl").setLevel(logging.INFO)

ADAPTER_NAME = "alignguard"
_TRITON_LORA_KERNELS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")


def _keep_cpu_ranks_on_cpu(cfg: Any) -> None:
    """On a machine without CUDA, keep every DDP rank's model on the CPU (gloo DDP).

    Axolotl maps each rank to accelerator device ``LOCAL_RANK``, which does not exist there. Must run
    before Axolotl's model loader reads ``device_map`` (it does so before ``pre_model_load``).
    """
    if (
        not torch.cuda.is_available()
        and int(cfg.get("world_size") or 1) > 1
        and isinstance(cfg.get("device_map"), dict)
    ):
        cfg["device_map"] = {"": "cpu"}


def _check_before_loading(cfg: Any) -> None:
    """The validated-config and LoRA-target checks, once per config (two hooks call this)."""
    checks.check_validated(cfg)
    state, agl = state_of(cfg), agl_config_of(cfg)
    key = checks.targets_key(cfg, agl)
    if state.targets_checked != key:
        checks.check_targets_on_meta(cfg, agl)
        state.targets_checked = key


class AlignGuardPlugin(BasePlugin):
    """AlignGuard-LoRA: Fisher-guided regularisation of LoRA updates on alignment-critical directions."""

    def get_input_args(self) -> str:
        return "axolotl_agl.integration.args.AlignGuardArgs"

    def get_adapter_capabilities(self) -> list:
        try:
            from axolotl.integrations.base import AdapterCapabilities
        except ImportError:  # Axolotl without adapter capabilities
            return []
        return [AdapterCapabilities(name=ADAPTER_NAME, lora_like=True)]

    def register(self, cfg: dict) -> None:
        checks.check_forgetting_supported(cfg)
        if cfg.get("adapter") != ADAPTER_NAME:
            checks.warn_if_block_ignored(cfg)
            return
        checks.check_listed_once(cfg)
        checks.check_supported(cfg)
        checks.check_no_other_trainer(cfg)
        cfg["alignguard"] = checks.alignguard_block_of(cfg) | {"active": True}
        cfg["adapter"] = "qlora" if cfg.get("load_in_4bit") else "lora"
        if not torch.cuda.is_available():  # Axolotl's fused LoRA kernels are Triton (CUDA) kernels
            for key in _TRITON_LORA_KERNELS:
                if cfg.get(key) is None:
                    cfg[key] = False
        LOG.info("AlignGuard: adapter: alignguard -> %s", cfg["adapter"])

    def on_config_validation_error(self, cfg: dict) -> None:
        block = cfg.get("alignguard")
        if isinstance(block, dict) and block.pop("active", False):
            cfg["adapter"] = ADAPTER_NAME

    def load_datasets(self, cfg: Any, preprocess: bool = False) -> None:
        """Check the config, LoRA targets, ``rank_k``, the alignment data (and the forgetting prompts) early.

        Axolotl calls this before it loads the training data and the model.
        """
        if alignguard_enabled(cfg):
            _keep_cpu_ranks_on_cpu(cfg)
            _check_before_loading(cfg)
            state_of(cfg).alignment_examples(cfg, alignment_data_of(cfg))
        if agl_config_of(cfg).forgetting is not None:
            from axolotl_agl.forgetting.data import load_general_prompts

            load_general_prompts(agl_config_of(cfg).forgetting.general_prompts)  # a bad file fails here
            state_of(cfg).alignment_examples(cfg, forgetting_data_of(cfg))
        return None

    def pre_model_load(self, cfg: Any) -> None:
        if alignguard_enabled(cfg):
            _check_before_loading(cfg)  # entry points that skip load_datasets (agl-fisher, merge-lora, ...)

    def pre_lora_load(self, cfg: Any, model: nn.Module) -> None:
        """Seed the LoRA initialisation with the config's ``seed`` (Axolotl 0.19 seeds only the trainer).

        Without it two runs with the same seed start from different LoRA ``A`` matrices, so neither a
        rerun nor a resumed run can reproduce an uninterrupted one. Also done for ``adapter: lora`` with the
        plugin listed (e.g. for a forgetting curve), so a LoRA baseline starts from the same ``A`` as AlignGuard.
        """
        if cfg.get("seed") is not None:
            from transformers import set_seed

            set_seed(int(cfg.get("seed")))

    def post_lora_load(self, cfg: Any, model: nn.Module) -> None:
        if alignguard_enabled(cfg):
            checks.check_lora_layers(model, agl_config_of(cfg))

    def get_trainer_cls(self, cfg: Any) -> type | None:
        if not alignguard_enabled(cfg) or cfg.get("rl"):
            return None
        checks.check_no_other_trainer(cfg)
        from axolotl_agl.integration.trainer import AlignGuardTrainer

        return AlignGuardTrainer

    def add_callbacks_post_trainer(self, cfg: Any, trainer: Any) -> list:
        """The forgetting-curve callback when ``alignguard.forgetting`` is set (adapter alignguard or lora)."""
        settings = agl_config_of(cfg).forgetting
        if settings is None:
            return []
        from axolotl_agl.integration.forgetting_callback import ForgettingCallback

        examples = state_of(cfg).alignment_examples(cfg, forgetting_data_of(cfg), trainer.processing_class)
        return [
            ForgettingCallback(
                trainer,
                settings,
                alignment_examples=examples,
                base_model=str(cfg.get("base_model")),
                max_tokens=sequence_len_of(cfg),
            )
        ]

    def post_trainer_create(self, cfg: Any, trainer: Any) -> None:
        if not alignguard_enabled(cfg):
            return
        from axolotl_agl.core.lora_modules import find_lora_linears
        from axolotl_agl.integration.precompute import obtain_fisher_summary
        from axolotl_agl.integration.trainer import AlignGuardTrainer

        if not isinstance(trainer, AlignGuardTrainer):
            raise RuntimeError(
                f"adapter: alignguard needs its own trainer, but another plugin supplied {type(trainer).__name__}; "
                "remove the other trainer-replacing plugin from `plugins:`"
            )
        agl = agl_config_of(cfg)
        examples = state_of(cfg).alignment_examples(cfg, alignment_data_of(cfg), trainer.processing_class)
        if agl.fisher_replies == "task":
            from axolotl_agl.integration.task_replies import pair_with_training_replies

            seed = int(cfg.get("seed") or 0)
            examples = pair_with_training_replies(examples, trainer.train_dataset, agl.fisher_reply_tokens, seed)
        result = obtain_fisher_summary(
            trainer.model,
            trainer.processing_class,
            agl,
            str(cfg.get("base_model")),
            str(cfg.get("output_dir")),
            examples,
        )
        # In the model's module order, whether the summary was computed or read from the cache (whose keys are
        # sorted): the overlap's per-step module draws index this order, so a resumed run draws the same modules.
        handles = {h.name: h for h in find_lora_linears(trainer.model)}
        modules = [(handles[name], result.summary[name]) for name in handles if name in result.summary]
        missing = sorted(set(result.summary) - set(handles))
        if missing:
            raise RuntimeError(f"the Fisher summary names modules the model has no LoRA layer for: {missing[:3]}")
        trainer.set_alignguard_state(agl, modules, fisher_checksum=result.metadata.get("checksum"))
        base_types = sorted({type(h.base_layer).__name__ for h in handles.values()})
        LOG.info(
            "AlignGuard: Fisher %s (%s); regularising %d LoRA modules (base layers: %s)",
            "reused" if result.reused else "computed",
            result.path,
            len(handles),
            ", ".join(base_types),
        )
