"""The penalty at scale: low-rank forms, the memory of the exact overlap, and the sampled overlap estimator.

The overlap term is ``N / (D + δ²)`` with ``N = Σ_pq m_pq |ΔW_A|_pq |ΔW_T|_pq`` and
``D = ½ Σ_pq m_pq (ΔW_A² + ΔW_T²)_pq``. ``D`` is computed exactly from low-rank factors; the sampled
estimator draws ``n`` lines (rows, or columns when ``d_in > d_out``) i.i.d. from ``π`` and returns
``N̂ / (D + δ²)`` with ``N̂ = (1/n) Σ_i N_{p_i}/π_{p_i}``. So, with ``Z = N_P/π_P`` (``P ~ π``) and
``c = 1/(D + δ²)``:

* ``E[ô] = c·N`` — the exact overlap (unbiased, since ``D`` is exact and not estimated);
* ``Var[ô] = c²·Var[Z]/n``, ``Var[Z] = Σ_p N_p²/π_p − N²`` — computed exactly below from dense references;
* the mean of ``R`` independent estimates is within ``5·√(Var[ô]/R)`` of ``c·N`` except with probability
  ``< 10⁻⁶`` (Chebyshev would give ``1/25``; the CLT, which applies for ``R`` in the thousands, ``6·10⁻⁷``);
  the seed is fixed, so the test is deterministic;
* the sample variance ``s²`` of the ``R`` estimates has ``Var[s²] ≈ (μ₄ − σ⁴)/R`` with ``μ₄`` the fourth
  central moment of ``ô``, ``μ₄ = c⁴ (μ₄(Z) + 3(n − 1)Var[Z]²)/n³`` — also computed exactly; ``s²`` must be
  within ``5·√Var[s²]`` of ``Var[ô]``.
"""

from __future__ import annotations

import math

import pytest
import torch

from axolotl_agl.core.penalty import (
    COLLISION_SCALE,
    UNIFORM_MIX,
    compute_coordinate_overlap,
    compute_module_terms,
    low_rank_split,
    overlap_mass,
    overlap_metric,
    overlap_sampling_distribution,
)
from tests.core.test_penalty_reference import make_case, reference_terms

F64 = torch.float64
# (d_out, d_in, r, k_out, k_in): rows sampled (d_in <= d_out) and columns sampled (d_in > d_out).
SAMPLING_SHAPES = [(12, 7, 2, 3, 2), (5, 11, 2, 2, 3)]


def dense_parts(a, b, scale, fisher, damping):
    """``ΔW``, ``ΔW_A``, ``ΔW_T`` and the metric as dense float64 matrices (the reference of test_penalty_reference)."""
    a, b = a.detach().to(F64), b.detach().to(F64)
    d_out, d_in = b.shape[0], a.shape[1]
    f = torch.kron(fisher.output_factor.dense(), fisher.input_factor.dense())
    omega = torch.linalg.solve(f + damping * torch.eye(d_out * d_in, dtype=F64), f, left=False)
    dw = scale * b @ a
    dw_a = (omega @ dw.reshape(-1)).reshape(d_out, d_in)
    metric = torch.diagonal(f).reshape(d_out, d_in)
    return dw, dw_a, dw - dw_a, metric / metric.mean()


