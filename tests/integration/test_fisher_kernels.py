"""The Fisher pass is right whatever Axolotl's fused LoRA kernels (``lora_qkv/o/mlp_kernel``, on by default on CUDA) do.

The kernels compute the LoRA layers from their weights without calling them, so hooks on ``base_layer`` would not
fire. These tests patch a tiny PEFT Llama on the CPU with Axolotl's own code: ``patch_self_attn_lora`` (the
attention class forward calling ``self.apply_qkv`` / ``self.apply_o``) and ``apply_lora_kernel_patches`` (binding
``apply_lora_qkv``, ``apply_lora_o`` and ``apply_lora_mlp_swiglu`` on each layer's modules). The QKV and O kernels are
plain torch autograd functions and run on the CPU as they are; the MLP kernel's SwiGLU activation is a Triton kernel,
so ``swiglu_forward``/``swiglu_backward`` are replaced by torch equivalents (same contract) where the kernels look
them up (``axolotl.kernels.lora`` binds them at import up to 0.20; 0.21 imports them from ``axolotl.kernels.swiglu``
on each call) and everything else is Axolotl's.
"""

from __future__ import annotations

import copy
import types

import pytest
import torch

pytest.importorskip("axolotl")

import axolotl.kernels.lora as kernels  # noqa: E402
import axolotl.kernels.swiglu as swiglu_kernels  # noqa: E402
from axolotl.monkeypatch import lora_kernels  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402

from tests.integration.test_cache import VOCAB, examples, obtain  # noqa: E402

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
KERNELS_ON = DictDefault({"lora_qkv_kernel": True, "lora_o_kernel": True, "lora_mlp_kernel": True})


