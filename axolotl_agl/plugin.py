"""``AlignGuardPlugin``: the Axolotl entry point (``plugins: [axolotl_agl.AlignGuardPlugin]``).

Thin by design: it rewrites ``adapter: alignguard`` to ``lora``/``qlora`` so every LoRA path of
Axolotl applies (4-bit loading included), declares the ``alignguard:`` block, swaps in
:class:`~axolotl_agl.trainer.AlignGuardTrainer`, and runs (or reuses) the Fisher pass once the
trainer exists. It does nothing for configs that do not select ``adapter: alignguard``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from axolotl.integrations.base import BasePlugin

from axolotl_agl.args import AlignGuardConfig

LOG = logging.getLogger(__name__)
# Axolotl's console handler shows INFO for loggers named "axolotl*"; ours are not children of the
# "axolotl" logger, so set the package level here (only when running under Axolotl).
logging.getLogger("axolotl_agl").setLevel(logging.INFO)

PLUGIN_PATH = "axolotl_agl.AlignGuardPlugin"
ADAPTER_NAME = "alignguard"
_ENABLED_KEY = "active"
_TRITON_LORA_KERNELS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")


def _listed(cfg: dict) -> bool:
    return any(
        str(p).endswith(("AlignGuardPlugin", "axolotl_agl.plugin.AlignGuardPlugin")) for p in cfg.get("plugins") or []
    )


def alignguard_enabled(cfg: Any) -> bool:
    """True when this config selected ``adapter: alignguard`` (the plugin rewrote it)."""
    block = cfg.get("alignguard") if hasattr(cfg, "get") else None
    if block is None:
        return False
    value = block.get(_ENABLED_KEY) if isinstance(block, dict) else getattr(block, _ENABLED_KEY, None)
    return bool(value)


def check_supported(cfg: dict) -> None:
    """Reject combinations AlignGuard cannot handle correctly, naming the YAML key and the fix."""
    if cfg.get("rl"):
        raise ValueError(
            f"adapter: alignguard does not support rl: {cfg.get('rl')!r} (preference/RL trainers); "
            "remove `rl:` or use adapter: lora"
        )
    if cfg.get("peft_use_dora"):
        raise ValueError("adapter: alignguard does not support peft_use_dora: true; set it to false")


class AlignGuardPlugin(BasePlugin):
    """AlignGuard-LoRA: Fisher-guided regularisation of LoRA updates on alignment-critical directions."""

    def get_input_args(self) -> str:
        return "axolotl_agl.args.AlignGuardArgs"

    def get_adapter_capabilities(self) -> list:
        try:
            from axolotl.integrations.base import AdapterCapabilities
        except ImportError:  # Axolotl without adapter capabilities
            return []
        return [AdapterCapabilities(name=ADAPTER_NAME, lora_like=True)]

    def register(self, cfg: dict) -> None:
        if cfg.get("adapter") != ADAPTER_NAME:
            return
        check_supported(cfg)
        block = cfg.get("alignguard")
        if block is None:
            block = {}
        elif not isinstance(block, dict):
            raise ValueError("alignguard: must be a mapping of settings (see the README), e.g. `alignguard: {}`")
        block = dict(block)
        block[_ENABLED_KEY] = True
        cfg["alignguard"] = block
        cfg["adapter"] = "qlora" if cfg.get("load_in_4bit") else "lora"
        if not torch.cuda.is_available():
            for key in _TRITON_LORA_KERNELS:
                if cfg.get(key) is None:
                    cfg[key] = False
        LOG.info("AlignGuard: adapter: alignguard -> %s", cfg["adapter"])

    def on_config_validation_error(self, cfg: dict) -> None:
        block = cfg.get("alignguard")
        if isinstance(block, dict) and block.pop(_ENABLED_KEY, False):
            cfg["adapter"] = ADAPTER_NAME

    def pre_model_load(self, cfg: Any) -> None:
        if not alignguard_enabled(cfg) or torch.cuda.is_available():
            return
        # Axolotl maps each DDP rank to accelerator device LOCAL_RANK, which does not exist on a
        # CPU-only machine; keep every rank on the CPU instead (gloo DDP).
        if int(cfg.get("world_size") or 1) > 1 and isinstance(cfg.get("device_map"), dict):
            cfg["device_map"] = {"": "cpu"}

    def get_trainer_cls(self, cfg: Any) -> type | None:
        if not alignguard_enabled(cfg) or cfg.get("rl"):
            return None
        from axolotl_agl.trainer import AlignGuardTrainer

        return AlignGuardTrainer

    def post_trainer_create(self, cfg: Any, trainer: Any) -> None:
        if not alignguard_enabled(cfg):
            return
        from axolotl_agl.lora_modules import find_lora_linears
        from axolotl_agl.precompute import obtain_fisher_summary
        from axolotl_agl.trainer import AlignGuardTrainer

        if not isinstance(trainer, AlignGuardTrainer):
            raise RuntimeError(
                f"adapter: alignguard needs its own trainer, but another plugin supplied {type(trainer).__name__}; "
                "remove the other trainer-replacing plugin from `plugins:`"
            )
        agl = agl_config_of(cfg)
        result = obtain_fisher_summary(
            trainer.model,
            trainer.processing_class,
            agl,
            base_model=str(cfg.get("base_model")),
            sequence_len=int(cfg.get("sequence_len") or 2048),
            output_dir=str(cfg.get("output_dir")),
        )
        handles = {h.name: h for h in find_lora_linears(trainer.model)}
        trainer.set_alignguard_state(agl, [(handles[name], fisher) for name, fisher in result.summary.items()])
        state = "reused" if result.reused else "computed"
        LOG.info("AlignGuard: Fisher %s (%s); regularising %d LoRA modules", state, result.path, len(handles))


def agl_config_of(cfg: Any) -> AlignGuardConfig:
    """The validated ``alignguard:`` block of an Axolotl config, as :class:`AlignGuardConfig`."""
    block = cfg.get("alignguard")
    if isinstance(block, AlignGuardConfig):
        return block
    if isinstance(block, dict):
        block = block.to_dict() if callable(getattr(type(block), "to_dict", None)) else dict(block)
    elif block is not None:
        block = block.model_dump()
    return AlignGuardConfig.model_validate(block or {})
