"""``AlignGuardPlugin``: the Axolotl entry point (``plugins: [axolotl_agl.AlignGuardPlugin]``).

Thin by design: it rewrites ``adapter: alignguard`` to ``lora``/``qlora`` so every LoRA path of
Axolotl applies (4-bit loading included), declares the ``alignguard:`` block, swaps in
:class:`~axolotl_agl.integration.trainer.AlignGuardTrainer`, and runs (or reuses) the Fisher pass once the
trainer exists. It does nothing for configs that do not select ``adapter: alignguard``, except
recording the forgetting curve when ``alignguard.forgetting`` is set (``add_callbacks_post_trainer``).

Bad inputs are rejected before any expensive work, each with the YAML key and the fix:
unsupported combinations and duplicate plugins in ``register`` (before validation), the
``alignguard:`` values during validation, the alignment data in ``load_datasets`` (before the
training data and the model are loaded), the target modules and ``rank_k`` in ``pre_model_load``
(on a weightless meta-device copy of the model) and again on the real LoRA layers in
``post_lora_load`` (before the Fisher pass).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from axolotl.integrations.base import BasePlugin
from torch import nn

from axolotl_agl.integration.args import AlignGuardConfig

LOG = logging.getLogger(__name__)
# Axolotl's console handler shows INFO for loggers named "axolotl*"; ours are not children of the
# "axolotl" logger, so set the package level here (only when running under Axolotl).
logging.getLogger("axolotl_agl").setLevel(logging.INFO)

PLUGIN_PATH = "axolotl_agl.AlignGuardPlugin"
ADAPTER_NAME = "alignguard"
_ENABLED_KEY = "active"
_FORGETTING_KEY = "forgetting"
_TRITON_LORA_KERNELS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")
_UNSUPPORTED_TRAINERS = {
    "reward_model": "reward-model training",
    "process_reward_model": "process-reward-model training",
    "trainer_cls": "a custom trainer class",
}


def _is_our_plugin(name: Any) -> bool:
    text = str(name)
    return text.rsplit(".", 1)[-1] == "AlignGuardPlugin" and "axolotl_agl" in text


def _listed(cfg: dict) -> bool:
    return any(_is_our_plugin(p) for p in cfg.get("plugins") or [])


def alignguard_enabled(cfg: Any) -> bool:
    """True when this config selected ``adapter: alignguard`` (the plugin rewrote it)."""
    block = cfg.get("alignguard") if hasattr(cfg, "get") else None
    if block is None:
        return False
    value = block.get(_ENABLED_KEY) if isinstance(block, dict) else getattr(block, _ENABLED_KEY, None)
    return bool(value)


# --------------------------------------------------------------------------------------------------------------
# Checks on the raw config (register time: before validation, before anything is loaded or written)
# --------------------------------------------------------------------------------------------------------------


def fsdp_version_of(cfg: dict) -> int | None:
    """The FSDP version a config selects (Axolotl's default is 1), or None without FSDP."""
    fsdp_config = cfg.get("fsdp_config") or {}
    if not fsdp_config and not cfg.get("fsdp"):
        return None
    version = cfg.get("fsdp_version") or fsdp_config.get("fsdp_version") or fsdp_config.get("version")
    try:
        return int(version) if version else 1
    except (TypeError, ValueError):
        return 1


def deepspeed_stage_of(value: Any) -> int | None:
    """The ZeRO stage of a ``deepspeed:`` value (a JSON file path or a mapping), when it can be told."""
    if not value:
        return None
    if isinstance(value, dict):
        data = value
    else:
        path = Path(str(value)).expanduser()
        if not path.is_file():
            return 3 if "zero3" in path.name.lower() else None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    stage = (data.get("zero_optimization") or {}).get("stage") if isinstance(data, dict) else None
    try:
        return int(stage)
    except (TypeError, ValueError):
        return None


def check_supported(cfg: dict) -> None:
    """Reject combinations AlignGuard cannot handle correctly, naming the YAML key and the fix."""
    if cfg.get("rl"):
        raise ValueError(
            f"adapter: alignguard does not support rl: {cfg.get('rl')!r} (preference/RL trainers); "
            "remove `rl:` or use adapter: lora"
        )
    for key, what in _UNSUPPORTED_TRAINERS.items():
        if cfg.get(key):
            raise ValueError(
                f"adapter: alignguard does not support {key}: {cfg.get(key)!r} ({what}: AlignGuard supplies its "
                f"own trainer); remove `{key}:` or use adapter: lora"
            )
    if cfg.get("peft_use_dora"):
        raise ValueError("adapter: alignguard does not support peft_use_dora: true; set it to false")
    if fsdp_version_of(cfg) == 1:
        raise ValueError(
            "adapter: alignguard does not support FSDP1 (fsdp_version: 1, or `fsdp:`/`fsdp_config:` without "
            "fsdp_version: 2): its flattened parameters hide the LoRA factors from the penalty. "
            "Set fsdp_version: 2 with an fsdp_config: block, or train without FSDP"
        )
    if deepspeed_stage_of(cfg.get("deepspeed")) == 3:
        raise ValueError(
            f"adapter: alignguard does not support DeepSpeed ZeRO-3 (deepspeed: {cfg.get('deepspeed')!r} has "
            "zero_optimization.stage 3): ZeRO-3 partitions the LoRA weights, so the penalty would see empty "
            "shards. Use a ZeRO-1/2 config (e.g. deepspeed_configs/zero2.json) or fsdp_version: 2"
        )


def check_listed_once(cfg: dict) -> None:
    """The plugin must appear once in ``plugins:`` (two entries would run the Fisher pass and penalty twice)."""
    entries = [str(p) for p in cfg.get("plugins") or [] if _is_our_plugin(p)]
    if len(entries) > 1:
        raise ValueError(
            f"plugins: lists the AlignGuard plugin {len(entries)} times ({entries}); keep a single "
            f"`- {PLUGIN_PATH}` entry"
        )


def trainer_replacing_plugins(cfg: Any) -> list[str]:
    """Other plugins in this config's ``plugins:`` that supply their own trainer class (e.g. kd, diffusion)."""
    from axolotl.integrations.base import PluginManager
    from axolotl.utils.dict import DictDefault

    listed = {str(p) for p in cfg.get("plugins") or []}
    probe_cfg = cfg if isinstance(cfg, DictDefault) else DictDefault(dict(cfg))
    found = []
    for name, plugin in PluginManager.get_instance().plugins.items():
        if name not in listed or isinstance(plugin, AlignGuardPlugin):
            continue
        if type(plugin).get_trainer_cls is BasePlugin.get_trainer_cls:
            continue
        try:
            trainer_cls = plugin.get_trainer_cls(probe_cfg)
        except Exception as err:  # noqa: BLE001 - it tried to supply a trainer and failed: still a conflict
            found.append(f"{name} (its get_trainer_cls raised {type(err).__name__}: {err})")
            continue
        if trainer_cls is not None:
            found.append(f"{name} ({getattr(trainer_cls, '__name__', trainer_cls)})")
    return found


def check_no_other_trainer(cfg: Any) -> None:
    """Raise when another listed plugin replaces the trainer class: only one trainer can be used."""
    others = trainer_replacing_plugins(cfg)
    if others:
        raise ValueError(
            f"adapter: alignguard needs its own trainer, but plugins: also lists {', '.join(others)}, which "
            "replaces the trainer class too; remove that plugin (or its trainer setting) or use adapter: lora"
        )


# --------------------------------------------------------------------------------------------------------------
# Checks on the validated config, before the model is loaded
# --------------------------------------------------------------------------------------------------------------


def _examples_key(cfg: Any, agl: AlignGuardConfig) -> str:
    """What determines the tokenised alignment examples (so a memo is reused only for the same inputs)."""
    parts = [
        agl.model_dump(mode="json", include={"alignment_datasets", "fisher_num_samples", "fisher_max_tokens"}),
        str(cfg.get("tokenizer_config") or cfg.get("base_model")),
        str(cfg.get("chat_template")),
        cfg.get("sequence_len"),
    ]
    return json.dumps(parts, sort_keys=True, default=str)


def prepare_alignment_examples(cfg: Any, tokenizer: Any = None) -> list:
    """Read and tokenise the alignment data (warns when examples are cut); raises with the YAML key on bad data."""
    from axolotl_agl.integration.alignment_data import load_alignment_examples

    agl = agl_config_of(cfg)
    if tokenizer is None:
        from axolotl.loaders import load_tokenizer

        tokenizer = load_tokenizer(cfg)
    max_tokens = agl.fisher_max_tokens or int(cfg.get("sequence_len") or 2048)
    return load_alignment_examples(agl.alignment_datasets, tokenizer, agl.fisher_num_samples, max_tokens)


def prepare_forgetting_inputs(cfg: Any, fisher_examples: dict[str, list], tokenizer: Any = None) -> list:
    """Check ``alignguard.forgetting.general_prompts`` and return the alignment examples the curve evaluates.

    These are the first ``forgetting.max_examples`` alignment examples in file order, i.e. the start of the Fisher
    pass's examples (reused when already tokenised), whatever ``fisher_num_samples`` is, so runs with and without
    ``adapter: alignguard`` evaluate the same examples.
    """
    from axolotl_agl.forgetting.data import load_general_prompts
    from axolotl_agl.integration.alignment_data import load_alignment_examples

    agl = agl_config_of(cfg)
    load_general_prompts(agl.forgetting.general_prompts)  # a bad prompts file fails before the model is loaded
    count = agl.forgetting.max_examples
    memo = fisher_examples.get(_examples_key(cfg, agl))
    if memo is not None and len(memo) >= count:
        return memo[:count]
    if tokenizer is None:
        from axolotl.loaders import load_tokenizer

        tokenizer = load_tokenizer(cfg)
    max_tokens = agl.fisher_max_tokens or int(cfg.get("sequence_len") or 2048)
    return load_alignment_examples(agl.alignment_datasets, tokenizer, count, max_tokens)


def _forgetting_key(cfg: Any) -> str:
    """What determines the forgetting curve's alignment examples (so a memo is reused only for the same inputs)."""
    return _examples_key(cfg, agl_config_of(cfg)) + f"/forgetting={agl_config_of(cfg).forgetting.max_examples}"


def check_forgetting_supported(cfg: dict) -> None:
    """``alignguard.forgetting`` needs supervised training (labels); preference/RL trainers have none."""
    block = cfg.get("alignguard")
    if isinstance(block, dict) and block.get(_FORGETTING_KEY) is not None and cfg.get("rl"):
        raise ValueError(
            f"alignguard.forgetting does not support rl: {cfg.get('rl')!r} (preference/RL trainers have no "
            "supervised labels to count tokens and evaluate on); remove alignguard.forgetting or `rl:`"
        )


def _meta_model(cfg: Any) -> nn.Module | None:
    """The model built on the meta device (no weights, no memory), or None when that is not possible."""
    try:
        from axolotl.loaders.utils import load_model_config
        from transformers import AutoModelForCausalLM

        config = load_model_config(cfg)
        with torch.device("meta"):
            return AutoModelForCausalLM.from_config(config, trust_remote_code=cfg.get("trust_remote_code") is True)
    except Exception as err:  # noqa: BLE001 - the same checks run on the real LoRA layers later
        LOG.debug(
            "AlignGuard: cannot build %s on the meta device (%s); checking after loading", cfg.get("base_model"), err
        )
        return None


def _target_lora_config(cfg: Any, model: nn.Module) -> Any:
    """A ``LoraConfig`` with the target/exclude settings Axolotl will use (None when no target is set)."""
    from peft import LoraConfig

    targets = cfg.get("lora_target_modules") or []
    targets = list(targets) if isinstance(targets, (list, tuple)) else [targets]
    if cfg.get("lora_target_linear"):
        from axolotl.loaders.adapter import find_all_linear_names

        targets = sorted(set(targets) | set(find_all_linear_names(model)))
    if not targets:
        return None
    raw = cfg.get("lora_target_modules")
    return LoraConfig(
        target_modules=raw if isinstance(raw, str) and not cfg.get("lora_target_linear") else targets,
        exclude_modules=cfg.get("lora_exclude_modules") or None,
        layers_to_transform=cfg.get("peft_layers_to_transform"),
        layers_pattern=cfg.get("peft_layers_pattern"),
    )


def _linear_dims(module: nn.Module) -> tuple[int, int] | None:
    d_in, d_out = getattr(module, "in_features", None), getattr(module, "out_features", None)
    return (int(d_in), int(d_out)) if isinstance(d_in, int) and isinstance(d_out, int) else None


def check_rank_k(agl: AlignGuardConfig, dims: dict[str, tuple[int, int]]) -> None:
    """``alignguard.rank_k`` must not exceed any targeted module's ``d_in`` or ``d_out``."""
    too_small = {name: d for name, d in dims.items() if agl.rank_k > min(d)}
    if too_small:
        name, (d_in, d_out) = min(too_small.items(), key=lambda item: min(item[1]))
        raise ValueError(
            f"alignguard.rank_k={agl.rank_k} is larger than {len(too_small)} targeted module(s), smallest "
            f"{name!r} (d_in={d_in}, d_out={d_out}); set alignguard.rank_k <= {min(d_in, d_out)} "
            "or remove those modules from lora_target_modules"
        )


def check_targets_on_meta(cfg: Any, agl: AlignGuardConfig) -> None:
    """Before loading weights: the LoRA targets must match at least one linear layer, and k must fit them."""
    model = _meta_model(cfg)
    if model is None:
        return
    try:
        lora_config = _target_lora_config(cfg, model)
    except Exception as err:  # noqa: BLE001 - PEFT validates its own config later
        LOG.debug("AlignGuard: cannot build the LoRA target config early: %s", err)
        return
    if lora_config is None:
        return
    from peft.tuners.tuners_utils import check_target_module_exists

    linears = {name: _linear_dims(m) for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    matched = {name: d for name, d in linears.items() if d and check_target_module_exists(lora_config, name)}
    if not matched:
        sample = sorted({name.rsplit(".", 1)[-1] for name in linears})[:12]
        raise ValueError(
            f"lora_target_modules {cfg.get('lora_target_modules')!r} (lora_target_linear: "
            f"{bool(cfg.get('lora_target_linear'))}) match no linear layer of {cfg.get('base_model')}, so "
            f"AlignGuard has nothing to regularise; use names of its linear layers, e.g. {sample}, or set "
            "lora_target_linear: true"
        )
    _warn_unmatched_entries(cfg, linears)
    check_rank_k(agl, matched)


def _warn_unmatched_entries(cfg: Any, linears: dict[str, Any]) -> None:
    raw = cfg.get("lora_target_modules")
    if not isinstance(raw, (list, tuple)):
        return
    suffixes = {name.rsplit(".", 1)[-1] for name in linears} | set(linears)
    missing = [entry for entry in raw if entry not in suffixes and not any(n.endswith(f".{entry}") for n in linears)]
    if missing:
        LOG.warning(
            "AlignGuard: lora_target_modules entries %s match no linear layer (AlignGuard regularises LoRA on "
            "linear layers only); check their spelling",
            missing,
        )


def check_lora_layers(model: nn.Module, agl: AlignGuardConfig) -> None:
    """After LoRA is attached, before the Fisher pass: there are LoRA linears, and k fits every one."""
    from axolotl_agl.core.lora_modules import find_lora_linears

    handles = find_lora_linears(model)
    if not handles:
        raise ValueError(
            "AlignGuard found no LoRA linear layers (lora_target_modules / lora_target_linear select none, or only "
            "embeddings); target at least one linear projection, e.g. lora_target_linear: true"
        )
    dims = {}
    for handle in handles:
        d = _linear_dims(handle.module) or _linear_dims(handle.base_layer)
        if d is not None:
            dims[handle.name] = d
    check_rank_k(agl, dims)


# --------------------------------------------------------------------------------------------------------------
# The plugin
# --------------------------------------------------------------------------------------------------------------


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


class AlignGuardPlugin(BasePlugin):
    """AlignGuard-LoRA: Fisher-guided regularisation of LoRA updates on alignment-critical directions."""

    def __init__(self) -> None:
        super().__init__()
        self._examples: dict[str, list] = {}
        self._forgetting_examples: dict[str, list] = {}
        self._targets_checked: str | None = None

    def get_input_args(self) -> str:
        return "axolotl_agl.integration.args.AlignGuardArgs"

    def get_adapter_capabilities(self) -> list:
        try:
            from axolotl.integrations.base import AdapterCapabilities
        except ImportError:  # Axolotl without adapter capabilities
            return []
        return [AdapterCapabilities(name=ADAPTER_NAME, lora_like=True)]

    def register(self, cfg: dict) -> None:
        check_forgetting_supported(cfg)
        if cfg.get("adapter") != ADAPTER_NAME:
            self._warn_if_block_ignored(cfg)
            return
        check_listed_once(cfg)
        check_supported(cfg)
        check_no_other_trainer(cfg)
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

    @staticmethod
    def _warn_if_block_ignored(cfg: dict) -> None:
        block = cfg.get("alignguard")
        if not (_listed(cfg) and isinstance(block, dict) and block and not block.get(_ENABLED_KEY)):
            return
        ignored = sorted(key for key in block if key != _FORGETTING_KEY)
        if _FORGETTING_KEY not in block:
            LOG.warning(
                "AlignGuard: the alignguard: block is ignored because adapter is %r; set adapter: alignguard to use it",
                cfg.get("adapter"),
            )
        elif ignored:
            LOG.warning(
                "AlignGuard: alignguard keys %s are ignored because adapter is %r (only alignguard.forgetting "
                "applies); set adapter: alignguard to use them",
                ignored,
                cfg.get("adapter"),
            )

    def on_config_validation_error(self, cfg: dict) -> None:
        block = cfg.get("alignguard")
        if isinstance(block, dict) and block.pop(_ENABLED_KEY, False):
            cfg["adapter"] = ADAPTER_NAME

    def load_datasets(self, cfg: Any, preprocess: bool = False) -> None:
        """Check the LoRA targets, ``rank_k``, the alignment data (and the forgetting prompts) early.

        Axolotl calls this before it loads the training data and the model.
        """
        if alignguard_enabled(cfg):
            _keep_cpu_ranks_on_cpu(cfg)
            self._check_targets_once(cfg)
            self._examples = {_examples_key(cfg, agl_config_of(cfg)): prepare_alignment_examples(cfg)}
        if agl_config_of(cfg).forgetting is not None:
            self._forgetting_examples = {_forgetting_key(cfg): prepare_forgetting_inputs(cfg, self._examples)}
        return None

    def _check_targets_once(self, cfg: Any) -> None:
        key = json.dumps(
            [cfg.get(k) for k in ("base_model", "base_model_config", "lora_target_modules", "lora_target_linear")]
            + [agl_config_of(cfg).rank_k],
            default=str,
        )
        if self._targets_checked != key:
            check_targets_on_meta(cfg, agl_config_of(cfg))
            self._targets_checked = key

    def pre_model_load(self, cfg: Any) -> None:
        if not alignguard_enabled(cfg):
            return
        self._check_targets_once(cfg)  # entry points that skip load_datasets (agl-fisher, merge-lora, ...)

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
            check_lora_layers(model, agl_config_of(cfg))

    def get_trainer_cls(self, cfg: Any) -> type | None:
        if not alignguard_enabled(cfg) or cfg.get("rl"):
            return None
        check_no_other_trainer(cfg)
        from axolotl_agl.integration.trainer import AlignGuardTrainer

        return AlignGuardTrainer

    def add_callbacks_post_trainer(self, cfg: Any, trainer: Any) -> list:
        """The forgetting-curve callback when ``alignguard.forgetting`` is set (adapter alignguard or lora)."""
        settings = agl_config_of(cfg).forgetting
        if settings is None:
            return []
        from axolotl_agl.integration.forgetting_callback import ForgettingCallback

        examples = self._forgetting_examples.get(_forgetting_key(cfg))
        if examples is None:  # entry points that skip load_datasets
            examples = prepare_forgetting_inputs(cfg, self._examples, trainer.processing_class)
        return [
            ForgettingCallback(
                trainer,
                settings,
                alignment_examples=examples,
                base_model=str(cfg.get("base_model")),
                max_tokens=int(cfg.get("sequence_len") or 2048),
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
        result = obtain_fisher_summary(
            trainer.model,
            trainer.processing_class,
            agl,
            base_model=str(cfg.get("base_model")),
            sequence_len=int(cfg.get("sequence_len") or 2048),
            output_dir=str(cfg.get("output_dir")),
            examples=self._examples.get(_examples_key(cfg, agl)),
        )
        handles = {h.name: h for h in find_lora_linears(trainer.model)}
        modules = [(handles[name], fisher) for name, fisher in result.summary.items()]
        trainer.set_alignguard_state(agl, modules, fisher_checksum=result.metadata.get("checksum"))
        state = "reused" if result.reused else "computed"
        base_types = sorted({type(h.base_layer).__name__ for h in handles.values()})
        LOG.info(
            "AlignGuard: Fisher %s (%s); regularising %d LoRA modules (base layers: %s)",
            state,
            result.path,
            len(handles),
            ", ".join(base_types),
        )


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
