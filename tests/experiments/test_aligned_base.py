"""The aligned base: reused only while its recipe is unchanged; built from the shipped safety LoRA while that LoRA
was trained from the current recipe; trained otherwise (or on ``rebuild``)."""

import fnmatch
import json
from pathlib import Path

import pytest
import yaml

from axolotl_agl.experiments import aligned_base

REPO = Path(__file__).resolve().parents[2]


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


# ---------------------------------------------------------------------------------------------------------------------
# The shipped adapter
# ---------------------------------------------------------------------------------------------------------------------


def test_the_shipped_safety_lora_was_trained_from_the_current_recipe():
    metadata = aligned_base.verify_shipped_adapter()  # also: its tensor bytes are the ones it records
    recipe = aligned_base.alignment_recipe_fingerprint()
    assert metadata[aligned_base.META_RECIPE] == recipe, (
        f"the safety-SFT recipe changed (now {recipe[:12]}, the shipped LoRA was trained from "
        f"{metadata[aligned_base.META_RECIPE][:12]}): retrain and re-export it with `{aligned_base.REEXPORT_HINT}` "
        "and commit axolotl_agl/experiments/data/aligned_smollm2_lora/"
    )
    assert aligned_base.shipped_adapter_is_current()


def test_the_shipped_safety_lora_is_the_recipes_fp32_lora_without_machine_paths():
    shipped = aligned_base.SHIPPED_ADAPTER
    header, _ = aligned_base.read_safetensors_header(shipped / aligned_base.ADAPTER_WEIGHTS)
    tensors = {name: entry for name, entry in header.items() if name != "__metadata__"}
    assert {entry["dtype"] for entry in tensors.values()} == {"F32"}
    config = json.loads((shipped / aligned_base.ADAPTER_CONFIG).read_text())
    assert config["base_model_name_or_path"] is None and "/" not in json.dumps(config).replace("\\/", "")
    recipe = yaml.safe_load(aligned_base.ALIGN_CONFIG.read_text())
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (
        recipe["lora_r"],
        recipe["lora_alpha"],
        recipe["lora_dropout"],
    )
    linear = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert set(config["target_modules"]) == linear  # lora_target_linear: every linear layer of SmolLM2
    layers = {name.split(".layers.")[1].split(".")[0] for name in tensors}
    assert len(layers) == 30 and len(tensors) == 30 * len(linear) * 2  # lora_A and lora_B of every layer


def test_the_shipped_safety_lora_is_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["axolotl_agl"]
    package = REPO / "axolotl_agl"
    for name in (aligned_base.ADAPTER_WEIGHTS, aligned_base.ADAPTER_CONFIG):
        relative = (aligned_base.SHIPPED_ADAPTER / name).relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, glob) for glob in globs), relative


def _write_safetensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)


def _fake_adapter(directory: Path, dtype=None) -> Path:
    import torch

    directory.mkdir(parents=True)
    gen = torch.Generator().manual_seed(0)
    tensors = {
        "base_model.model.layers.0.q_proj.lora_A.weight": torch.randn(4, 8, generator=gen),
        "base_model.model.layers.0.q_proj.lora_B.weight": torch.randn(8, 4, generator=gen),
    }
    if dtype is not None:
        tensors = {k: v.to(dtype) for k, v in tensors.items()}
    _write_safetensors(directory / aligned_base.ADAPTER_WEIGHTS, tensors, {"format": "pt"})
    config = {"base_model_name_or_path": "/home/someone/.cache/base", "r": 4, "peft_type": "LORA"}
    (directory / aligned_base.ADAPTER_CONFIG).write_text(json.dumps(config))
    return directory


