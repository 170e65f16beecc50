"""The config checks and settings as functions, and the compatibility rules between Axolotl releases.

Each rule is detected from what the installed Axolotl provides or what its validation produced, never from its
version: plugin names in the ``module:Class`` form (0.21), the FSDP version validation fills in (1 on 0.19, 2 on
0.20+). DeepSpeed sequence parallelism (0.21) is not refused: the penalty is scaled like the task loss
(tests/integration/test_penalised.py). The plugin keeps no per-config state on its instance.
"""

from __future__ import annotations

import gc
import re

import pytest

pytest.importorskip("axolotl")

import axolotl.integrations.base as axolotl_base  # noqa: E402
from axolotl.integrations.base import BasePlugin, PluginManager  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402

from axolotl_agl.integration import checks, settings  # noqa: E402
from axolotl_agl.integration.plugin import AlignGuardPlugin  # noqa: E402

PLUGIN = "axolotl_agl.AlignGuardPlugin"
KD = "axolotl.integrations.kd.KDPlugin"

pytestmark = pytest.mark.usefixtures("fresh_plugin_manager")


def raw(**overrides) -> DictDefault:
    """A raw (unvalidated) ``adapter: alignguard`` config, as ``register`` sees it."""
    return DictDefault({"base_model": "m", "adapter": "alignguard", "plugins": [PLUGIN]} | overrides)


# --------------------------------------------------------------------------------------------------------------
# Plugin names (`module:Class`, Axolotl 0.21)
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("axolotl_has_normaliser", [True, False])
def test_plugin_names_are_normalised_with_or_without_axolotls_normaliser(monkeypatch, axolotl_has_normaliser):
    calls = []
    if axolotl_has_normaliser:
        monkeypatch.setattr(
            axolotl_base, "normalize_plugin_name", lambda t: calls.append(t) or t.replace(":", "."), raising=False
        )
    else:
        monkeypatch.delattr(axolotl_base, "normalize_plugin_name", raising=False)
    assert checks.normalize_plugin_name("axolotl.integrations.kd:KDPlugin") == KD
    assert checks.normalize_plugin_name(KD) == KD
    assert bool(calls) == axolotl_has_normaliser


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        (PLUGIN, True),
        ("axolotl_agl:AlignGuardPlugin", True),
        ("axolotl_agl.integration.plugin:AlignGuardPlugin", True),
        ("axolotl_agl.integration.plugin.AlignGuardPlugin", True),
        ("other_package:AlignGuardPlugin", False),
        ("axolotl_agl:OtherPlugin", False),
    ],
)
def test_own_plugin_is_recognised_in_every_spelling(name, ours):
    assert checks.is_our_plugin(name) is ours


def test_plugin_listed_twice_in_two_spellings_is_rejected():
    with pytest.raises(ValueError, match=r"plugins: lists the AlignGuard plugin 2 times"):
        checks.check_listed_once(raw(plugins=[PLUGIN, "axolotl_agl.integration.plugin:AlignGuardPlugin"]))


def test_kd_plugin_named_module_colon_class_is_rejected_in_register():
    """What Axolotl 0.21 does with ``axolotl.integrations.kd:KDPlugin``: registers it under its dotted name."""
    manager = PluginManager.get_instance()
    manager.register(KD)
    manager.register(PLUGIN)
    cfg = raw(plugins=["axolotl.integrations.kd:KDPlugin", PLUGIN], kd_trainer=True)
    with pytest.raises(ValueError, match=re.escape(f"plugins: also lists {KD} (") + r".*replaces the trainer class"):
        manager.plugins[PLUGIN].register(cfg)
    assert cfg.adapter == "alignguard", "rejected before anything was rewritten"


def test_agl_fisher_accepts_a_module_colon_class_plugin_entry(tmp_path):
    from axolotl_agl.integration.cli import _check_yaml_selects_alignguard

    config = tmp_path / "cfg.yml"
    config.write_text("adapter: alignguard\nplugins:\n  - axolotl_agl:AlignGuardPlugin\n", encoding="utf-8")
    _check_yaml_selects_alignguard(str(config))


# --------------------------------------------------------------------------------------------------------------
# FSDP: decided on what validation filled in
# --------------------------------------------------------------------------------------------------------------


def test_unversioned_fsdp_config_passes_register():
    """0.20+ runs it as FSDP2 (and has no FSDP1): it must not be refused before validation."""
    cfg = raw(fsdp_config={"reshard_after_forward": True})
    AlignGuardPlugin().register(cfg)
    assert cfg.adapter == "lora"


