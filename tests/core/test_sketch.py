"""The scalable Fisher state: streaming Nyström sketches of the K-FAC factors and shared input statistics.

**Accuracy bound used below.** For a PSD ``M`` with eigenvalues ``λ_1 ≥ λ_2 ≥ …`` and a test matrix ``Ω``
with ``l = k + p`` columns spanning the range of a Gaussian matrix, the Nyström approximation
``M̂ = MΩ(ΩᵀMΩ)⁺ΩᵀM`` satisfies ``0 ≼ M̂ ≼ M`` and ``M − M̂ = M^½ (I − P) M^½`` with ``P`` the orthogonal
projector onto ``range(M^½ Ω)``, so ``‖M − M̂‖ = ‖(I − P) M^½‖²``. Halko, Martinsson & Tropp (2011,
Corollary 10.9), applied to ``M^½`` (singular values ``√λ_j``), give for ``p ≥ 4``, with probability at
least ``1 − 6 p^(−p)`` (``1 − 6·10⁻¹⁰`` for ``p = 10``)::

    ‖(I − P) M^½‖ ≤ (1 + 17 √(1 + k/p)) √λ_{k+1} + (8 √(k + p) / (p + 1)) √(Σ_{j>k} λ_j)  =: √ε

Then Weyl gives ``|λ̂_i − λ_i| ≤ ε`` for the kept eigenvalues, and Davis–Kahan (``λ̂_k ≥ λ_k − ε`` while the
eigenvalues of ``M`` outside the top-``k`` are ``≤ λ_{k+1}``) gives
``sin θ_max(U_k, Û_k) ≤ ε / (λ_k − λ_{k+1} − ε)``. For the gapped spectrum used here (``λ_1..λ_8`` in
``[1, 10]``, the other 248 in ``[10⁻⁶, 2·10⁻⁶]``) ``ε ≈ 8.7·10⁻³``, so the relative eigenvalue error is
``< 10⁻²`` and ``sin θ_max < 10⁻²`` (far inside the ``0.1`` target) — with ``p = 10`` and no power iteration
(a single streaming pass cannot do any). The tests assert the measured errors against ``ε`` itself.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import axolotl_agl.core.moments as moments_mod  # noqa: E402
from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample  # noqa: E402
from axolotl_agl.core.fisher_state import (
    SketchedMoment,
    low_rank_factor_from_dense,
    low_rank_factor_from_sketch,
    orthonormal_test_matrix,
    summary_to,
)
from axolotl_agl.core.kfac import FisherPassSettings, collect_kfac_factors  # noqa: E402
from axolotl_agl.core.kfac_summary import summarise_factors  # noqa: E402
from axolotl_agl.core.lora_modules import find_lora_linears  # noqa: E402
from axolotl_agl.core.moments import EXACT_MAX_DIM, SketchMomentAccumulator, uses_sketch
from axolotl_agl.integration.fisher_cache import load_fisher_cache, save_fisher_cache  # noqa: E402
from tests.helpers import tiny_peft_llama  # noqa: E402

F64 = torch.float64
SEEDS = [0, 1, 2, 3, 4]
ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def sin_theta_max(u: torch.Tensor, v: torch.Tensor) -> float:
    """Sine of the largest principal angle between the column spaces of two orthonormal bases."""
    cosines = torch.linalg.svdvals(u.T @ v).clamp(max=1.0)
    return float((1 - cosines.min() ** 2).clamp_min(0).sqrt())


def halko_nystrom_bound(eigenvalues: torch.Tensor, k: int, p: int) -> float:
    """``ε`` of the module docstring: a bound on ``‖M − M̂‖`` holding with probability ≥ 1 − 6 p^(−p)."""
    tail = eigenvalues[k:]
    root = (1 + 17 * math.sqrt(1 + k / p)) * math.sqrt(float(tail[0])) + 8 * math.sqrt(k + p) / (p + 1) * math.sqrt(
        float(tail.sum())
    )
    return root**2


def gapped_psd(dim: int, k: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(rows, Q, λ)`` with ``rowsᵀ rows = Q diag(λ) Qᵀ``: ``k`` eigenvalues in [1, 10], the rest ~1e-6."""
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=F64))
    top = torch.logspace(1, 0, k, dtype=F64)
    tail = 1e-6 * (1 + torch.rand(dim - k, generator=gen, dtype=F64)).sort(descending=True).values
    eigenvalues = torch.cat([top, tail])
    rows = eigenvalues.sqrt()[:, None] * q.T  # row i = √λ_i q_iᵀ
    mix, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=F64))
    return mix @ rows, q, eigenvalues  # mixing the rows (orthogonally) keeps rowsᵀ rows