def test_export_copies_the_tensor_bytes_and_records_recipe_and_hashes(tmp_path):
    import torch
    from safetensors.torch import load_file

    source = _fake_adapter(tmp_path / "align-out")
    dest = tmp_path / "shipped"
    metadata = aligned_base.export_adapter(source, dest, recipe_sha256="ab" * 32)
    src_file, dst_file = source / aligned_base.ADAPTER_WEIGHTS, dest / aligned_base.ADAPTER_WEIGHTS
    _, src_offset = aligned_base.read_safetensors_header(src_file)
    header, dst_offset = aligned_base.read_safetensors_header(dst_file)
    assert src_file.read_bytes()[src_offset:] == dst_file.read_bytes()[dst_offset:]  # byte for byte
    assert dst_offset % 8 == 0
    assert header["__metadata__"] == metadata and metadata["format"] == "pt"
    assert metadata[aligned_base.META_RECIPE] == "ab" * 32
    assert metadata[aligned_base.META_SOURCE] == aligned_base._sha256_from(src_file, 0)
    loaded, original = load_file(str(dst_file)), load_file(str(src_file))
    assert loaded.keys() == original.keys() and all(torch.equal(loaded[k], original[k]) for k in loaded)
    assert json.loads((dest / aligned_base.ADAPTER_CONFIG).read_text())["base_model_name_or_path"] is None
    assert aligned_base.verify_shipped_adapter(dest) == metadata

    installed = aligned_base.install_shipped_adapter(tmp_path / "cache" / "align-out", tmp_path / "base", dest)
    config = json.loads((installed / aligned_base.ADAPTER_CONFIG).read_text())
    assert config["base_model_name_or_path"] == str(tmp_path / "base")
    assert (installed / aligned_base.ADAPTER_WEIGHTS).read_bytes() == dst_file.read_bytes()


def test_export_refuses_anything_but_float32(tmp_path):
    import torch

    source = _fake_adapter(tmp_path / "align-out", dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="float32"):
        aligned_base.export_adapter(source, tmp_path / "shipped", recipe_sha256="ab" * 32)


def test_verify_rejects_changed_tensor_bytes(tmp_path):
    dest = tmp_path / "shipped"
    aligned_base.export_adapter(_fake_adapter(tmp_path / "align-out"), dest, recipe_sha256="ab" * 32)
    weights = dest / aligned_base.ADAPTER_WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="tensor bytes have sha256"):
        aligned_base.verify_shipped_adapter(dest)
    with pytest.raises(FileNotFoundError):
        aligned_base.verify_shipped_adapter(tmp_path / "nothing")


