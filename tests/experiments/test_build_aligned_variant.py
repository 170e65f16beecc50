"""``scripts/build_aligned_variant.py``: the alignment rows of each look-alike-answer choice (training not run here)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import build_aligned_variant as variant  # noqa: E402

from axolotl_agl.data import default_alignment_path  # noqa: E402
from axolotl_agl.utils.io import read_jsonl  # noqa: E402


def test_lookalike_answer_choices():
    shipped = read_jsonl(default_alignment_path())
    written, own, both = (variant.alignment_rows(choice) for choice in ("written", "own", "both"))
    assert written == shipped
    assert len(own) == len(shipped)
    changed = [i for i, (a, b) in enumerate(zip(shipped, own, strict=True)) if a != b]
    assert changed and all(shipped[i]["kind"] == "lookalike" for i in changed), "only look-alike answers change"
    assert all(shipped[i]["messages"][0] == own[i]["messages"][0] for i in changed), "prompts are kept"
    assert len(both) == len(shipped) + len(changed)


def test_upper_layers_are_the_decoder_layers_from_the_index(tmp_path):
    (tmp_path / "config.json").write_text('{"num_hidden_layers": 30}')
    assert variant.upper_layers(tmp_path, 23) == list(range(23, 30))
    with pytest.raises(SystemExit, match="--layers-from 30"):
        variant.upper_layers(tmp_path, 30)
