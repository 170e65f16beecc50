"""Checks of an ``adapter: alignguard`` config, each raising a one-line error that names the YAML key and the fix.

Three moments, earliest first (the plugin hooks call them; every check is a function of its arguments):

* the raw config, in ``register`` (before Axolotl validates it, before anything is loaded or written):
  :func:`check_supported`, :func:`check_listed_once`, :func:`check_no_other_trainer`,
  :func:`check_forgetting_supported`, :func:`alignguard_block_of`;
* the validated config, before the model is loaded: :func:`check_validated` (what Axolotl filled in, e.g. the FSDP
  version) and :func:`check_targets_on_meta` (LoRA targets and ``rank_k`` on a weightless meta-device model);
* the real LoRA layers, before the Fisher pass: :func:`check_lora_layers`.

Differences between Axolotl releases are detected by feature (what the installed Axolotl provides, what its
validation produced), never by version number.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from axolotl_agl.integration.args import AlignGuardConfig

LOG = logging.getLogger(__name__)

PLUGIN_PATH = "axolotl_agl.AlignGuardPlugin"
_UNSUPPORTED_TRAINERS = {
    "reward_model": "reward-model training",
    "process_reward_model": "process-reward-model training",
    "trainer_cls": "a custom trainer class",
}

# --------------------------------------------------------------------------------------------------------------
# Plugin names
# --------------------------------------------------------------------------------------------------------------


def normalize_plugin_name(name: Any) -> str:
    """The dotted ``module.Class`` name Axolotl registers a ``plugins:`` entry under.

    Axolotl 0.21 also accepts the entry-point form ``module:Class``; its own normaliser is used when it has one,
    otherwise ``:`` is read as ``.`` (what that normaliser does).
    """
    text = str(name)
    try:
        from axolotl.integrations.base import normalize_plugin_name as axolotl_normalise
    except ImportError:  # an Axolotl without `module:Class` plugin names (or no Axolotl at all)
        module, separator, cls = text.partition(":")
        return f"{module}.{cls}" if separator else text
    return axolotl_normalise(text)


def is_our_plugin(name: Any) -> bool:
    """True for any spelling of this plugin in ``plugins:`` (``axolotl_agl.AlignGuardPlugin``, ``axolotl_agl:...``)."""
    text = normalize_plugin_name(name)
    return text.rsplit(".", 1)[-1] == "AlignGuardPlugin" and "axolotl_agl" in text


def lists_our_plugin(cfg: Any) -> bool:
    return any(is_our_plugin(p) for p in cfg.get("plugins") or [])


def check_listed_once(cfg: Any) -> None:
    """The plugin must appear once in ``plugins:`` (two entries would run the Fisher pass and penalty twice)."""
    entries = [str(p) for p in cfg.get("plugins") or [] if is_our_plugin(p)]
    if len(entries) > 1:
        raise ValueError(
            f"plugins: lists the AlignGuard plugin {len(entries)} times ({entries}); keep a single "
            f"`- {PLUGIN_PATH}` entry"
        )


def _active_plugin_names(cfg: Any) -> set[str]:
    """Normalised names of the plugins whose hooks run for ``cfg``: the listed ones and Axolotl's built-in ones."""
    import axolotl.integrations.base as base

    names = {normalize_plugin_name(p) for p in cfg.get("plugins") or []}
    builtin = getattr(base, "get_builtin_plugins", None)
    names.update(builtin() if callable(builtin) else getattr(base, "BUILTIN_PLUGINS", ()))
    return names


def trainer_replacing_plugins(cfg: Any) -> list[str]:
    """Other active plugins that supply their own trainer class for this config (e.g. kd, diffusion)."""
    from axolotl.integrations.base import BasePlugin, PluginManager
    from axolotl.utils.dict import DictDefault

    active = _active_plugin_names(cfg)
    probe_cfg = cfg if isinstance(cfg, DictDefault) else DictDefault(dict(cfg))
    found = []
    for name, plugin in PluginManager.get_instance().plugins.items():
        if normalize_plugin_name(name) not in active or is_our_plugin(name):
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
    """Raise when another active plugin replaces the trainer class: only one trainer can be used."""
    others = trainer_replacing_plugins(cfg)
    if others:
        raise ValueError(
            f"adapter: alignguard needs its own trainer, but plugins: also lists {', '.join(others)}, which "
            "replaces the trainer class too; remove that plugin (or its trainer setting) or use adapter: lora"
        )