def stream(rows: torch.Tensor, test_matrix: torch.Tensor, batch: int = 37) -> SketchedMoment:
    acc = SketchMomentAccumulator(test_matrix)
    for start in range(0, rows.shape[0], batch):
        acc.add(rows[start : start + batch])
    return acc.result(1)


# ---------------------------------------------------------------- the Nyström sketch on its own
@pytest.mark.parametrize("seed", SEEDS)
def test_sketch_recovers_gapped_top_k(seed):
    dim, k, p = 256, 8, 10
    rows, q, eigenvalues = gapped_psd(dim, k, torch.Generator().manual_seed(seed))
    sketched = stream(rows, orthonormal_test_matrix(dim, k + p, seed=100 + seed, dtype=F64))
    factor = sketched.low_rank(k)
    eps = halko_nystrom_bound(eigenvalues, k, p)
    assert eps < 1e-2  # the bound itself is inside the targets for this spectrum
    rel_eig = float(((factor.values - eigenvalues[:k]).abs() / eigenvalues[:k]).max())
    sin_max = sin_theta_max(q[:, :k], factor.vectors)
    assert rel_eig <= eps / float(eigenvalues[k - 1]) < 1e-2
    assert sin_max <= eps / float(eigenvalues[k - 1] - eigenvalues[k] - eps) < 0.1
    # Nyström under-estimates (M̂ ≼ M, Cauchy interlacing) and the trace is exact.
    assert torch.all(factor.values <= eigenvalues[:k] * (1 + 1e-12))
    torch.testing.assert_close(sketched.trace, eigenvalues.sum(), rtol=1e-12, atol=0)
    torch.testing.assert_close(factor.values.sum() + factor.residual * (dim - k), eigenvalues.sum(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_sketch_equals_dense_product_and_keeps_trace(seed):
    """Streaming ``Σ x (xᵀΩ)`` equals ``(Σ x xᵀ) Ω``; the summary's trace equals the exact trace."""
    gen = torch.Generator().manual_seed(seed)
    dim, k = 96, 6
    rows = torch.randn(500, dim, generator=gen, dtype=F64) * torch.logspace(0, -2, dim, dtype=F64)
    exact = rows.T @ rows / 500
    omega = orthonormal_test_matrix(dim, k + 10, seed=seed, dtype=F64)
    acc = SketchMomentAccumulator(omega)
    for start in range(0, 500, 64):
        acc.add(rows[start : start + 64])
    sketched = acc.result(500)
    torch.testing.assert_close(sketched.sketch, exact @ omega, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(sketched.trace, torch.trace(exact), rtol=1e-13, atol=0)
    factor = sketched.low_rank(k)
    torch.testing.assert_close(torch.trace(factor.dense()), torch.trace(exact), rtol=1e-12, atol=0)
    torch.testing.assert_close(factor.vectors.T @ factor.vectors, torch.eye(k, dtype=F64), rtol=0, atol=1e-12)
    assert torch.all(factor.values[:-1] >= factor.values[1:]) and factor.residual >= 0


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_low_rank_data_fewer_tokens_than_columns(dtype):
    """Rank-deficient moments (fewer tokens than sketch columns) need the stabilising shift; still exact."""
    gen = torch.Generator().manual_seed(7)
    dim, n_rows, k = 64, 5, 8
    rows = torch.randn(n_rows, dim, generator=gen, dtype=F64)
    exact = rows.T @ rows
    sketched = stream(rows.to(dtype), orthonormal_test_matrix(dim, k + 10, seed=3, dtype=dtype))
    factor = sketched.low_rank(k)
    reference = low_rank_factor_from_dense(exact, k)
    tol = 1e-10 if dtype == F64 else 1e-4
    torch.testing.assert_close(factor.values, reference.values, rtol=0, atol=tol * float(reference.values[0]))
    assert sin_theta_max(reference.vectors[:, :n_rows], factor.vectors[:, :n_rows]) < (1e-6 if dtype == F64 else 1e-2)
    torch.testing.assert_close(
        factor.values.sum() + factor.residual * (dim - k), exact.trace(), rtol=1e-6 if dtype != F64 else 1e-12, atol=0
    )


def stream_passes(rows: torch.Tensor, test_matrix: torch.Tensor, passes: int, batch: int = 37) -> SketchedMoment:
    acc = SketchMomentAccumulator(test_matrix)
    for pass_index in range(passes):
        if pass_index:
            acc.next_pass()
        for start in range(0, rows.shape[0], batch):
            acc.add(rows[start : start + batch])
    return acc.result(1)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_second_pass_fixes_slowly_decaying_spectra(seed):
    """No gap, heavy tail (λ_j = j^(-1), like real activation/gradient moments): one pass leaves large errors,
    one subspace iteration (a second pass) removes most of them; the trace stays exact either way."""
    gen = torch.Generator().manual_seed(seed)
    dim, k, p = 400, 32, 32
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=F64))
    eigenvalues = 1.0 / torch.arange(1, dim + 1, dtype=F64)
    rows = eigenvalues.sqrt()[:, None] * q.T
    omega = orthonormal_test_matrix(dim, k + p, seed=seed, dtype=F64)
    errors = {}
    for passes in (1, 2, 3):
        sketched = stream_passes(rows, omega, passes)
        factor = sketched.low_rank(k)
        torch.testing.assert_close(sketched.trace, eigenvalues.sum(), rtol=1e-12, atol=0)
        torch.testing.assert_close(sketched.sketch, (rows.T @ rows) @ sketched.test_matrix, rtol=1e-10, atol=1e-14)
        assert torch.all(factor.values <= eigenvalues[:k] * (1 + 1e-10))  # Nyström under-estimates
        rel = (eigenvalues[:k] - factor.values) / eigenvalues[:k]
        errors[passes] = (float(rel[:8].max()), float(rel.max()), sin_theta_max(q[:, :8], factor.vectors))
    # measured (seeds 0-2), top-8 / top-k eigenvalue error, sin θ_max(top 8): one pass 0.25 / 0.45 / 0.22,
    # two passes 3e-3 / 0.1 / 0.02, three passes 5e-5 / 0.02 / 2e-3
    assert errors[2][0] < errors[1][0] / 10 and errors[2][0] < 1e-2
    assert errors[2][1] < errors[1][1] / 2
    assert errors[2][2] < errors[1][2] / 3 and errors[2][2] < 0.1
    assert errors[3][1] < errors[2][1]


def test_zero_sketch_and_bad_k():
    omega = orthonormal_test_matrix(10, 4, seed=0, dtype=F64)
    factor = low_rank_factor_from_sketch(torch.zeros(10, 4, dtype=F64), omega, 0.0, 3)
    assert factor.values.abs().max() == 0 and factor.residual == 0
    torch.testing.assert_close(factor.vectors.T @ factor.vectors, torch.eye(3, dtype=F64), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="k=5"):
        low_rank_factor_from_sketch(torch.zeros(10, 4, dtype=F64), omega, 0.0, 5)


def test_test_matrix_is_deterministic_and_orthonormal():
    a = orthonormal_test_matrix(50, 12, seed=9)
    b = orthonormal_test_matrix(50, 12, seed=9)
    assert torch.equal(a, b)
    assert not torch.equal(a, orthonormal_test_matrix(50, 12, seed=10))
    torch.testing.assert_close(a.T @ a, torch.eye(12), rtol=0, atol=1e-5)


def test_auto_mode_threshold():
    assert not uses_sketch(EXACT_MAX_DIM, "auto", 64)
    assert uses_sketch(EXACT_MAX_DIM + 1, "auto", 64)
    assert not uses_sketch(100_000, "exact", 64)
    assert uses_sketch(100, "sketch", 64)
    assert not uses_sketch(64, "sketch", 64)  # a sketch as wide as the matrix is pointless: exact instead
    with pytest.raises(ValueError, match="sketch must be"):
        uses_sketch(10, "approximate", 4)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the Fisher pass on a tiny LLaMA
VOCAB = 50
SHAPES = [(7, 3), (4, 1), (9, 5), (5, 2), (6, 0)]


def tiny_llama(targets: list[str]) -> tuple[nn.Module, dict[str, nn.Module]]:
    model = tiny_peft_llama(
        targets, num_layers=2, vocab_size=VOCAB, lora_alpha=8, dtype=F64, initializer_range=0.2,
        attn_implementation="eager",
    )  # fmt: skip
    return model, {h.name: h.base_layer for h in find_lora_linears(model)}


def examples() -> list[TokenizedExample]:
    gen = torch.Generator().manual_seed(1)
    out = []
    for length, n_prompt in SHAPES:
        ids = torch.randint(1, VOCAB, (length,), generator=gen).tolist()
        out.append(TokenizedExample(ids, [IGNORE_INDEX] * n_prompt + ids[n_prompt:]))
    return out


def collect(model: nn.Module, layers: dict, **kwargs) -> dict:
    with model.disable_adapter():
        return collect_kfac_factors(
            model,
            layers,
            examples(),
            0,
            FisherPassSettings(batch_size=2, fisher_type="empirical", reduction="mean", **kwargs),
            show_progress=False,
        )


@pytest.fixture(scope="module")
def llama_all_targets():
    model, layers = tiny_llama(ALL_TARGETS)
    return model, layers, collect(model, layers, sketch="exact")


def test_fisher_pass_sketch_is_exact_moment_times_omega(llama_all_targets):
    """Every sketched factor equals (exact K-FAC factor) @ Ω to float64 round-off, traces included."""
    model, layers, exact = llama_all_targets
    k, p = 3, 4  # sketch width 7 < 16 and < 32: every factor is sketched
    sketched = collect(model, layers, sketch="sketch", rank_k=k, oversample=p)
    for name, f in sketched.items():
        for moment, dense in ((f.input_moment, exact[name].input_moment), (f.grad_moment, exact[name].grad_moment)):
            assert isinstance(moment, SketchedMoment) and moment.width == k + p
            torch.testing.assert_close(moment.sketch, dense @ moment.test_matrix, rtol=1e-10, atol=1e-14)
            torch.testing.assert_close(moment.trace, torch.trace(dense), rtol=1e-12, atol=0)
    summary = summarise_factors(sketched, k)
    for name, fisher in summary.items():
        for factor, dense in (
            (fisher.input_factor, exact[name].input_moment),
            (fisher.output_factor, exact[name].grad_moment),
        ):
            torch.testing.assert_close(torch.trace(factor.dense()), torch.trace(dense), rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="columns"):
        summarise_factors(sketched, k + p + 1)


def test_auto_mode_in_the_fisher_pass(llama_all_targets):
    model, layers, exact = llama_all_targets
    auto = collect(model, layers, rank_k=2, oversample=3, exact_max_dim=20)  # d=16 exact, d=32 sketched
    for name, f in auto.items():
        pairs = ((f.input_moment, exact[name].input_moment), (f.grad_moment, exact[name].grad_moment))
        for moment, dense in pairs:
            assert isinstance(moment, SketchedMoment) == (moment.shape[0] > 20), name
            if isinstance(moment, SketchedMoment):  # second pass: Ω = orth(first sketch), Y = M Ω
                torch.testing.assert_close(moment.test_matrix.T @ moment.test_matrix, torch.eye(5, dtype=F64))
                torch.testing.assert_close(moment.sketch, dense @ moment.test_matrix, rtol=1e-10, atol=1e-14)
                torch.testing.assert_close(moment.trace, torch.trace(dense), rtol=1e-12, atol=0)
            else:  # exact sums are untouched by the second pass
                torch.testing.assert_close(moment, dense, rtol=1e-12, atol=0)
    default = collect(model, layers)
    for name, f in default.items():
        assert isinstance(f.input_moment, torch.Tensor) and torch.equal(f.input_moment, exact[name].input_moment)


def test_shared_inputs_one_accumulation(llama_all_targets, monkeypatch):
    """q/k/v (and gate/up) share one input statistic, accumulated once per batch; values are unchanged."""
    model, layers, exact = llama_all_targets
    calls = {"shared": 0, "unshared": 0}
    original = moments_mod.DenseMomentAccumulator.add
    key = "shared"

    def counting_add(self, rows):
        calls[key] += 1
        return original(self, rows)

    monkeypatch.setattr(moments_mod.DenseMomentAccumulator, "add", counting_add)
    shared = collect(model, layers, sketch="exact")
    key = "unshared"
    unshared = collect(model, layers, sketch="exact", share_inputs=False)
    n_batches, n_layers = math.ceil(len(SHAPES) / 2), 2
    # grads: 7 per layer; inputs: 4 distinct per layer (attention in, o_proj in, MLP in, down_proj in) vs 7.
    assert calls["shared"] == n_batches * n_layers * (7 + 4)
    assert calls["unshared"] == n_batches * n_layers * (7 + 7)
    for layer in range(n_layers):
        prefix = f"model.model.layers.{layer}."
        groups = [("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), ("mlp.gate_proj", "mlp.up_proj")]
        names = {n.removeprefix("base_model.") for n in shared}
        for group in groups:
            full = [next(n for n in names if n.endswith(prefix.removeprefix("model.") + g)) for g in group]
            first = shared[full[0]]
            for name in full:
                assert shared[name].input_moment is first.input_moment  # one object, one accumulation
                assert shared[name].input_source == full[0]
                assert shared[name].input_updates == n_batches
                assert torch.equal(unshared[name].input_moment, first.input_moment)
        for single in ("self_attn.o_proj", "mlp.down_proj"):
            name = next(n for n in names if n.endswith(single))
            assert shared[name].input_source == name
    distinct = {id(f.input_moment) for f in shared.values()}
    assert len(distinct) == n_layers * 4
    for name, f in shared.items():
        assert torch.equal(f.input_moment, exact[name].input_moment)
        assert torch.equal(f.grad_moment, unshared[name].grad_moment)


def test_shared_summary_is_cacheable(llama_all_targets, tmp_path):
    """A shared input is summarised once, and every module reading it holds that one factor (no copy); moved with
    ``summary_to`` it stays one factor, and the cache stores it once and loads it shared."""
    _model, _layers, exact = llama_all_targets
    summary = summarise_factors(exact, 4)
    q = next(n for n in summary if n.endswith("q_proj"))
    k = next(n for n in summary if n.endswith("k_proj") and n.split("layers.")[1][0] == q.split("layers.")[1][0])
    assert summary[q].input_factor is summary[k].input_factor
    assert summary[q].output_factor is not summary[k].output_factor
    as_float32 = summary_to(summary, "cpu", torch.float32)
    assert as_float32[q].input_factor is as_float32[k].input_factor
    assert as_float32[q].input_factor.vectors.dtype == torch.float32
    save_fisher_cache(tmp_path / "fisher.safetensors", as_float32, {"base_model": "tiny"})
    loaded, _ = load_fisher_cache(tmp_path / "fisher.safetensors")
    assert loaded[q].input_factor is loaded[k].input_factor
    torch.testing.assert_close(loaded[k].input_factor.vectors, as_float32[q].input_factor.vectors, rtol=0, atol=0)


class TwoReaders(nn.Module):
    """``a`` and ``b`` read the same tensor on the first forward, different tensors afterwards."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 4)
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.head = nn.Linear(4, VOCAB)
        self.calls = 0

    def get_input_embeddings(self) -> nn.Module:
        return self.embed

    def forward(self, input_ids, attention_mask=None):
        from types import SimpleNamespace

        x = self.embed(input_ids)
        self.calls += 1
        y = self.a(x) + self.b(x if self.calls == 1 else 2 * x)
        return SimpleNamespace(logits=self.head(y))


def test_inconsistent_sharing_is_an_error():
    model = TwoReaders()
    layers = {"a": model.a, "b": model.b}
    with pytest.raises(RuntimeError, match="share_inputs=False"):
        collect_kfac_factors(
            model,
            layers,
            examples(),
            0,
            FisherPassSettings(batch_size=2, fisher_type="empirical", reduction="mean"),
            show_progress=False,
        )
    model.calls = 0
    factors = collect_kfac_factors(
        model,
        layers,
        examples(),
        0,
        FisherPassSettings(batch_size=2, share_inputs=False, fisher_type="empirical", reduction="mean"),
        show_progress=False,
    )
    assert factors["a"].input_moment is not factors["b"].input_moment


def test_freed_input_memory_is_not_mistaken_for_a_shared_input():
    """Two layers whose inputs are different tensors at (possibly) the same address never share."""

    class Chain(TwoReaders):
        def forward(self, input_ids, attention_mask=None):
            from types import SimpleNamespace

            h = self.a(self.embed(input_ids) * 1.0)  # the scaled input can be freed right after `a` (frozen)
            return SimpleNamespace(logits=self.head(self.b(h * 1.0)))

    model = Chain().requires_grad_(False)
    factors = collect_kfac_factors(
        model,
        {"a": model.a, "b": model.b},
        examples(),
        0,
        FisherPassSettings(batch_size=2, fisher_type="empirical", reduction="mean"),
        show_progress=False,
    )
    assert factors["a"].input_moment is not factors["b"].input_moment
    assert factors["b"].input_source == "b"


# ---------------------------------------------------------------- torch.distributed (2 CPU processes, gloo)
WORKER = """
import os, sys
import torch
import torch.distributed as dist
sys.path.insert(0, os.environ["AGL_TESTS_DIR"])
from tests.core.test_sketch import collect, examples, tiny_llama, ALL_TARGETS
from axolotl_agl.core.kfac import FisherPassSettings, collect_kfac_factors

dist.init_process_group("gloo")
model, layers = tiny_llama(ALL_TARGETS)
out = {}
for tag, data in (("all", examples()), ("one", examples()[:1])):
    with model.disable_adapter():
        factors = collect_kfac_factors(
            model, layers, data, 0, FisherPassSettings(batch_size=2, fisher_type="empirical", reduction="mean", sketch="sketch", rank_k=3, oversample=4), show_progress=False
        )
    for name, f in factors.items():
        out[f"{tag}::{name}::in"] = f.input_moment.sketch
        out[f"{tag}::{name}::in_trace"] = f.input_moment.trace
        out[f"{tag}::{name}::grad"] = f.grad_moment.sketch
        out[f"{tag}::{name}::source"] = f.input_source
        out[f"{tag}::{name}::counts"] = (f.tokens, f.examples)
torch.save(out, os.path.join(sys.argv[1], f"rank{dist.get_rank()}.pt"))
dist.destroy_process_group()
"""


def test_distributed_sketches_all_reduce(tmp_path, llama_all_targets):
    """Ranks split the examples; the all-reduced sketches (same Ω everywhere) equal the single-process ones,
    also when one rank gets no example at all (it adopts rank 0's shared-input groups)."""
    import subprocess
    import sys
    from pathlib import Path

    from axolotl_agl.experiments.launch import find_free_port

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    torchrun = Path(sys.executable).parent / "torchrun"
    tests_dir = Path(__file__).parent
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        AGL_TESTS_DIR=str(tests_dir),
        PYTHONPATH=str(tests_dir.parents[1]),
    )
    cmd = [str(torchrun), "--nproc_per_node", "2", "--master_port", str(find_free_port()), str(script), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    model, layers, _ = llama_all_targets
    for tag, data in (("all", examples()), ("one", examples()[:1])):
        with model.disable_adapter():
            single = collect_kfac_factors(
                model,
                layers,
                data,
                0,
                FisherPassSettings(
                    batch_size=2, sketch="sketch", rank_k=3, oversample=4, fisher_type="empirical", reduction="mean"
                ),
                show_progress=False,
            )
        for rank in (0, 1):
            got = torch.load(tmp_path / f"rank{rank}.pt")
            for name, f in single.items():
                torch.testing.assert_close(got[f"{tag}::{name}::in"], f.input_moment.sketch, rtol=1e-10, atol=1e-14)
                torch.testing.assert_close(got[f"{tag}::{name}::in_trace"], f.input_moment.trace, rtol=1e-12, atol=0)
                torch.testing.assert_close(got[f"{tag}::{name}::grad"], f.grad_moment.sketch, rtol=1e-10, atol=1e-14)
                assert got[f"{tag}::{name}::source"] == f.input_source
                assert got[f"{tag}::{name}::counts"] == (f.tokens, f.examples)


def test_second_pass_skips_backward_when_no_gradient_factor_is_sketched(monkeypatch):
    """Only down_proj's input (d = 32) is sketched: the second pass is forward-only."""
    model, layers = tiny_llama(["down_proj"])
    calls = []
    original = torch.autograd.grad

    def counting_grad(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting_grad)
    factors = collect(model, layers, rank_k=2, oversample=3, exact_max_dim=20)
    n_batches = math.ceil(len(SHAPES) / 2)
    assert len(calls) == n_batches  # first pass only
    for f in factors.values():
        assert isinstance(f.input_moment, SketchedMoment) and isinstance(f.grad_moment, torch.Tensor)
        assert f.input_updates == 2 * n_batches


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_summary_by_subspace_iteration_matches_eigh(seed):
    """Wide exact factors use subspace iteration; its top-k subspace and eigenvalues match a full eigh."""
    from axolotl_agl.core.fisher_state import FULL_EIGH_MAX_DIM, low_rank_factor_from_dense

    dim, k = FULL_EIGH_MAX_DIM + 200, 16
    gen = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))[0]
    spectrum = 1.0 / torch.arange(1, dim + 1, dtype=torch.float64) ** 1.5
    matrix = basis @ torch.diag(spectrum) @ basis.T
    fast = low_rank_factor_from_dense(matrix, k)
    values, vectors = torch.linalg.eigh(matrix)
    top, exact = values.flip(0)[:k], vectors.flip(1)[:, :k]
    torch.testing.assert_close(fast.values, top, rtol=1e-6, atol=0)
    sines = torch.linalg.svdvals(exact.T @ fast.vectors).clamp(max=1).arccos().sin()
    assert float(sines.max()) < 1e-3
    assert float(fast.residual) == pytest.approx(float(values.flip(0)[k:].mean()), rel=1e-6)


@pytest.mark.parametrize("dim", [576, 1536])
def test_float32_subspace_iteration_matches_a_float64_eigh(dim):
    """A float32 moment (what the Fisher pass accumulates) iterates in float32 with a float64 Rayleigh–Ritz step:
    its top-k eigenvalues stay within 1e-4 (relative) of a float64 eigh of the same matrix, the subspace captures the
    exact top-k energy to 1e-5, the trace (residual) is exact and every output is float64."""
    from axolotl_agl.core.fisher_state import FULL_EIGH_MAX_DIM, low_rank_factor_from_dense

    k = 32
    assert dim > FULL_EIGH_MAX_DIM and k < dim // 4  # the subspace-iteration branch
    gen = torch.Generator().manual_seed(dim)
    basis = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))[0]
    spectrum = 1.0 / torch.arange(1, dim + 1, dtype=torch.float64) ** 1.5
    matrix = ((basis * spectrum) @ basis.T).to(torch.float32)
    exact = matrix.to(torch.float64)
    exact = 0.5 * (exact + exact.T)
    fast = low_rank_factor_from_dense(matrix, k)
    assert {fast.values.dtype, fast.vectors.dtype, fast.residual.dtype} == {torch.float64}
    values, vectors = torch.linalg.eigh(exact)
    top = values.flip(0)[:k]
    torch.testing.assert_close(fast.values, top, rtol=1e-4, atol=0)
    captured = torch.trace(fast.vectors.T @ exact @ fast.vectors) / top.sum()
    assert float(captured) == pytest.approx(1.0, abs=1e-5)
    trace = float(torch.trace(exact))
    assert float(fast.values.sum() + (dim - k) * fast.residual) == pytest.approx(trace, rel=1e-9)