def test_export_script_needs_a_build_of_the_current_recipe(tmp_path, monkeypatch, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("export_aligned_adapter", REPO / "scripts/export_aligned_adapter.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    aligned = tmp_path / aligned_base.ALIGNED_NAME
    aligned.mkdir()
    adapter = _fake_adapter(tmp_path / "align-out")
    dest = tmp_path / "shipped"
    args = ["--aligned", str(aligned), "--dest", str(dest)]
    assert script.main(args) == 1 and "build the aligned base first" in capsys.readouterr().err
    (aligned / "agl_source.json").write_text(json.dumps({"adapter": str(adapter), "recipe_sha256": "old"}))
    assert script.main(args) == 1 and "retrain it first" in capsys.readouterr().err
    recipe = aligned_base.alignment_recipe_fingerprint()
    (aligned / "agl_source.json").write_text(json.dumps({"adapter": str(adapter), "recipe_sha256": recipe}))
    assert script.main(args) == 0
    assert aligned_base.verify_shipped_adapter(dest)[aligned_base.META_RECIPE] == recipe


# ---------------------------------------------------------------------------------------------------------------------
# ensure_aligned_base: merge the shipped LoRA, or train
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def builder(tmp_path, monkeypatch):
    """ensure_aligned_base with the SmolLM2 conversion, the training and the merge replaced by recorders."""
    calls = {"train": [], "merge": []}
    base = tmp_path / "cache" / "smollm2-135m-instruct"
    monkeypatch.setattr(aligned_base, "ensure_smollm2_checkpoint", lambda cache: base)

    def train(config, cwd=None):
        cfg = yaml.safe_load(Path(config).read_text())
        calls["train"].append(cfg)
        _fake_adapter(Path(cfg["output_dir"]))
        return []

    def merge(base_dir, adapter_dir, out_dir, extra=None):
        calls["merge"].append((base_dir, adapter_dir, out_dir, extra))
        out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir

    monkeypatch.setattr(aligned_base, "stream_axolotl_train", train)
    monkeypatch.setattr(aligned_base, "merge_adapter", merge)
    return calls, tmp_path / "cache"


def test_a_current_shipped_lora_is_merged_not_trained(builder, capsys):
    calls, cache = builder
    out = aligned_base.ensure_aligned_base(cache)
    assert out == cache / aligned_base.ALIGNED_NAME and calls["train"] == []
    [(base, adapter, merged_out, extra)] = calls["merge"]
    assert adapter == cache / "align-out" and merged_out == out and extra == {"adapter_origin": "shipped"}
    shipped = aligned_base.SHIPPED_ADAPTER / aligned_base.ADAPTER_WEIGHTS
    assert (adapter / aligned_base.ADAPTER_WEIGHTS).read_bytes() == shipped.read_bytes()
    assert (adapter / aligned_base.ADAPTER_CONFIG).is_file()  # a real adapter folder for SafeMERGE and AsFT
    assert "merging the shipped safety LoRA" in capsys.readouterr().out


def test_a_changed_recipe_or_rebuild_trains(builder, monkeypatch, capsys):
    calls, cache = builder
    aligned_base.ensure_aligned_base(cache, rebuild=True)
    assert len(calls["train"]) == 1 and calls["merge"][-1][3] == {"adapter_origin": "trained"}
    assert calls["train"][0]["output_dir"] == str(cache / "align-out") and calls["train"][0]["max_steps"] == 100

    monkeypatch.setattr(aligned_base, "alignment_recipe_fingerprint", lambda: "cd" * 32)
    aligned_base.ensure_aligned_base(cache)
    assert len(calls["train"]) == 2
    out = capsys.readouterr().out
    assert "the recipe is now cdcdcdcdcdcd: training it" in out and aligned_base.REEXPORT_HINT in out


def test_a_quick_base_always_trains_into_its_own_folders(builder):
    calls, cache = builder
    aligned_base.ensure_aligned_base(cache, max_steps=15, name="quick-base")
    [cfg] = calls["train"]
    assert cfg["max_steps"] == 15 and cfg["output_dir"] == str(cache / "quick-base-train")
    assert calls["merge"][0][3] == {"adapter_origin": "trained", "max_steps": 15}


# ---------------------------------------------------------------------------------------------------------------------
# The merge of the shipped LoRA is the trained base, weight for weight (needs this checkout's built cache)
# ---------------------------------------------------------------------------------------------------------------------


def _state_dict_sha256(model_dir: Path) -> str:
    import hashlib

    import torch
    from safetensors import safe_open

    digest = hashlib.sha256()
    with safe_open(str(model_dir / "model.safetensors"), "pt") as handle:
        for name in sorted(handle.keys()):
            tensor = handle.get_tensor(name)
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def test_merging_the_shipped_lora_gives_the_trained_aligned_base(tmp_path):
    cache = REPO / ".cache"
    trained, unaligned = cache / aligned_base.ALIGNED_NAME, cache / "smollm2-135m-instruct"
    source = trained / "agl_source.json"
    if not (source.is_file() and (unaligned / "model.safetensors").is_file()):
        pytest.skip(f"no built aligned base in {cache}")
    recorded = json.loads(source.read_text())
    if recorded.get("adapter_origin") == "shipped" or not aligned_base.is_current(trained):
        pytest.skip(f"{trained} is not a trained build of the current recipe")
    adapter = aligned_base.install_shipped_adapter(tmp_path / "align-out", unaligned)
    merged = aligned_base.merge_adapter(unaligned, adapter, tmp_path / "aligned", extra={"adapter_origin": "shipped"})
    assert _state_dict_sha256(merged) == _state_dict_sha256(trained)
    assert Path(recorded["adapter"]).is_dir() and (Path(recorded["adapter"]) / aligned_base.ADAPTER_CONFIG).is_file()


def test_a_variant_fingerprint_differs_from_the_shipped_recipe_and_follows_settings_and_inputs(tmp_path):
    from axolotl_agl.experiments import aligned_base as ab

    data = tmp_path / "rows.jsonl"
    data.write_text("a\n")
    first = ab.variant_recipe_fingerprint({"variant": "v", "steps": "100"}, [data])
    assert first != ab.alignment_recipe_fingerprint()
    assert first == ab.variant_recipe_fingerprint({"steps": "100", "variant": "v"}, [data])
    assert first != ab.variant_recipe_fingerprint({"variant": "v", "steps": "200"}, [data])
    data.write_text("b\n")
    assert first != ab.variant_recipe_fingerprint({"variant": "v", "steps": "100"}, [data])