def _swiglu_forward(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.silu(gate) * up


def _swiglu_backward(grad: torch.Tensor, gate: torch.Tensor, up: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The Triton kernel's contract: ``(h, ∂/∂gate, ∂/∂up)`` of ``h = silu(gate) * up`` for upstream ``grad``."""
    sig = torch.sigmoid(gate)
    silu = gate * sig
    return silu * up, grad * up * sig * (1 + gate * (1 - sig)), grad * silu


@pytest.fixture
def cpu_kernels(monkeypatch, tiny_model_dir):
    """Patch a model with Axolotl's kernels, on the CPU (the attention *class* too: use unpatched models first).

    The attention class forward is restored at teardown.
    """
    from transformers.models.llama.modeling_llama import LlamaAttention

    for module in (kernels, swiglu_kernels):  # wherever this Axolotl's MLP kernel reads them from
        if hasattr(module, "swiglu_forward"):
            monkeypatch.setattr(module, "swiglu_forward", _swiglu_forward)
            monkeypatch.setattr(module, "swiglu_backward", _swiglu_backward)
    monkeypatch.setattr(LlamaAttention, "forward", LlamaAttention.forward)  # undone at teardown

    def patch(model: torch.nn.Module) -> torch.nn.Module:
        if "_original_forward" not in vars(LlamaAttention):
            lora_kernels.patch_self_attn_lora(DictDefault({"base_model": str(tiny_model_dir), **KERNELS_ON}))
        return lora_kernels.apply_lora_kernel_patches(model, KERNELS_ON)

    yield patch
    if "_original_forward" in vars(LlamaAttention):
        del LlamaAttention._original_forward


def _peft_llama(layers: int = 2, targets: list[str] = TARGETS) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=VOCAB,
    )
    model = LlamaForCausalLM(config).to(torch.float64)
    lora = LoraConfig(r=2, lora_alpha=4, target_modules=targets, init_lora_weights=False, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def _low_rank(factor) -> torch.Tensor:
    """``V diag(λ) Vᵀ`` of a factor summary (independent of the eigenvectors' signs)."""
    return factor.vectors @ torch.diag(factor.values) @ factor.vectors.T


def _base_layer_calls(model: torch.nn.Module) -> dict[str, int]:
    """Forward the model once and count the calls each LoRA layer's ``base_layer`` received."""
    calls: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():
        if name.endswith(".base_layer"):
            calls[name] = 0
            handles.append(module.register_forward_hook(lambda *_, key=name: calls.__setitem__(key, calls[key] + 1)))
    model(input_ids=torch.tensor([examples()[0].input_ids]))
    for handle in handles:
        handle.remove()
    return calls


def test_the_patched_model_bypasses_base_layers_and_computes_the_same(cpu_kernels):
    """What the fix has to undo: the kernels give the same logits, and no base layer is called."""
    plain = _peft_llama()
    ids = torch.tensor([examples()[0].input_ids])
    expected, calls = plain(input_ids=ids).logits, _base_layer_calls(plain)
    patched = cpu_kernels(copy.deepcopy(plain))
    torch.testing.assert_close(patched(input_ids=ids).logits, expected)
    assert set(calls.values()) == {1} and set(_base_layer_calls(patched).values()) == {0}


def test_fisher_of_a_kernel_patched_model_equals_the_unpatched_one(tmp_path, cpu_kernels):
    plain = _peft_llama()
    expected = obtain(tmp_path / "plain", model=plain).summary  # before the attention class is patched
    patched = cpu_kernels(copy.deepcopy(plain))
    attn, mlp = patched.base_model.model.model.layers[0].self_attn, patched.base_model.model.model.layers[0].mlp
    assert attn.apply_qkv.__func__ is kernels.apply_lora_qkv and mlp.forward.__func__ is kernels.apply_lora_mlp_swiglu

    got = obtain(tmp_path / "patched", model=patched).summary

    assert sorted(got) == sorted(expected) and len(got) == 2 * len(TARGETS)
    for name, fisher in expected.items():
        for field in ("output_factor", "input_factor"):
            want, have = getattr(fisher, field), getattr(got[name], field)
            torch.testing.assert_close(_low_rank(have), _low_rank(want), msg=f"{name}.{field}")
            torch.testing.assert_close(have.residual, want.residual, msg=f"{name}.{field}")
    # The kernels are back after the pass (training keeps its fused forward).
    assert attn.apply_qkv.__func__ is kernels.apply_lora_qkv and attn.apply_o.__func__ is kernels.apply_lora_o
    assert mlp.forward.__func__ is kernels.apply_lora_mlp_swiglu


def test_a_bypass_that_cannot_be_undone_fails_loudly_before_caching(tmp_path):
    """A layer computed without being called by something other than a bound method: stop, name the keys."""
    model = _peft_llama(layers=1)
    mlp = model.base_model.model.model.layers[0].mlp

    def fused(x: torch.Tensor) -> torch.Tensor:  # reads the base weights, never calls the layers
        gate, up, down = (getattr(mlp, n).base_layer.weight for n in ("gate_proj", "up_proj", "down_proj"))
        return (torch.nn.functional.silu(x @ gate.T) * (x @ up.T)) @ down.T

    mlp.forward = fused
    with pytest.raises(
        RuntimeError,
        match=r"the Fisher pass never reached 3 targeted module\(s\) \(e\.g\. \['.*gate_proj'.*"
        r"Set lora_qkv_kernel: false, lora_o_kernel: false and lora_mlp_kernel: false",
    ):
        obtain(tmp_path, model=model)
    assert not (tmp_path / "fisher.safetensors").exists()


def test_bound_methods_on_whole_models_are_left_alone(tmp_path):
    """accelerate binds an autocast ``forward`` on the model it prepares: that is not a kernel and stays."""
    from axolotl_agl.integration.precompute import lora_layers_called_as_modules

    model = _peft_llama(layers=1, targets=["q_proj", "lm_head"])
    inner = model.base_model.model  # the LlamaForCausalLM, whose lm_head is a LoRA layer
    inner.forward = types.MethodType(type(inner).forward, inner)
    with lora_layers_called_as_modules(model) as undone:
        assert undone == 0 and "forward" in vars(inner)
