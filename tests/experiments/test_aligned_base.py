"""The cached aligned base is reused only while its recipe (safety-SFT config + alignment data) is unchanged."""

import json

from axolotl_agl.experiments import aligned_base


def test_cache_is_current_only_for_the_same_recipe(tmp_path, monkeypatch):
    out = tmp_path / aligned_base.ALIGNED_NAME
    out.mkdir()
    assert not aligned_base.is_current(out)  # nothing recorded yet

    source = {"base": "b", "adapter": "a", "recipe_sha256": aligned_base.alignment_recipe_fingerprint()}
    (out / "agl_source.json").write_text(json.dumps(source))
    assert aligned_base.is_current(out)

    config = tmp_path / "align.yml"
    config.write_text(aligned_base.ALIGN_CONFIG.read_text() + "\n# changed\n")
    monkeypatch.setattr(aligned_base, "ALIGN_CONFIG", config)
    assert not aligned_base.is_current(out)


def test_a_cache_from_before_fingerprints_is_rebuilt(tmp_path):
    out = tmp_path / aligned_base.ALIGNED_NAME
    out.mkdir()
    (out / "agl_source.json").write_text(json.dumps({"base": "b", "adapter": "a"}))
    assert not aligned_base.is_current(out)
