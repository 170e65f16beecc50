"""Check ``collect_kfac_factors`` against slow, obviously-correct float64 references.

For a linear layer ``y = W x`` the collector returns (see the ``axolotl_agl.core.kfac`` docstring)
``S = (1/T) Σ_{n,t} x_nt x_ntᵀ`` over the ``T`` non-padding tokens and ``G = (1/N) Σ_{n,t} g_nt g_ntᵀ``,
``g_nt = ∂ℓ_n/∂y_nt``, ``ℓ_n`` = mean next-token NLL over example ``n``'s targets (labels ≠ -100).

1. **Brute force, tiny LLaMA + LoRA** (adapter disabled, as in the plugin). The reference runs each
   example alone (batch of 1, no padding); ``x`` comes from forward hooks and ``g`` from adding a zero
   "probe" tensor to each layer's output and taking ``autograd.grad(ℓ_n, probes)``. The collector runs
   on examples of different lengths with batch sizes 2 and 3 (right padding), so equality checks the
   padding masks and that examples do not mix.
2. **torch.func per-sample gradients** on a token-wise MLP (no attention) with ONE target token per
   example, scored from position ``p``. Every other position has ``g = 0``, so the exact per-example
   gradient is ``J_n = ∇_W ℓ_n = g_n x_nᵀ`` with ``x_n`` the input at ``p``. What is exactly true:
   * N = 1: ``kron(G, x_p x_pᵀ) = vec(J) vec(J)ᵀ`` (per-example Fisher, row-major vec), while
     ``S = (1/L) Σ_t x_t x_tᵀ`` also holds the ``L − 1`` positions with zero ``g`` — so ``kron(G, S)``
     itself is *not* that Fisher, and ``x`` is recomputed directly from the weights.
   * N > 1 (padded batches): ``G = (1/N) Σ_n J_n J_nᵀ / ‖x_n‖²``. The empirical Fisher's trace
     ``(1/N) Σ_n ‖g_n‖² ‖x_n‖²`` is not a function of ``G`` and ``S`` (``tr(G ⊗ S)`` differs from it by
     the K-FAC approximation itself), so it is not asserted.
3. **curvlinops** ``KFACLinearOperator`` (empirical Fisher, KFAC-expand) on the same MLP, equal-length
   sequences, every next token a target: the factors are proportional; constants in that test.

Precision: for a float64 model the collector accumulates in float64 and keeps float64 logits, so every
comparison holds to ``TOL`` (1e-10 relative Frobenius error).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from curvlinops import KFACLinearOperator  # noqa: E402
from curvlinops.kfac import FisherType, KFACType  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from torch import nn  # noqa: E402
from torch.func import functional_call, grad, vmap  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample  # noqa: E402
from axolotl_agl.core.kfac import FisherPassSettings, collect_kfac_factors  # noqa: E402
from axolotl_agl.core.lora_modules import find_lora_linears  # noqa: E402

F64 = torch.float64
TOL = 1e-10  # relative Frobenius error; the collector keeps float64 for a float64 model
STRICT = 1e-10
PAD = 0


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual.detach().to(F64) - expected.detach()).norm() / expected.detach().norm())


def mean_target_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ℓ of one sequence: mean over targets of −log p(labels[t+1] | logits[t]); vmap-friendly."""
    targets = labels[1:]
    scored = targets != IGNORE_INDEX
    nll = -logits[:-1].log_softmax(-1).gather(1, targets.clamp_min(0)[:, None])[:, 0]
    return (nll * scored).sum() / scored.sum()


def first_targets_nll_sum(logits: torch.Tensor, labels: torch.Tensor, m: int) -> torch.Tensor:
    """ℓ of one sequence: −log p of its first ``m`` targets, summed (the reply-prefix log-likelihood)."""
    total, counted = logits.new_zeros(()), 0
    log_probs = logits[:-1].log_softmax(-1)
    for t, target in enumerate(labels[1:].tolist()):
        if target != IGNORE_INDEX and counted < m:
            total = total - log_probs[t, target]
            counted += 1
    return total