@pytest.mark.parametrize(
    "overrides",
    [{"fsdp_version": 1}, {"fsdp_config": {"fsdp_version": 1}}, {"fsdp_config": {"version": "1"}}],
    ids=["top-level", "fsdp_config.fsdp_version", "fsdp_config.version"],
)
def test_explicit_fsdp1_is_rejected_in_register(overrides):
    with pytest.raises(ValueError, match=r"does not support FSDP1 \(fsdp_version: 1\).*Set fsdp_version: 2"):
        AlignGuardPlugin().register(raw(**overrides))


@pytest.mark.parametrize(("filled_in", "rejected"), [(1, True), (2, False)])
def test_validated_fsdp_version_decides(filled_in, rejected):
    """The validated config of an unversioned ``fsdp_config:`` carries 1 on Axolotl <= 0.19 and 2 on 0.20+."""
    cfg = DictDefault({"fsdp_config": {"fsdp_version": filled_in}, "fsdp_version": filled_in})
    if rejected:
        with pytest.raises(ValueError, match=r"does not support FSDP1 \(this Axolotl runs an fsdp_config: without"):
            checks.check_validated(cfg)
    else:
        checks.check_validated(cfg)
    checks.check_validated(DictDefault({}))  # no FSDP at all


# --------------------------------------------------------------------------------------------------------------
# Context / sequence parallelism: accepted with and without DeepSpeed (ring attention on 0.19/0.20 averages the
# gradients; DeepSpeed Ulysses on 0.21 divides the task loss and the penalty alike, see test_penalised.py)
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"deepspeed": {"zero_optimization": {"stage": 2}}, "context_parallel_size": 2},
        {"deepspeed": {"zero_optimization": {"stage": 2}}, "sequence_parallel_degree": 4},
        {"deepspeed": {"zero_optimization": {"stage": 1}}, "context_parallel": {"size": 2}},
        {"deepspeed": {"zero_optimization": {"stage": 2}}},
        {"context_parallel_size": 2},
    ],
    ids=["ds-cp-size", "ds-sp-degree", "ds-cp-block", "ds-only", "cp-only"],
)
def test_parallel_settings_are_not_refused(overrides):
    checks.check_supported(raw(**overrides))


# --------------------------------------------------------------------------------------------------------------
# Settings and the per-config state
# --------------------------------------------------------------------------------------------------------------


def test_alignment_data_settings_are_resolved_once():
    cfg = DictDefault({"base_model": "m", "sequence_len": 96, "alignguard": {"fisher_num_samples": 12}})
    fisher = settings.alignment_data_of(cfg)
    assert (fisher.max_examples, fisher.max_tokens, fisher.tokenizer) == (12, 96, "m")
    cfg.alignguard["fisher_max_tokens"] = 40
    assert settings.alignment_data_of(cfg).max_tokens == 40
    cfg.alignguard["forgetting"] = {"max_examples": 5}
    forgetting = settings.forgetting_data_of(cfg)
    assert forgetting.max_examples == 5 and forgetting.source_key == settings.alignment_data_of(cfg).source_key
    assert settings.sequence_len_of(DictDefault({})) == settings.FALLBACK_SEQUENCE_LEN


def test_the_sequence_len_fallback_is_written_once():
    from pathlib import Path

    sources = (Path(settings.__file__).parent).glob("*.py")
    hits = [
        p.name
        for p in sources
        if re.search(r"(\"sequence_len\"\)|\.sequence_len)\s+or\b", p.read_text(encoding="utf-8"))
    ]
    assert hits == ["settings.py"], hits


def test_plugin_keeps_no_state_of_its_own():
    assert vars(AlignGuardPlugin()) == vars(BasePlugin())


def test_state_belongs_to_one_config_and_goes_with_it(monkeypatch):
    loads = []
    monkeypatch.setattr(settings.AlignmentData, "load", lambda self, tokenizer: loads.append(self) or [object()] * 20)
    first = DictDefault({"base_model": "m", "alignguard": {"fisher_num_samples": 12}})
    examples = settings.state_of(first).alignment_examples(first, settings.alignment_data_of(first), tokenizer="t")
    smaller = settings.alignment_data_of(first, max_examples=5)
    assert settings.state_of(first).alignment_examples(first, smaller, tokenizer="t") == examples[:5]
    assert len(loads) == 1, "fewer rows of the same selection reuse the loaded ones"

    second = DictDefault(first.to_dict())  # equal content, another config object
    assert settings.state_of(second).examples == {}
    gc.collect()  # configs of earlier tests caught in reference cycles go now, not inside the count below
    before = len(settings._STATES)
    del first, second
    gc.collect()
    assert len(settings._STATES) == before - 2
    assert settings.state_of({"a": 1}) is not settings.state_of({"a": 1}), "a plain dict cannot be remembered"
