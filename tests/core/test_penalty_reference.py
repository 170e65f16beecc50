"""Compare the factor-based AlignGuard terms with slow, obviously-correct float64 references.

The reference materialises everything (float64, tiny shapes):

* ``ΔW = s·B·A`` (``d_out × d_in``); ``Ĝ``, ``Ŝ`` = ``LowRankFactor.dense()`` of the output / input
  factors, i.e. ``U diag(g) Uᵀ + σ (I − U Uᵀ)``;
* ``F = Ĝ ⊗ Ŝ`` (``torch.kron``), acting on the row-major ``vec(ΔW) = ΔW.reshape(-1)``;
* ``ρ = split_damping · tr(F) / (d_out·d_in)`` (mean eigenvalue of ``F``);
* ``Ω = F (F + ρI)⁻¹`` by an explicit dense solve; ``ΔW_A = unvec(Ω vec ΔW)``, ``ΔW_T = ΔW − ΔW_A``;
* fisher = ½ vec(ΔW_A)ᵀ F vec(ΔW_A); stabiliser = ½‖ΔW_T‖²;
  geodesic = ⟨ΔW_A, ΔW_T⟩² / (‖ΔW_A‖²‖ΔW_T‖² + δ⁴);
  overlap = Σ m|ΔW_A||ΔW_T| / (½ Σ m (ΔW_A² + ΔW_T²) + δ²), with ``m = diag(F)`` (as ``d_out × d_in``)
  divided by its mean and ``δ = COLLISION_SCALE``.

Gradients of the reference come from autograd through these dense float64 operations.
"""

from __future__ import annotations

import pytest
import torch

from axolotl_agl.core.fisher_state import ModuleFisher, low_rank_factor_from_dense
from axolotl_agl.core.penalty import (
    COLLISION_SCALE,
    TERM_NAMES,
    combine_terms,
    compute_coordinate_overlap,
    compute_module_terms,
    compute_spectral_energies,
    compute_spectral_terms,
)

F64 = torch.float64
# (d_out, d_in, r, k_out, k_in): truncated, full-rank factors, k = 1 with r = 1, mixed.
SHAPES = [(6, 5, 2, 3, 2), (5, 4, 3, 5, 4), (7, 3, 1, 1, 1), (4, 6, 2, 4, 1)]
SEEDS = [0, 1, 2]


def random_psd(dim: int, gen: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=F64))
    spectrum = torch.logspace(1, -2, dim, dtype=F64) * (1 + 0.5 * torch.rand(dim, generator=gen, dtype=F64))
    return q @ torch.diag(spectrum) @ q.T


def make_case(shape: tuple[int, ...], seed: int, dtype: torch.dtype = F64):
    d_out, d_in, r, k_out, k_in = shape
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(r, d_in, generator=gen, dtype=F64).to(dtype).requires_grad_()
    b = torch.randn(d_out, r, generator=gen, dtype=F64).to(dtype).requires_grad_()
    scale = 0.5 + float(torch.rand((), generator=gen))
    fisher = ModuleFisher(
        low_rank_factor_from_dense(random_psd(d_out, gen), k_out),
        low_rank_factor_from_dense(random_psd(d_in, gen), k_in),
    )
    return a, b, scale, fisher


def reference_terms(a, b, scale, fisher, split_damping=1.0) -> dict[str, torch.Tensor]:
    a, b = a.to(F64), b.to(F64)
    d_out, d_in = b.shape[0], a.shape[1]
    f = torch.kron(fisher.output_factor.dense(), fisher.input_factor.dense())
    eye = torch.eye(d_out * d_in, dtype=F64)
    rho = split_damping * torch.trace(f) / (d_out * d_in)
    omega = torch.linalg.solve(f + rho * eye, f, left=False)  # X (F + ρI) = F
    dw = scale * b @ a
    dw_a = (omega @ dw.reshape(-1)).reshape(d_out, d_in)
    dw_t = dw - dw_a
    metric = torch.diagonal(f).reshape(d_out, d_in)
    metric = metric / metric.mean()
    vec_a = dw_a.reshape(-1)
    return {
        "fisher": 0.5 * vec_a @ f @ vec_a,
        "stabiliser": 0.5 * dw_t.square().sum(),
        "geodesic": (dw_a * dw_t).sum().square() / (dw_a.square().sum() * dw_t.square().sum() + COLLISION_SCALE**4),
        "overlap": (metric * dw_a.abs() * dw_t.abs()).sum()
        / (0.5 * (metric * (dw_a.square() + dw_t.square())).sum() + COLLISION_SCALE**2),
    }