@pytest.mark.parametrize("dim", [5, 191, 384, 577, 1536])
def test_dense_accumulator_block_triangular_sum_is_the_full_gram(dim):
    """The block upper-triangular updates, mirrored in ``result``, give ``Σ xᵀx / n`` exactly as one product does,
    also when partial sums of two ranks are added (what the distributed all-reduce does with ``state_tensors``)."""
    from axolotl_agl.core.moments import GRAM_MAX_BLOCKS, DenseMomentAccumulator, gram_blocks

    blocks = gram_blocks(dim)
    assert blocks[0][0] == 0 and blocks[-1][1] == dim and len(blocks) <= GRAM_MAX_BLOCKS
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
    gen = torch.Generator().manual_seed(dim)
    chunks = [torch.randn(n, dim, generator=gen, dtype=torch.float64) for n in (3, 17, 8)]
    ranks = [DenseMomentAccumulator(dim, dtype=torch.float64) for _ in range(2)]
    for i, rows in enumerate(chunks):
        ranks[i % 2].add(rows)
    total = ranks[0]
    total.sum += ranks[1].sum
    reference = sum(rows.T @ rows for rows in chunks) / 28
    torch.testing.assert_close(total.result(28), reference, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(total.result(28), total.result(28).T, rtol=1e-12, atol=1e-12)  # mirrored


def test_parallel_summary_is_identical_to_serial_and_restores_threads():
    """Summarising moments on several Python workers (one torch thread) gives bit-identical factors."""
    from axolotl_agl.core.kfac_summary import single_threaded_on_cpu, summarise_moments

    gen = torch.Generator().manual_seed(0)
    moments = {}
    for key, dim in enumerate((7, 64, 33, 1100, 12)):
        rows = torch.randn(2 * dim, dim, generator=gen, dtype=torch.float32)
        moments[key] = rows.T @ rows / (2 * dim)
    threads = torch.get_num_threads()
    with single_threaded_on_cpu(list(moments.values())) as workers:
        assert workers == threads and torch.get_num_threads() == 1
        serial = summarise_moments(moments, 4, workers=1)
        parallel = summarise_moments(moments, 4, workers=3)
    assert torch.get_num_threads() == threads
    assert list(parallel) == list(moments)
    for key in moments:
        for a, b in zip(
            (serial[key].vectors, serial[key].values, serial[key].residual),
            (parallel[key].vectors, parallel[key].values, parallel[key].residual),
            strict=True,
        ):
            assert torch.equal(a, b)
