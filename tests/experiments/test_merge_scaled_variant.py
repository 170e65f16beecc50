"""``scripts/merge_scaled_variant.py``: the scaled copy of a LoRA merges to ``W + scale · ΔW`` (float64 reference)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import merge_scaled_variant as scaled  # noqa: E402

from tests.helpers import tiny_peft_llama  # noqa: E402


def _merged_weights(adapter_dir: Path) -> dict[str, torch.Tensor]:
    from peft import PeftModel

    base = tiny_peft_llama(["q_proj", "v_proj"], seed=0).unload()  # the same seeded base weights
    merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
    return {k: v.double().clone() for k, v in merged.state_dict().items()}


@pytest.mark.parametrize("scale", [0.5, 0.75])
def test_scaled_adapter_merges_to_the_base_plus_scale_times_delta(tmp_path, scale):
    model = tiny_peft_llama(["q_proj", "v_proj"], init_lora_weights=False, seed=0)
    model.save_pretrained(tmp_path / "full")
    base = {k: v.double().clone() for k, v in tiny_peft_llama(["q_proj"], seed=0).unload().state_dict().items()}
    out = scaled.write_scaled_adapter(tmp_path / "full", tmp_path / "scaled", scale)
    full, part = _merged_weights(tmp_path / "full"), _merged_weights(out)
    changed = [k for k in base if not torch.equal(full[k], base[k])]
    assert changed and all("q_proj" in k or "v_proj" in k for k in changed)
    for key, w in base.items():
        torch.testing.assert_close(part[key] - w, scale * (full[key] - w), rtol=1e-5, atol=1e-7)


def test_scale_must_be_positive(tmp_path):
    with pytest.raises(SystemExit, match="--scale 0"):
        scaled.write_scaled_adapter(tmp_path, tmp_path / "out", 0.0)
