"""Every example config passes Axolotl's own validation, with the AlignGuard block intact."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytest.importorskip("axolotl")

from axolotl.cli.config import prepare_plugins  # noqa: E402
from axolotl.utils.config import validate_config  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402

from axolotl_agl.integration.plugin import agl_config_of, alignguard_enabled  # noqa: E402

CONFIGS = sorted((Path(__file__).parents[2] / "example_configs").glob("agl_*.yml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_config_validates(path):
    text = path.read_text()
    header = text.split("\nbase_model:")[0]
    assert text.startswith("#") and "accelerate launch -m axolotl.cli.train" in header
    assert "memory" in header.lower()
    cfg = DictDefault(yaml.safe_load(text))
    prepare_plugins(cfg)
    cfg = validate_config(cfg)
    assert alignguard_enabled(cfg)
    assert cfg.adapter == ("qlora" if cfg.load_in_4bit else "lora")
    agl_config_of(cfg)


def test_headline_config_is_qlora_flash_attention():
    cfg = DictDefault(yaml.safe_load((Path(__file__).parents[2] / "example_configs" / "agl_mistral.yml").read_text()))
    prepare_plugins(cfg)
    cfg = validate_config(cfg)
    assert cfg.adapter == "qlora" and cfg.load_in_4bit and cfg.attn_uses_flash_lib and cfg.sample_packing