def random_examples(shapes: list[tuple[int, int]], vocab: int, seed: int) -> list[TokenizedExample]:
    """``(length, n_prompt)`` → ids in ``[1, vocab)`` (never the pad id), prompt labelled -100."""
    gen = torch.Generator().manual_seed(seed)
    examples = []
    for length, n_prompt in shapes:
        ids = torch.randint(1, vocab, (length,), generator=gen).tolist()
        examples.append(TokenizedExample(ids, [IGNORE_INDEX] * n_prompt + ids[n_prompt:]))
    return examples


# ---------------------------------------------------------------- 1. brute force on a tiny LLaMA
LLAMA_VOCAB = 50
LLAMA_SHAPES = [(7, 3), (4, 1), (9, 5), (5, 2), (6, 0)]  # (length, prompt tokens)


@pytest.fixture(scope="module")
def llama():
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=LLAMA_VOCAB,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=32,
        initializer_range=0.2,  # non-uniform attention, so mixed-up examples would show
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(config).to(F64)
    config = LoraConfig(r=2, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    peft_model = get_peft_model(model, config)
    layers = {h.name: h.base_layer for h in find_lora_linears(peft_model)}
    assert len(layers) == 6
    examples = random_examples(LLAMA_SHAPES, LLAMA_VOCAB, seed=1)
    with peft_model.disable_adapter():
        reference = brute_force_factors(peft_model, layers, examples)
    return peft_model, layers, examples, reference


def brute_force_factors(
    model: nn.Module, layers: dict, examples: list, loss_fn=mean_target_nll
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{name: (S, G)}`` from one unpadded example at a time, ``g`` via zero probes on the outputs."""
    inputs, probes = {}, {}

    def hook(name: str):
        def forward_hook(_module, args, output):
            inputs[name] = args[0].detach()[0]
            probes[name] = torch.zeros_like(output, requires_grad=True)
            return output + probes[name]

        return forward_hook

    s_sum = {name: 0.0 for name in layers}
    g_sum = {name: 0.0 for name in layers}
    handles = [layer.register_forward_hook(hook(name)) for name, layer in layers.items()]
    try:
        for example in examples:
            ids = torch.tensor([example.input_ids])
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
            loss = loss_fn(logits, torch.tensor(example.labels))
            grads = torch.autograd.grad(loss, [probes[name] for name in layers])
            for name, g in zip(layers, grads, strict=True):
                s_sum[name] = s_sum[name] + inputs[name].T @ inputs[name]
                g_sum[name] = g_sum[name] + g[0].T @ g[0]
    finally:
        for handle in handles:
            handle.remove()
    tokens = sum(len(e.input_ids) for e in examples)
    return {name: (s_sum[name] / tokens, g_sum[name] / len(examples)) for name in layers}


@pytest.mark.parametrize("batch_size", [2, 3])
def test_llama_matches_per_example_brute_force(llama, batch_size):
    model, layers, examples, reference = llama
    with model.disable_adapter():
        factors = collect_kfac_factors(
            model,
            layers,
            examples,
            PAD,
            FisherPassSettings(batch_size=batch_size, fisher_type="empirical", reduction="mean"),
            show_progress=False,
        )
    assert factors.keys() == reference.keys()
    for name, (s_ref, g_ref) in reference.items():
        f = factors[name]
        assert (f.tokens, f.examples) == (sum(n for n, _ in LLAMA_SHAPES), len(examples))
        assert rel_err(f.input_moment, s_ref) < TOL, name
        assert rel_err(f.grad_moment, g_ref) < TOL, name


@pytest.mark.parametrize("m", [1, 2, 100])
def test_summed_reply_prefix_loss_matches_brute_force(llama, m):
    """reduction="sum" with max_reply_tokens=m: each example's loss is its first m targets' summed NLL."""
    model, layers, examples, _ = llama
    with model.disable_adapter():
        reference = brute_force_factors(model, layers, examples, lambda lg, lb: first_targets_nll_sum(lg, lb, m))
        factors = collect_kfac_factors(
            model,
            layers,
            examples,
            PAD,
            FisherPassSettings(batch_size=3, reduction="sum", max_reply_tokens=m, fisher_type="empirical"),
            show_progress=False,
        )
    for name, (s_ref, g_ref) in reference.items():
        assert rel_err(factors[name].input_moment, s_ref) < TOL, name
        assert rel_err(factors[name].grad_moment, g_ref) < TOL, name


def test_float64_model_gets_exact_factors(llama):
    model, layers, examples, reference = llama
    with model.disable_adapter():
        factors = collect_kfac_factors(
            model,
            layers,
            examples,
            PAD,
            FisherPassSettings(batch_size=2, fisher_type="empirical", reduction="mean"),
            show_progress=False,
        )
    for name, (s_ref, g_ref) in reference.items():
        assert factors[name].grad_moment.dtype == F64
        assert rel_err(factors[name].input_moment, s_ref) < STRICT, name
        assert rel_err(factors[name].grad_moment, g_ref) < STRICT, name


# ---------------------------------------------------------------- 2./3. a token-wise MLP
MLP_VOCAB = 11


class TokenMLP(nn.Module):
    """Embedding → Linear → tanh → Linear(→ vocab), applied to each token on its own (no attention)."""

    def __init__(self, seed: int, dim: int = 4, hidden: int = 5):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(MLP_VOCAB, dim)
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, MLP_VOCAB)
        self.to(F64)

    def get_input_embeddings(self) -> nn.Module:
        return self.embed

    def layer_inputs(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each layer's input at every position, computed directly from the weights."""
        x1 = self.embed.weight[ids]
        return {"lin1": x1, "lin2": torch.tanh(x1 @ self.lin1.weight.T + self.lin1.bias)}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> SimpleNamespace:
        return SimpleNamespace(logits=self.lin2(torch.tanh(self.lin1(self.embed(input_ids)))))


def mlp_layers(model: TokenMLP) -> dict[str, nn.Module]:
    return {"lin1": model.lin1, "lin2": model.lin2}


def per_example_weight_grads(model: TokenMLP, examples: list[TokenizedExample]) -> dict[str, torch.Tensor]:
    """``{layer: J}`` with ``J[n] = ∇_W ℓ_n`` (exact, per example) from torch.func on a padded batch."""
    length = max(len(e.input_ids) for e in examples)
    ids = torch.tensor([e.input_ids + [PAD] * (length - len(e.input_ids)) for e in examples])
    labels = torch.tensor([e.labels + [IGNORE_INDEX] * (length - len(e.labels)) for e in examples])
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss(p, ids_n, labels_n):
        return mean_target_nll(functional_call(model, p, (ids_n[None],)).logits[0], labels_n)

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, ids, labels)
    return {"lin1": grads["lin1.weight"], "lin2": grads["lin2.weight"]}


def one_target_examples(lengths: list[int], seed: int) -> list[TokenizedExample]:
    """Only the last token is a target, so only position ``L − 2`` has a non-zero ``g``."""
    return random_examples([(n, n - 1) for n in lengths], MLP_VOCAB, seed)


@pytest.mark.parametrize("length", [2, 3, 4])
def test_single_example_kfac_is_the_per_example_fisher(length):
    model = TokenMLP(seed=length)
    (example,) = one_target_examples([length], seed=10 + length)
    factors = collect_kfac_factors(
        model,
        mlp_layers(model),
        [example],
        PAD,
        FisherPassSettings(batch_size=1, fisher_type="empirical", reduction="mean"),
        show_progress=False,
    )
    grads = per_example_weight_grads(model, [example])
    x = model.layer_inputs(torch.tensor(example.input_ids))
    for name, f in factors.items():
        assert (f.tokens, f.examples) == (length, 1)
        vec_j = grads[name][0].reshape(-1)  # row-major vec(g xᵀ) = g ⊗ x
        x_p = x[name][length - 2]
        assert rel_err(torch.kron(f.grad_moment.to(F64), torch.outer(x_p, x_p)), torch.outer(vec_j, vec_j)) < TOL
        assert rel_err(f.input_moment, x[name].T @ x[name] / length) < TOL, name


def test_batched_factors_match_per_sample_gradients():
    model = TokenMLP(seed=3)
    examples = one_target_examples([2, 3, 2, 4, 3], seed=4)
    factors = collect_kfac_factors(
        model,
        mlp_layers(model),
        examples,
        PAD,
        FisherPassSettings(batch_size=2, fisher_type="empirical", reduction="mean"),
        show_progress=False,
    )
    grads = per_example_weight_grads(model, examples)
    inputs = [model.layer_inputs(torch.tensor(e.input_ids)) for e in examples]
    tokens = sum(len(e.input_ids) for e in examples)
    for name, f in factors.items():
        assert (f.tokens, f.examples) == (tokens, len(examples))
        # J_n J_nᵀ = ‖x_n‖² g_n g_nᵀ with x_n the input at the scored position.
        x_scored = torch.stack([x[name][len(e.input_ids) - 2] for x, e in zip(inputs, examples, strict=True)])
        g_outer = grads[name] @ grads[name].transpose(1, 2) / x_scored.square().sum(1)[:, None, None]
        assert rel_err(f.grad_moment, g_outer.mean(0)) < TOL, name
        s_ref = sum(x[name].T @ x[name] for x in inputs) / tokens
        assert rel_err(f.input_moment, s_ref) < TOL, name


class LogitsAsClasses(nn.Module):
    """``(batch, vocab, positions)`` logits, the layout ``nn.CrossEntropyLoss`` (and curvlinops) expects."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(ids).logits.transpose(1, 2)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_proportional_to_curvlinops_kfac(reduction):
    n_examples, length = 6, 5
    model = TokenMLP(seed=5)
    examples = random_examples([(length, 0)] * n_examples, MLP_VOCAB, seed=6)
    ours = collect_kfac_factors(
        model,
        mlp_layers(model),
        examples,
        PAD,
        FisherPassSettings(batch_size=4, fisher_type="empirical", reduction="mean"),
        show_progress=False,
    )
    # curvlinops scores every position of (batch·positions, vocab): target of position t is token t+1,
    # the last position has none (ignore_index). Batches of 2 (curvlinops rescales per batch itself).
    ids = torch.tensor([e.input_ids for e in examples])
    targets = torch.cat([ids[:, 1:], torch.full((n_examples, 1), IGNORE_INDEX)], dim=1)
    data = [(ids[i : i + 2], targets[i : i + 2]) for i in range(0, n_examples, 2)]
    kfac = KFACLinearOperator(
        LogitsAsClasses(model),
        nn.CrossEntropyLoss(reduction=reduction, ignore_index=IGNORE_INDEX),
        [model.lin1.weight, model.lin2.weight],
        data,
        fisher_type=FisherType.EMPIRICAL,
        kfac_approx=KFACType.EXPAND,
        check_deterministic=False,  # its probe matvecs would compute the factors, and a second
    )  # compute_kronecker_factors() call ADDS to them (curvlinops 3.0.1 does not reset its sums)
    kfac.compute_kronecker_factors()
    state = kfac.state_dict()
    assert state["num_per_example_loss_terms"] == length  # curvlinops counts the ignored last position too
    # Constants, with g̃_nt = ∂(Σ_{n,t} NLL_nt)/∂y_nt and our g = g̃/(L−1) (mean over the L−1 targets):
    #   input:    curvlinops A = Σ_{n,t} x xᵀ / (N·L) = S exactly (expand: divides by the positions L);
    #   gradient: "sum":  B = Σ g̃ g̃ᵀ = N (L−1)² · G;
    #             "mean": a batch of b sequences has gradient g̃/(b(L−1)); curvlinops multiplies by (b·L)²/(N·L),
    #                     so B = L · Σ g̃ g̃ᵀ / (N (L−1)²) = L · G.
    g_scale = {"sum": n_examples * (length - 1) ** 2, "mean": length}[reduction]
    for name in ("lin1", "lin2"):
        a = state["input_covariances"][f"model.{name}"]
        b = state["gradient_covariances"][f"model.{name}"]
        s, g = ours[name].input_moment.to(F64), ours[name].grad_moment.to(F64)
        assert rel_err(s / s.trace(), a / a.trace()) < TOL, name
        assert rel_err(g / g.trace(), b / b.trace()) < TOL, name
        assert rel_err(s, a) < TOL, name
        assert rel_err(g * g_scale, b) < TOL, name