def fast_terms(a, b, scale, fisher, split_damping=1.0, chunk_rows=1024) -> dict[str, torch.Tensor]:
    damping = split_damping * fisher.mean_eigenvalue()
    terms = compute_spectral_terms(compute_spectral_energies(a, b, scale, fisher), damping)
    terms["overlap"] = compute_coordinate_overlap(a, b, scale, fisher, damping, chunk_rows=chunk_rows)
    return terms


def named(name: str):
    """``assert_close`` message callback that prefixes the term name to torch's mismatch report."""
    return lambda report: f"{name}: {report}"


def grads(value: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.autograd.grad(value, (a, b), retain_graph=True)


@pytest.mark.parametrize("dim,k", [(5, 2), (6, 1), (4, 4)])
def test_low_rank_factor(dim, k):
    m = random_psd(dim, torch.Generator().manual_seed(dim + k))
    fac = low_rank_factor_from_dense(m, k)
    u, g, sigma = fac.vectors, fac.values, fac.residual
    eye = torch.eye(dim, dtype=F64)
    torch.testing.assert_close(u.T @ u, torch.eye(k, dtype=F64), rtol=0, atol=1e-12)
    assert torch.all(g[:-1] >= g[1:])  # descending
    formula = u @ torch.diag(g) @ u.T + sigma * (eye - u @ u.T)
    torch.testing.assert_close(fac.dense(), formula, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fac.diagonal(), torch.diagonal(fac.dense()), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.trace(fac.dense()), torch.trace(m), rtol=1e-12, atol=0)
    if k == dim:
        torch.testing.assert_close(fac.dense(), m, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError):
        low_rank_factor_from_dense(m, dim + 1)


@pytest.mark.parametrize("shape", SHAPES)
def test_kron_vec_identity_and_mean_eigenvalue(shape):
    a, b, scale, fisher = make_case(shape, seed=7)
    g_hat, s_hat = fisher.output_factor.dense(), fisher.input_factor.dense()
    f = torch.kron(g_hat, s_hat)
    dw = (scale * b @ a).detach()
    vec = dw.reshape(-1)
    torch.testing.assert_close(vec @ f @ vec, torch.trace(g_hat @ dw @ s_hat @ dw.T), rtol=1e-12, atol=0)
    mean_eig = torch.linalg.eigvalsh(f).mean()
    torch.testing.assert_close(fisher.mean_eigenvalue(), mean_eig, rtol=1e-10, atol=0)


@pytest.mark.parametrize("split_damping", [1.0, 0.2])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_values_and_gradients_match_reference(shape, seed, split_damping):
    a, b, scale, fisher = make_case(shape, seed)
    fast = fast_terms(a, b, scale, fisher, split_damping)
    ref = reference_terms(a, b, scale, fisher, split_damping)
    for name in TERM_NAMES:
        torch.testing.assert_close(fast[name], ref[name], rtol=1e-8, atol=1e-14, msg=named(name))
        for g_fast, g_ref in zip(grads(fast[name], a, b), grads(ref[name], a, b), strict=True):
            torch.testing.assert_close(g_fast, g_ref, rtol=1e-7, atol=1e-10 * g_ref.abs().max(), msg=named(name))


@pytest.mark.parametrize("shape", [(4, 3, 2, 2, 1), (3, 3, 1, 3, 3), (5, 2, 1, 1, 2)])
def test_gradcheck(shape):
    a, b, scale, fisher = make_case(shape, seed=3)
    for name in TERM_NAMES:

        def term(a_, b_, name=name):
            return fast_terms(a_, b_, scale, fisher, chunk_rows=2)[name]

        assert torch.autograd.gradcheck(term, (a, b)), name


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
@pytest.mark.parametrize("seed", SEEDS)
def test_overlap_chunking(seed, chunk_rows):
    a, b, scale, fisher = make_case((7, 5, 2, 3, 2), seed)
    damping = fisher.mean_eigenvalue()
    chunked = compute_coordinate_overlap(a, b, scale, fisher, damping, chunk_rows=chunk_rows)
    whole = compute_coordinate_overlap(a, b, scale, fisher, damping, chunk_rows=1024)
    torch.testing.assert_close(chunked, whole, rtol=1e-12, atol=0)
    for g_c, g_w in zip(grads(chunked, a, b), grads(whole, a, b), strict=True):
        torch.testing.assert_close(g_c, g_w, rtol=1e-10, atol=1e-14)
    with torch.no_grad():
        torch.testing.assert_close(
            compute_coordinate_overlap(a, b, scale, fisher, damping, chunk_rows=chunk_rows), whole.detach()
        )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_module_terms_float32(shape, seed):
    a, b, scale, fisher = make_case(shape, seed, dtype=torch.float32)
    fast = compute_module_terms(a, b, scale, fisher)
    ref = reference_terms(a, b, scale, fisher)
    for name in TERM_NAMES:
        assert fast[name].dtype == torch.float32
        torch.testing.assert_close(fast[name].double(), ref[name], rtol=1e-4, atol=1e-7, msg=named(name))
        for g_fast, g_ref in zip(grads(fast[name], a, b), grads(ref[name], a, b), strict=True):
            assert g_fast.dtype == torch.float32
            torch.testing.assert_close(g_fast, g_ref, rtol=1e-3, atol=1e-4 * g_ref.abs().max(), msg=named(name))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_no_term_vanishes(shape, seed):
    for dtype, fn in [(F64, fast_terms), (torch.float32, compute_module_terms)]:
        a, b, scale, fisher = make_case(shape, seed, dtype=dtype)
        terms = fn(a, b, scale, fisher)
        for name in TERM_NAMES:
            assert terms[name].item() > 0, (name, dtype)
            g_a, g_b = grads(terms[name], a, b)
            assert g_a.abs().max() > 0 and g_b.abs().max() > 0, (name, dtype)


def test_combine_terms():
    gen = torch.Generator().manual_seed(0)
    per_module = [{n: torch.rand((), generator=gen, dtype=F64) for n in TERM_NAMES} for _ in range(3)]
    lam_a, lam_t, lam_c, alpha = 0.7, 0.3, 0.5, 0.25
    total, agg = combine_terms(per_module, lam_a, lam_t, lam_c, alpha)
    fisher = sum(m["fisher"] for m in per_module)
    stab = sum(m["stabiliser"] for m in per_module)
    overlap = sum(m["overlap"] for m in per_module) / 3
    geo = sum(m["geodesic"] for m in per_module) / 3
    expected = {"fisher": fisher, "stabiliser": stab, "overlap": overlap, "geodesic": geo}
    for name in TERM_NAMES:
        torch.testing.assert_close(agg[name], expected[name])
    hand = lam_a * fisher + lam_t * stab + lam_c * (alpha * overlap + (1 - alpha) * geo)
    torch.testing.assert_close(total, hand)
    with pytest.raises(ValueError):
        combine_terms([], lam_a, lam_t, lam_c, alpha)


@pytest.mark.parametrize("shape", SHAPES)
def test_scaling(shape):
    a, b, scale, fisher = make_case(shape, seed=5)
    with torch.no_grad():
        base = fast_terms(a, b, scale, fisher)
        c = 10.0
        scaled = fast_terms(a, b, c * scale, fisher)
        tiny = fast_terms(a, b, 1e-6 * scale, fisher)
    for name in ("fisher", "stabiliser"):
        torch.testing.assert_close(scaled[name], c**2 * base[name], rtol=1e-10, atol=0)
    torch.testing.assert_close(scaled["geodesic"], base["geodesic"], rtol=1e-5, atol=0)
    torch.testing.assert_close(scaled["overlap"], base["overlap"], rtol=1e-3, atol=0)
    # the scale-free collision terms fade out as ‖ΔW‖ → 0
    assert tiny["geodesic"] < 1e-6 * base["geodesic"]
    assert tiny["overlap"] < 1e-6 * base["overlap"]


@pytest.mark.parametrize("param_dtype", [torch.float32, torch.bfloat16])
def test_module_terms_under_autocast(param_dtype):
    a, b, scale, fisher = make_case((6, 5, 2, 3, 2), seed=1, dtype=param_dtype)
    plain = compute_module_terms(a, b, scale, fisher)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cast = compute_module_terms(a, b, scale, fisher)
    for name in TERM_NAMES:
        assert cast[name].dtype == torch.float32, name
        torch.testing.assert_close(cast[name], plain[name], rtol=1e-6, atol=0, msg=named(name))
        for g_cast, g_plain in zip(grads(cast[name], a, b), grads(plain[name], a, b), strict=True):
            assert g_cast.dtype == param_dtype
            torch.testing.assert_close(g_cast, g_plain, rtol=1e-6, atol=1e-8)
