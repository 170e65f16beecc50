"""The peer defences against float64 references (value and gradient where they train), and each training-time
peer once through the real Axolotl CLI (marked ``e2e``).

References are written the slow, obvious way: dense ``d_out × d_in`` updates, ``Ĉ = V Vᵀ/‖V‖_F`` materialised, a
Python loop over tokens with ``math`` functions, and the analytic gradient of the constrained-SFT objective.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from axolotl_agl.experiments.peers.asft import asft_penalty
from axolotl_agl.experiments.peers.constrained_sft import constrained_sft_sums, reply_positions
from axolotl_agl.experiments.peers.directions import Direction, directions_from_adapter, lora_layers
from axolotl_agl.experiments.peers.ewc import ewc_penalty
from axolotl_agl.experiments.peers.l2 import l2_penalty
from axolotl_agl.experiments.peers.safelora import project_adapter_state, safelora_similarity
from axolotl_agl.experiments.peers.safemerge import merge_adapter_states

F64 = torch.float64


def _factors(seed: int, d_out: int = 7, d_in: int = 5, r: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(r, d_in, generator=gen, dtype=F64), torch.randn(d_out, r, generator=gen, dtype=F64)


def _leaf(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [t.clone().requires_grad_(True) for t in tensors]


def _assert_value_and_grad(fast, slow, a: torch.Tensor, b: torch.Tensor) -> None:
    (a1, b1), (a2, b2) = _leaf(a, b), _leaf(a, b)
    value, reference = fast(a1, b1), slow(a2, b2)
    assert abs(float(reference)) > 1e-6, "reference too small to test anything"
    torch.testing.assert_close(value, reference, rtol=1e-10, atol=1e-12)
    value.backward()
    reference.backward()
    torch.testing.assert_close(a1.grad, a2.grad, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(b1.grad, b2.grad, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------------------------------------------
# Weight-space penalties
# --------------------------------------------------------------------------------------------------------------


def test_l2_matches_dense_frobenius():
    a, b = _factors(0)
    _assert_value_and_grad(lambda a, b: l2_penalty(a, b, 1.5), lambda a, b: ((1.5 * b @ a) ** 2).sum(), a, b)


def test_ewc_matches_elementwise_sum():
    a, b = _factors(1)
    fisher = torch.rand(7, 5, generator=torch.Generator().manual_seed(2), dtype=F64)

    def slow(a, b):
        delta = 0.5 * b @ a
        return sum(fisher[p, q] * delta[p, q] ** 2 for p in range(7) for q in range(5))

    _assert_value_and_grad(lambda a, b: ewc_penalty(a, b, 0.5, fisher), slow, a, b)


def _alignment_lora(seed: int, d_out: int = 7, d_in: int = 5, r: int = 3, scale: float = 2.0) -> Direction:
    a, b = _factors(seed, d_out, d_in, r)
    return Direction(scale * b, a)


def _dense_c(v: torch.Tensor) -> torch.Tensor:
    return v @ v.T / torch.linalg.matrix_norm(v)


@pytest.mark.parametrize("form", ["factored", "dense"])
def test_asft_matches_dense_projection(form):
    direction = _alignment_lora(3)
    v = direction.dense()
    used = direction if form == "factored" else Direction(v.clone())
    a, b = _factors(4)
    eye = torch.eye(7, dtype=F64)

    def slow(a, b):
        return (((eye - _dense_c(v)) @ (1.25 * b @ a)) ** 2).sum()

    _assert_value_and_grad(lambda a, b: asft_penalty(a, b, 1.25, used), slow, a, b)


def test_asft_without_direction_is_l2():
    a, b = _factors(5)
    torch.testing.assert_close(asft_penalty(a, b, 2.0, None), l2_penalty(a, b, 2.0))


def test_asft_leaves_updates_inside_a_unit_alignment_direction_unpenalised():
    """With ``V`` of unit Frobenius norm and rank 1, ``Ĉ`` projects onto it: an update along it costs nothing."""
    u = torch.randn(7, 1, dtype=F64)
    w = torch.randn(1, 5, dtype=F64)
    u, w = u / u.norm(), w / w.norm()
    a, b = torch.cat([w, torch.randn(1, 5, dtype=F64)]), torch.cat([u, torch.zeros(7, 1, dtype=F64)], dim=1)
    assert float(asft_penalty(a, b, 1.0, Direction(u, w))) < 1e-20
    assert float(asft_penalty(a, b, 1.0, None)) > 0.1


# --------------------------------------------------------------------------------------------------------------
# Constrained SFT
# --------------------------------------------------------------------------------------------------------------


def _beta(position: int, beta: float, first: float, bias: float, length: int) -> float:
    if position == 0 and length > 0:
        return beta * first
    return beta * bias if position < length else beta


def _slow_constrained(logits, ref, labels, beta, first=5.0, bias=20.0, length=5) -> tuple[float, int]:
    """Σ_t (2/β_t)·log(1 + exp(−β_t Δ_t)) with a Python loop, log-softmax by hand, positions counted per reply."""
    total, count = 0.0, 0
    for i in range(labels.shape[0]):
        position = -1
        for t in range(labels.shape[1] - 1):
            target = int(labels[i, t + 1])
            if target == -100:
                position = -1
                continue
            position += 1
            lp = float(logits[i, t, target]) - math.log(sum(math.exp(float(x)) for x in logits[i, t]))
            lr = float(ref[i, t, target]) - math.log(sum(math.exp(float(x)) for x in ref[i, t]))
            b_t = _beta(position, beta, first, bias, length)
            total += 2.0 / b_t * math.log1p(math.exp(-b_t * (lp - lr)))
            count += 1
    return total, count


def _csft_batch(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 12, 6, generator=gen, dtype=F64)
    ref = logits + 0.3 * torch.randn(2, 12, 6, generator=gen, dtype=F64)
    labels = torch.randint(0, 6, (2, 12), generator=gen)
    labels[0, :3] = -100  # prompt
    labels[0, 9:] = -100  # padding
    labels[1, :2] = -100
    labels[1, 6:8] = -100  # a second assistant turn starts at index 8
    return logits, ref, labels


def test_reply_positions_restart_for_every_reply():
    _, _, labels = _csft_batch()
    positions = reply_positions(labels[:, 1:] != -100)
    assert positions[0].tolist() == [-1, -1, 0, 1, 2, 3, 4, 5, -1, -1, -1]
    assert positions[1].tolist() == [-1, 0, 1, 2, 3, -1, -1, 0, 1, 2, 3]


@pytest.mark.parametrize("beta", [0.05, 0.1, 1.0])
def test_constrained_sft_value_matches_token_loop(beta):
    logits, ref, labels = _csft_batch()
    total, ce, count = constrained_sft_sums(logits, ref, labels, beta)
    slow_total, slow_count = _slow_constrained(logits, ref, labels, beta)
    assert count == slow_count == 14
    torch.testing.assert_close(total, torch.tensor(slow_total, dtype=F64), rtol=1e-10, atol=1e-12)
    targets = labels[:, 1:]
    mask = targets != -100
    nll = -torch.log_softmax(logits[:, :-1], -1).gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(ce, nll[mask].sum())


def test_constrained_sft_gradient_is_the_paper_weighted_cross_entropy():
    """∂ℓ_t/∂logits_t = −2·σ(−β_t·Δ_t)·(onehot(y_t) − softmax(logits_t)), and zero on unsupervised positions."""
    logits, ref, labels = _csft_batch(1)
    leaf = logits.clone().requires_grad_(True)
    constrained_sft_sums(leaf, ref, labels, 0.2)[0].backward()
    expected = torch.zeros_like(logits)
    positions = reply_positions(labels[:, 1:] != -100)
    for i in range(2):
        for t in range(11):
            target = int(labels[i, t + 1])
            if target == -100:
                continue
            delta = torch.log_softmax(logits[i, t], -1)[target] - torch.log_softmax(ref[i, t], -1)[target]
            b_t = _beta(int(positions[i, t]), 0.2, 5.0, 20.0, 5)
            onehot = torch.nn.functional.one_hot(torch.tensor(target), 6).to(F64)
            expected[i, t] = -2 * torch.sigmoid(-b_t * delta) * (onehot - torch.softmax(logits[i, t], -1))
    torch.testing.assert_close(leaf.grad, expected, rtol=1e-9, atol=1e-12)


def test_constrained_sft_equals_sft_where_the_model_is_the_aligned_one():
    """Δ = 0 (fine-tuned = aligned): value Σ 2·ln2/β_t and exactly the cross-entropy gradient."""
    logits, _, labels = _csft_batch(2)
    leaf_c, leaf_ce = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    total, _, _ = constrained_sft_sums(leaf_c, logits, labels, 0.1)
    _, ce, _ = constrained_sft_sums(leaf_ce, logits, labels, 0.1)
    total.backward()
    ce.backward()
    torch.testing.assert_close(leaf_c.grad, leaf_ce.grad, rtol=1e-10, atol=1e-12)
    slow, _ = _slow_constrained(logits, logits, labels, 0.1)
    torch.testing.assert_close(total.detach(), torch.tensor(slow, dtype=F64))


# --------------------------------------------------------------------------------------------------------------
# Safe LoRA and SafeMERGE (post hoc, on adapter tensors)
# --------------------------------------------------------------------------------------------------------------

LAYERS = ("model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj", "model.layers.1.self_attn.v_proj")


def _adapter(seed: int, r: int, layers=LAYERS, d_out: int = 7, d_in: int = 5) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for name in layers:
        tensors[f"base_model.model.{name}.lora_A.weight"] = torch.randn(r, d_in, generator=gen, dtype=F64)
        tensors[f"base_model.model.{name}.lora_B.weight"] = torch.randn(d_out, r, generator=gen, dtype=F64)
    return tensors


def _dense_delta(tensors: dict[str, torch.Tensor], name: str, scale: float) -> torch.Tensor:
    a_key, b_key = lora_layers(tensors)[name]
    return scale * tensors[b_key] @ tensors[a_key]


def _dense_cos(x: torch.Tensor, y: torch.Tensor) -> float:
    return float((x * y).sum() / (x.norm() * y.norm()))


def test_safelora_matches_dense_reference():
    tensors = _adapter(10, r=2)
    directions = {name: Direction(torch.randn(7, 5, dtype=F64)) for name in LAYERS[:2]}  # layer 3: no direction
    cosines = {}
    for name, direction in directions.items():
        delta = _dense_delta(tensors, name, 2.0)
        cosines[name] = _dense_cos(delta, _dense_c(direction.dense()) @ delta)
        a_key, b_key = lora_layers(tensors)[name]
        assert safelora_similarity(tensors[a_key], tensors[b_key], direction) == pytest.approx(cosines[name], 1e-10)
    threshold = sorted(cosines.values())[0] + 1e-9  # projects exactly the least similar layer
    projected, info = project_adapter_state(tensors, directions, threshold)
    assert (info["projected_layers"], info["layers"]) == (1, 2)
    for name in LAYERS:
        a_key, b_key = lora_layers(tensors)[name]
        moved = name in directions and cosines[name] < threshold
        expected = _dense_c(directions[name].dense()) @ tensors[b_key] if moved else tensors[b_key]
        torch.testing.assert_close(projected[b_key], expected)
        torch.testing.assert_close(projected[a_key], tensors[a_key])


def test_safemerge_is_the_weighted_sum_in_low_similarity_layers():
    task, safety = _adapter(20, r=2), _adapter(21, r=3)
    task_cfg, safety_cfg = {"r": 2, "lora_alpha": 4}, {"r": 3, "lora_alpha": 3}
    directions = directions_from_tensors(safety, scale=1.0)
    cosines = {}
    for name in LAYERS:
        delta = _dense_delta(task, name, 2.0)
        cosines[name] = _dense_cos(delta, _dense_c(directions[name].dense()) @ delta)
    tau = sorted(cosines.values())[1] + 1e-9  # the two least similar layers merge
    merged, config, info = merge_adapter_states((task, task_cfg), (safety, safety_cfg), directions, tau)
    assert (info["merged_layers"], info["layers"], config["r"], config["lora_alpha"]) == (2, 3, 5, 5)
    for name in LAYERS:
        expected = _dense_delta(task, name, 2.0)
        if cosines[name] < tau:
            expected = 0.8 * expected + 0.2 * _dense_delta(safety, name, 1.0)
        torch.testing.assert_close(_dense_delta(merged, name, 1.0), expected, rtol=1e-10, atol=1e-12)


def directions_from_tensors(tensors: dict[str, torch.Tensor], scale: float) -> dict[str, Direction]:
    return {name: Direction(scale * tensors[b], tensors[a]) for name, (a, b) in lora_layers(tensors).items()}


def _save_adapter(out: Path, tensors: dict[str, torch.Tensor], config: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.float().contiguous() for k, v in tensors.items()}, str(out / "adapter_model.safetensors"))
    (out / "adapter_config.json").write_text(json.dumps(config))
    return out


def test_directions_from_adapter_use_the_lora_scale(tmp_path):
    tensors = _adapter(30, r=2)
    _save_adapter(tmp_path / "a", tensors, {"r": 2, "lora_alpha": 8})
    directions = directions_from_adapter(tmp_path / "a")
    stored = {k: v.float().double() for k, v in tensors.items()}  # what the float32 file holds
    for name in LAYERS:
        torch.testing.assert_close(directions[name].dense(), _dense_delta(stored, name, 4.0))


# --------------------------------------------------------------------------------------------------------------
# The trainers, in-process on a tiny float64 PEFT Llama
# --------------------------------------------------------------------------------------------------------------


def _tiny_trainer(tmp_path, cls, model=None):
    pytest.importorskip("axolotl")
    from axolotl.core.training_args import AxolotlTrainingArguments
    from datasets import Dataset
    from transformers import default_data_collator

    from tests.helpers import tiny_peft_llama

    model = model or tiny_peft_llama(["q_proj", "v_proj", "down_proj"], init_lora_weights=False).double()
    args = AxolotlTrainingArguments(
        output_dir=str(tmp_path / "out"), report_to=[], use_cpu=True, save_strategy="no", per_device_train_batch_size=2
    )
    rows = [{"input_ids": [1, 2, 3, 4], "labels": [1, 2, 3, 4], "attention_mask": [1] * 4}] * 2
    return cls(model=model, args=args, train_dataset=Dataset.from_list(rows), data_collator=default_data_collator)


def _chat_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(0, 40, (2, 10), generator=gen)
    labels = input_ids.clone()
    labels[:, :4] = -100
    labels[1, 8:] = -100
    return {"input_ids": input_ids, "labels": labels, "attention_mask": torch.ones_like(input_ids)}


@pytest.mark.parametrize("num_items", [None, 9])
def test_constrained_sft_trainer_uses_the_adapter_disabled_model_and_the_trainer_normalisation(tmp_path, num_items):
    from axolotl_agl.experiments.peers.config import PeerConfig
    from axolotl_agl.experiments.peers.constrained_sft import ConstrainedSFTTrainer

    trainer = _tiny_trainer(tmp_path, ConstrainedSFTTrainer)
    trainer.configure_peer(PeerConfig(method="constrained_sft", weight=0.1), {})
    trainer.model_accepts_loss_kwargs = num_items is not None
    model, batch = trainer.model, _chat_batch()
    model.train()
    loss = trainer.compute_loss(model, batch, num_items_in_batch=num_items)
    grads = torch.autograd.grad(loss, [p for p in model.parameters() if p.requires_grad])

    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad(), model.disable_adapter():
        aligned = model(**inputs).logits
    policy = model(**inputs).logits
    total, _, count = constrained_sft_sums(policy, aligned, batch["labels"], 0.1)
    reference = total / (num_items or count)
    assert not torch.allclose(policy.detach(), aligned), "adapter has no effect: nothing is tested"
    # The normalisation is read off the Trainer's float32 cross-entropy, hence float32-level agreement.
    torch.testing.assert_close(loss, reference, rtol=2e-6, atol=1e-9)
    expected = torch.autograd.grad(reference, [p for p in model.parameters() if p.requires_grad])
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=2e-6, atol=1e-9)
    logged = trainer._stored_metrics["train"]
    assert {"peer/constrained_sft", "peer/task_ce"} <= set(logged)


def _save_alignment_lora(out: Path, seed: int = 7) -> tuple[Path, torch.nn.Module]:
    from tests.helpers import tiny_peft_llama

    model = tiny_peft_llama(["q_proj", "v_proj"], init_lora_weights=False, r=3, lora_alpha=6, seed=seed)
    model.save_pretrained(str(out))
    return out, model


def test_asft_trainer_penalty_matches_dense_reference(tmp_path):
    from axolotl_agl.core.lora_modules import find_lora_linears
    from axolotl_agl.experiments.peers.asft import AsFTTrainer
    from axolotl_agl.experiments.peers.config import PeerConfig

    adapter, aligned_model = _save_alignment_lora(tmp_path / "align-out")
    trainer = _tiny_trainer(tmp_path, AsFTTrainer)
    (tmp_path / "aligned").mkdir()
    (tmp_path / "aligned" / "agl_source.json").write_text(json.dumps({"adapter": str(adapter)}))
    trainer.configure_peer(PeerConfig(method="asft", weight=3.0), {"base_model": str(tmp_path / "aligned")})
    assert set(trainer.directions) == {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"}
    total, terms = trainer.penalty_terms()

    alignment = {h.name: h for h in find_lora_linears(aligned_model)}
    reference = torch.zeros((), dtype=F64)
    for handle in trainer.peer_layers:
        a, b = handle.factors()
        delta = handle.scale * b @ a
        if handle.name in alignment:
            al = alignment[handle.name]
            v = (al.scale * al.factors()[1] @ al.factors()[0]).detach().double()
            delta = delta - _dense_c(v) @ delta
        reference = reference + (delta**2).sum()
    torch.testing.assert_close(total, 3.0 * reference, rtol=1e-6, atol=1e-9)  # directions are stored in float32
    torch.testing.assert_close(terms["asft"], reference.detach(), rtol=1e-6, atol=1e-9)


def test_asft_without_an_alignment_lora_names_the_key(tmp_path):
    from axolotl_agl.experiments.peers.asft import resolve_alignment_adapter
    from axolotl_agl.experiments.peers.config import PeerConfig

    with pytest.raises(ValueError, match=r"set peer_baseline\.alignment_adapter to the LoRA"):
        resolve_alignment_adapter(PeerConfig(method="asft", weight=1.0), str(tmp_path))
    with pytest.raises(ValueError, match=r"peer_baseline\.alignment_adapter .* is not a PEFT adapter directory"):
        PeerConfig(method="asft", weight=1.0, alignment_adapter=str(tmp_path))
    with pytest.raises(ValueError, match=r"peer_baseline\.weight is β for method constrained_sft and must be > 0"):
        PeerConfig(method="constrained_sft", weight=0.0)


def test_safemerge_output_loads_in_plain_peft_with_the_merged_updates(tmp_path):
    """The merged adapter is a plain PEFT LoRA: loaded with PeftModel, each layer's ΔW is the expected one."""
    from peft import PeftModel

    from axolotl_agl.core.lora_modules import find_lora_linears
    from axolotl_agl.experiments.peers.safemerge import safemerge_adapter
    from tests.helpers import tiny_peft_llama

    task = tiny_peft_llama(["q_proj", "v_proj", "down_proj"], init_lora_weights=False, seed=1)
    task.save_pretrained(str(tmp_path / "task"))
    safety_dir, safety = _save_alignment_lora(tmp_path / "safety")
    base = tiny_peft_llama(["q_proj"], seed=1).unload()  # the same random base weights, without LoRA layers
    info = safemerge_adapter(tmp_path, tmp_path / "task", tmp_path / "merged", tau=2.0, safety_adapter=safety_dir)
    assert (info["merged_layers"], info["compared_layers"], info["layers"]) == (2, 2, 3)  # tau 2 > any cosine
    merged = PeftModel.from_pretrained(base, str(tmp_path / "merged"))
    deltas = {h.name: h.scale * h.factors()[1] @ h.factors()[0] for h in find_lora_linears(merged)}
    task_deltas = {h.name: h.scale * h.factors()[1] @ h.factors()[0] for h in find_lora_linears(task)}
    safety_deltas = {h.name: h.scale * h.factors()[1] @ h.factors()[0] for h in find_lora_linears(safety)}
    for name, delta in deltas.items():
        expected = task_deltas[name]
        if name in safety_deltas:
            expected = 0.8 * expected + 0.2 * safety_deltas[name]
        torch.testing.assert_close(delta, expected, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------------------------
# End to end: each training-time peer through ``accelerate launch -m axolotl.cli.train``
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_aligned_base(tmp_path_factory, tiny_model_dir) -> Path:
    """The tiny model with a random alignment LoRA merged in, recorded in ``agl_source.json`` (as the demo does)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from axolotl_agl.experiments.aligned_base import merge_adapter

    tmp = tmp_path_factory.mktemp("aligned")
    torch.manual_seed(11)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    config = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(str(tmp / "align-out"))
    return merge_adapter(tiny_model_dir, tmp / "align-out", tmp / "aligned")


_E2E = {
    "l2": ({"weight": 0.5}, "peer/l2"),
    "ewc": ({"weight": 100.0, "fisher_num_samples": 8}, "peer/ewc"),
    "asft": ({"weight": 0.5}, "peer/asft"),
    "constrained_sft": ({"weight": 0.1}, "peer/constrained_sft"),
}


@pytest.mark.e2e
@pytest.mark.parametrize("method", list(_E2E))
def test_peer_trains_through_the_axolotl_cli(tmp_path, method, tiny_model_dir, tiny_aligned_base, chat_data_path):
    from axolotl_agl.experiments.launch import parse_step_logs
    from tests.helpers import run_axolotl_train, write_axolotl_config

    block, key = _E2E[method]
    config = write_axolotl_config(
        tmp_path / f"{method}.yml",
        base_model=tiny_aligned_base if method == "asft" else tiny_model_dir,
        data_path=chat_data_path,
        plugins=["axolotl_agl.experiments.peers.PeerPlugin"],
        peer_baseline={"method": method, **block},
        max_steps=4,
    )
    output = run_axolotl_train(config).stdout
    steps = parse_step_logs(output)
    assert len(steps) >= 4 and all(key in step for step in steps), f"{key} not logged: {steps}"
    assert f"Peer baseline {method}" in output
    values = [float(step[key]) for step in steps]  # the Trainer prints some values as strings
    if method == "constrained_sft":
        assert all(float(s["peer/constrained_sft"]) != float(s["peer/task_ce"]) for s in steps)
        assert all(math.isfinite(v) and v > 0 for v in values)
    elif method != "ewc":  # EWC's term is below the printed precision after 4 steps; its Fisher is checked below
        assert values[-1] > 0 and float(steps[-1]["peer/penalty"]) > 0
    if method == "asft":
        assert "AsFT: alignment directions from" in output and str(tiny_aligned_base.parent / "align-out") in output
    if method == "ewc":
        from safetensors.torch import load_file

        fisher = load_file(str(tmp_path / "out" / "ewc_fisher.safetensors"))
        assert fisher and all(bool(torch.isfinite(f).all()) for f in fisher.values())
        assert sum(float(f.sum()) for f in fisher.values()) > 0
    adapter = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA"