# --------------------------------------------------------------------------------------------------------------
# The raw config (register time)
# --------------------------------------------------------------------------------------------------------------


def alignguard_block_of(cfg: Any) -> dict:
    """A copy of the ``alignguard:`` block (``{}`` when absent); raises when it is not a mapping."""
    block = cfg.get("alignguard")
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ValueError("alignguard: must be a mapping of settings (see the README), e.g. `alignguard: {}`")
    return dict(block)


def explicit_fsdp_version(cfg: Any) -> int | None:
    """The FSDP version written in the YAML (``fsdp_version``, ``fsdp_config.fsdp_version`` / ``.version``), or None.

    A missing version means FSDP1 on Axolotl <= 0.19 and FSDP2 on 0.20+ (which removed FSDP1): that is decided
    after validation, from what Axolotl filled in (:func:`check_validated`).
    """
    fsdp_config = cfg.get("fsdp_config") or {}
    for value in (cfg.get("fsdp_version"), fsdp_config.get("fsdp_version"), fsdp_config.get("version")):
        if value is not None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


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


def _fsdp1_error(how: str) -> ValueError:
    return ValueError(
        f"adapter: alignguard does not support FSDP1 ({how}): its flattened parameters hide the LoRA factors from "
        "the penalty. Set fsdp_version: 2 with an fsdp_config: block, or train without FSDP"
    )


def check_supported(cfg: Any) -> None:
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
    if explicit_fsdp_version(cfg) == 1:
        raise _fsdp1_error("fsdp_version: 1")
    if cfg.get("fsdp"):
        raise _fsdp1_error("the `fsdp:` list of FSDP1 sharding strategies")
    if deepspeed_stage_of(cfg.get("deepspeed")) == 3:
        raise ValueError(
            f"adapter: alignguard does not support DeepSpeed ZeRO-3 (deepspeed: {cfg.get('deepspeed')!r} has "
            "zero_optimization.stage 3): ZeRO-3 partitions the LoRA weights, so the penalty would see empty "
            "shards. Use a ZeRO-1/2 config (e.g. deepspeed_configs/zero2.json) or fsdp_version: 2"
        )


def check_forgetting_supported(cfg: Any) -> None:
    """``alignguard.forgetting`` needs supervised training (labels); preference/RL trainers have none."""
    block = cfg.get("alignguard")
    if isinstance(block, dict) and block.get("forgetting") is not None and cfg.get("rl"):
        raise ValueError(
            f"alignguard.forgetting does not support rl: {cfg.get('rl')!r} (preference/RL trainers have no "
            "supervised labels to count tokens and evaluate on); remove alignguard.forgetting or `rl:`"
        )


def warn_if_block_ignored(cfg: Any) -> None:
    """Warn when the plugin is listed with an ``alignguard:`` block but another adapter (the block is then unused)."""
    block = cfg.get("alignguard")
    if not (lists_our_plugin(cfg) and isinstance(block, dict) and block and not block.get("active")):
        return
    ignored = sorted(key for key in block if key != "forgetting")
    if "forgetting" not in block:
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


# --------------------------------------------------------------------------------------------------------------
# The validated config, before the model is loaded
# --------------------------------------------------------------------------------------------------------------


def check_validated(cfg: Any) -> None:
    """Checks that need what Axolotl's validation filled in: an ``fsdp_config:`` without a version is FSDP1 on
    Axolotl <= 0.19 (validation writes ``fsdp_version: 1``) and FSDP2 on 0.20+ (it writes 2)."""
    if cfg.get("fsdp_config") and str(cfg.get("fsdp_version")) == "1":
        raise _fsdp1_error("this Axolotl runs an fsdp_config: without fsdp_version as FSDP1")


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


def targets_key(cfg: Any, agl: AlignGuardConfig) -> str:
    """What :func:`check_targets_on_meta` depends on (so it runs once per config even when two hooks ask)."""
    keys = ("base_model", "base_model_config", "lora_target_modules", "lora_target_linear", "lora_exclude_modules")
    return json.dumps([cfg.get(k) for k in keys] + [agl.rank_k], default=str)


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


# --------------------------------------------------------------------------------------------------------------
# The real LoRA layers, before the Fisher pass
# --------------------------------------------------------------------------------------------------------------


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