def line_values(dw_a, dw_t, metric, transposed):
    """``N_p`` for every line ``p`` (rows, or columns when ``transposed``)."""
    per_entry = metric * dw_a.abs() * dw_t.abs()
    return per_entry.sum(dim=0 if transposed else 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", SAMPLING_SHAPES + [(6, 5, 2, 3, 2), (4, 6, 2, 4, 1)])
def test_low_rank_split_and_exact_denominator(shape, seed):
    a, b, scale, fisher = make_case(shape, seed)
    damping = fisher.mean_eigenvalue()
    split = low_rank_split(a, b, scale, fisher, damping)
    dw, dw_a, dw_t, metric = dense_parts(a, b, scale, fisher, damping)
    torch.testing.assert_close(split.dw_left @ split.dw_right, dw, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(split.a_left @ split.a_right, dw_a, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(split.t_left @ split.t_right, dw_t, rtol=1e-10, atol=1e-12)
    rows, cols = overlap_metric(fisher)
    torch.testing.assert_close(rows[:, None] * cols[None, :], metric, rtol=1e-12, atol=0)
    mass = overlap_mass(split, rows, cols)
    torch.testing.assert_close(mass, 0.5 * (metric * (dw_a.square() + dw_t.square())).sum(), rtol=1e-10, atol=0)


@pytest.mark.parametrize("shape", SAMPLING_SHAPES)
def test_sampled_overlap_is_unbiased_with_the_predicted_variance(shape):
    a, b, scale, fisher = make_case(shape, seed=4)
    damping = fisher.mean_eigenvalue()
    exact = reference_terms(a, b, scale, fisher)["overlap"].detach()
    _, dw_a, dw_t, metric = dense_parts(a, b, scale, fisher, damping)
    split = low_rank_split(a.detach(), b.detach(), scale, fisher, damping)
    probs, transposed = overlap_sampling_distribution(split, *overlap_metric(fisher))
    assert transposed == (shape[1] > shape[0])
    values = line_values(dw_a, dw_t, metric, transposed)
    c = 1 / (0.5 * (metric * (dw_a.square() + dw_t.square())).sum() + COLLISION_SCALE**2)
    z = values / probs
    var_z = (probs * z.square()).sum() - values.sum() ** 2
    mu4_z = (probs * (z - values.sum()) ** 4).sum()
    n, reps = 3, 4000
    var_est = c**2 * var_z / n
    mu4_est = c**4 * (mu4_z + 3 * (n - 1) * var_z**2) / n**3
    # Popoviciu: N_p/π_p ∈ [0, D/(1 − ε)], so Var[ô] ≤ 1/(4n(1 − ε)²).
    assert var_est <= 1 / (4 * n * (1 - UNIFORM_MIX) ** 2)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        draws = torch.stack(
            [compute_coordinate_overlap(a, b, scale, fisher, damping, samples=n, generator=gen) for _ in range(reps)]
        )
    assert float(draws.min()) >= 0
    assert abs(float(draws.mean() - exact)) < 5 * math.sqrt(var_est / reps), (float(draws.mean()), float(exact))
    sample_var = draws.var(correction=1)
    assert abs(float(sample_var - var_est)) < 5 * math.sqrt((mu4_est - var_est**2) / reps), (sample_var, var_est)


@pytest.mark.parametrize("shape", SAMPLING_SHAPES)
def test_sampled_overlap_gradient_is_unbiased(shape):
    a, b, scale, fisher = make_case(shape, seed=5)
    damping = fisher.mean_eigenvalue()
    exact = reference_terms(a, b, scale, fisher)["overlap"]
    g_exact = torch.autograd.grad(exact, (a, b))
    gen = torch.Generator().manual_seed(1)
    reps = 2000
    grads_a, grads_b = [], []
    for _ in range(reps):
        est = compute_coordinate_overlap(a, b, scale, fisher, damping, samples=2, generator=gen)
        g_a, g_b = torch.autograd.grad(est, (a, b))
        grads_a.append(g_a)
        grads_b.append(g_b)
    for samples, reference in ((torch.stack(grads_a), g_exact[0]), (torch.stack(grads_b), g_exact[1])):
        tolerance = 5 * samples.std(dim=0) / math.sqrt(reps) + 1e-12
        assert torch.all((samples.mean(dim=0) - reference).abs() < tolerance)


def test_sampled_overlap_degenerate_cases():
    a, b, scale, fisher = make_case((12, 7, 2, 3, 2), seed=6)
    damping = fisher.mean_eigenvalue()
    exact = compute_coordinate_overlap(a, b, scale, fisher, damping)
    # at least as many samples as lines: the exact value
    assert torch.equal(compute_coordinate_overlap(a, b, scale, fisher, damping, samples=7), exact)
    # LoRA initialisation (B = 0): overlap 0, gradients finite
    zero_b = torch.zeros_like(b).requires_grad_()
    value = compute_coordinate_overlap(a, zero_b, scale, fisher, damping, samples=3)
    assert float(value.detach()) == 0.0
    assert all(torch.isfinite(g).all() for g in torch.autograd.grad(value, (a, zero_b)))


def test_module_terms_with_sampling_float32_under_autocast():
    a, b, scale, fisher = make_case((12, 7, 2, 3, 2), seed=1, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = compute_module_terms(a, b, scale, fisher, overlap_samples=3, generator=torch.Generator().manual_seed(0))
    plain = compute_module_terms(a, b, scale, fisher)
    for name, value in terms.items():
        assert value.dtype == torch.float32, name
        if name != "overlap":
            torch.testing.assert_close(value, plain[name], rtol=1e-6, atol=0)
    assert 0 <= float(terms["overlap"].detach()) <= 1 / (1 - UNIFORM_MIX)


def _largest_saved_for_backward(fn) -> int:
    """Largest tensor (in elements) that autograd keeps for the backward pass of ``fn()`` outside checkpoints."""
    sizes = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, max(sizes)


@pytest.mark.parametrize("chunk_rows", [None, 48, 7])
def test_exact_overlap_saves_no_full_matrix(chunk_rows):
    """Fused chunks: nothing of size ``d_out × d_in`` (nor a chunk of it) is kept for backward, even when
    the whole matrix is one chunk; plain autograd through the chunks keeps every chunk's temporaries.
    Values and gradients agree."""
    d_out, d_in, r, k = 96, 80, 4, 6
    a, b, scale, fisher = make_case((d_out, d_in, r, k, k), seed=2, dtype=torch.float32)
    fisher32 = fisher.to("cpu", torch.float32)
    damping = fisher32.mean_eigenvalue()

    def run(fused: bool):
        return compute_coordinate_overlap(a, b, scale, fisher32, damping, chunk_rows=chunk_rows, fused=fused)

    fused, largest_fused = _largest_saved_for_backward(lambda: run(True))
    plain, largest_plain = _largest_saved_for_backward(lambda: run(False))
    rows = min(chunk_rows or d_out, d_out)
    assert largest_plain >= rows * d_in  # the row-chunk temporaries
    assert largest_fused <= max(d_out, d_in) * (r + 2 * k)  # gradients of the low-rank factors only
    torch.testing.assert_close(fused, plain, rtol=1e-6, atol=0)
    for g_fused, g_plain in zip(torch.autograd.grad(fused, (a, b)), torch.autograd.grad(plain, (a, b)), strict=True):
        torch.testing.assert_close(g_fused, g_plain, rtol=1e-4, atol=1e-5 * float(g_plain.abs().max()))  # float32


@pytest.mark.parametrize("seed", [0, 1])
def test_fused_overlap_matches_autograd_in_float64(seed):
    """The hand-written chunk gradient equals autograd's (float64, several chunkings, both argument orders)."""
    for shape in [(9, 6, 2, 3, 2), (5, 11, 3, 2, 4)]:
        a, b, scale, fisher = make_case(shape, seed)
        damping = fisher.mean_eigenvalue()
        plain = compute_coordinate_overlap(a, b, scale, fisher, damping, chunk_rows=4, fused=False)
        g_plain = torch.autograd.grad(plain, (a, b))
        for chunk_rows in (1, 4, 100):
            fused = compute_coordinate_overlap(a, b, scale, fisher, damping, chunk_rows=chunk_rows)
            torch.testing.assert_close(fused, plain, rtol=1e-12, atol=0)
            for g_f, g_p in zip(torch.autograd.grad(fused, (a, b)), g_plain, strict=True):
                torch.testing.assert_close(g_f, g_p, rtol=1e-10, atol=1e-14)
        with torch.no_grad():
            torch.testing.assert_close(compute_coordinate_overlap(a, b, scale, fisher, damping), plain.detach())
