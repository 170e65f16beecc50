"""The stacked (batched) penalty against the per-module code and the dense float64 references.

* Every term and its gradient, per module, equals :func:`~axolotl_agl.core.penalty.compute_module_terms`'s
  pieces and :func:`tests.core.test_penalty_reference.reference_terms` (float64, several shapes in one penalty,
  rows and columns as sampling lines, exact numerator in several chunkings).
* The sampled numerator with the *same* lines equals the per-module estimate, and the line distribution is the
  per-module one.
* Sampling modules for the overlap (``overlap_module_fraction < 1``, Horvitz–Thompson weights): the variance
  formula of the module docstring is checked by enumerating every subset (exact numerators), and with line
  sampling on top the mean of many draws lies within ``5·√(Var/R)`` of the exact mean overlap and the sample
  variance within five standard errors of the formula; the mean gradient is within five standard errors of the
  exact gradient.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from axolotl_agl.core.fisher_state import LowRankFactor, ModuleFisher, clone_factor, low_rank_factor_from_dense
from axolotl_agl.core.lora_modules import find_lora_linears
from axolotl_agl.core.penalty import (
    COLLISION_SCALE,
    TERM_NAMES,
    _overlap_rows,
    combine_terms,
    low_rank_split,
    overlap_mass,
    overlap_metric,
    overlap_sampling_distribution,
)
from axolotl_agl.core.shared_factors import distinct_factors, share_pattern
from axolotl_agl.core.stacked_penalty import (
    StackedPenalty,
    core_form,
    group_terms,
    line_probabilities,
    modules_drawn,
    modules_penalty,
    overlap_group_terms,
    penalty_for_modules,
)
from axolotl_agl.core.stacked_spectral import spectral_parts
from tests.core.test_penalty_reference import SHAPES, fast_terms, make_case, random_psd, reference_terms
from tests.core.test_penalty_scale import dense_parts, line_values

F64 = torch.float64
# rows as lines (d_in <= d_out) and columns as lines (d_in > d_out), k_out != k_in
SAMPLING_SHAPES = [(12, 7, 2, 3, 2), (5, 11, 2, 2, 3)]


def stacked_cases(shape, seeds):
    cases = [make_case(shape, seed) for seed in seeds]
    return cases, StackedPenalty([(a, b) for a, b, _, _ in cases], [s for *_, s, _ in cases], [f for *_, f in cases],
                                 dtype=F64)  # fmt: skip


def stacked(cases):
    a = torch.stack([c[0] for c in cases])
    b = torch.stack([c[1] for c in cases])
    return a, b


def grads(value, case):
    return torch.autograd.grad(value, case[:2], retain_graph=True)


@pytest.mark.parametrize("shape", SHAPES + SAMPLING_SHAPES)
def test_group_terms_equal_per_module_and_reference(shape):
    cases, penalty = stacked_cases(shape, seeds=[0, 1, 2])
    (group,) = penalty.groups
    terms = group_terms(group, *stacked(cases))
    assert terms.overlap_weight == 1.0
    for i, case in enumerate(cases):
        per_module = fast_terms(*case)
        reference = reference_terms(*case)
        for name in TERM_NAMES:
            value = getattr(terms, name)[i]
            torch.testing.assert_close(value, per_module[name], rtol=1e-10, atol=1e-15)
            torch.testing.assert_close(value, reference[name], rtol=1e-8, atol=1e-14)
            for g_new, g_ref in zip(grads(value, case), grads(reference[name], case), strict=True):
                torch.testing.assert_close(g_new, g_ref, rtol=1e-7, atol=1e-10 * float(g_ref.abs().max()))


def test_mixed_shapes_aggregate_like_combine_terms():
    cases = [make_case(shape, seed) for shape in SHAPES for seed in (0, 1)]
    factors = [(a, b) for a, b, _, _ in cases]
    penalty = StackedPenalty(factors, [c[2] for c in cases], [c[3] for c in cases], dtype=F64)
    assert len(penalty.groups) == len(SHAPES)
    weights = (0.7, 0.3, 0.5, 0.25)
    total, agg = penalty.penalty(factors, *weights)
    ref_total, ref_agg = combine_terms([reference_terms(*c) for c in cases], *weights)
    for name in TERM_NAMES:
        torch.testing.assert_close(agg[name], ref_agg[name], rtol=1e-8, atol=1e-14)
    torch.testing.assert_close(total, ref_total, rtol=1e-8, atol=0)
    for case in cases:
        for g_new, g_ref in zip(grads(total, case), grads(ref_total, case), strict=True):
            torch.testing.assert_close(g_new, g_ref, rtol=1e-7, atol=1e-10 * float(g_ref.abs().max()))


@pytest.mark.parametrize("chunk_rows", [1, 2, 5])
def test_exact_numerator_chunking(chunk_rows):
    cases, penalty = stacked_cases((7, 5, 2, 3, 2), seeds=[0, 1])
    (group,) = penalty.groups
    a, b = stacked(cases)
    parts = spectral_parts(group, a, b)
    chunked = overlap_group_terms(group, a, b, parts, chunk_rows=chunk_rows)
    whole = overlap_group_terms(group, a, b, parts, chunk_rows=1000)
    torch.testing.assert_close(chunked, whole, rtol=1e-12, atol=0)
    for case in cases:
        for g_c, g_w in zip(grads(chunked.sum(), case), grads(whole.sum(), case), strict=True):
            torch.testing.assert_close(g_c, g_w, rtol=1e-10, atol=1e-14)
    with torch.no_grad():
        torch.testing.assert_close(overlap_group_terms(group, a, b, parts, chunk_rows=chunk_rows), whole.detach())


def per_module_sampled(case, lines):
    """The per-module code's sampled overlap for given line indices (its internals, without its own draw)."""
    a, b, scale, fisher = case
    damping = fisher.mean_eigenvalue()
    split = low_rank_split(a, b, scale, fisher, damping)
    rows, cols = overlap_metric(fisher)
    probs, transposed = overlap_sampling_distribution(split, rows, cols)
    s, m_lines, m_other = (split.transposed(), cols, rows) if transposed else (split, rows, cols)
    values = _overlap_rows(s.dw_left[lines], s.a_left[lines], m_lines[lines], s.dw_right, s.a_right, m_other)
    return (values / probs[lines]).mean() / (overlap_mass(split, rows, cols) + COLLISION_SCALE**2), probs


@pytest.mark.parametrize("shape", SAMPLING_SHAPES)
def test_sampled_overlap_with_the_same_lines_equals_per_module(shape):
    cases, penalty = stacked_cases(shape, seeds=[0, 1, 2])
    (group,) = penalty.groups
    a, b = stacked(cases)
    parts = spectral_parts(group, a, b)
    lines = torch.randint(0, group.lines(), (len(cases), 4), generator=torch.Generator().manual_seed(0))
    batched = overlap_group_terms(group, a, b, parts, samples=4, lines=lines)
    form = core_form(group, a, b, parts)
    if group.columns_are_lines:
        probs = line_probabilities(form.q.mT, form.c_a.mT, form.c_t.mT, group.metric_cols, form.gram_p)
    else:
        probs = line_probabilities(form.p, form.c_a, form.c_t, group.metric_rows, form.gram_q)
    for i, case in enumerate(cases):
        value, per_module_probs = per_module_sampled(case, lines[i])
        torch.testing.assert_close(probs[i], per_module_probs, rtol=1e-10, atol=1e-15)
        torch.testing.assert_close(batched[i], value, rtol=1e-10, atol=1e-15)
        for g_new, g_ref in zip(grads(batched[i], case), grads(value, case), strict=True):
            torch.testing.assert_close(g_new, g_ref, rtol=1e-9, atol=1e-12 * float(g_ref.abs().max()))


def test_line_probabilities_fall_back_to_uniform_without_mass():
    cases, penalty = stacked_cases((12, 7, 2, 3, 2), seeds=[0, 1])
    (group,) = penalty.groups
    a, b = stacked(cases)
    b = torch.zeros_like(b)  # LoRA initialisation: no mass anywhere
    parts = spectral_parts(group, a, b)
    form = core_form(group, a, b, parts)
    probs = line_probabilities(form.p, form.c_a, form.c_t, group.metric_rows, form.gram_q)
    torch.testing.assert_close(probs, torch.full_like(probs, 1 / 12))
    value = overlap_group_terms(group, a, b, parts, samples=3)
    assert torch.equal(value, torch.zeros_like(value))


# ------------------------------------------------------------------------------------------------------------------
# Sampling modules (Horvitz-Thompson)
# ------------------------------------------------------------------------------------------------------------------


def exact_overlap_and_line_variance(case, samples):
    """``o_i`` and ``V_i = c²(Σ_p N_p²/π_p − N²)/n`` from the dense float64 reference (0 when ``samples == 0``)."""
    a, b, scale, fisher = case
    damping = fisher.mean_eigenvalue()
    overlap = float(reference_terms(a, b, scale, fisher)["overlap"])
    if samples == 0:
        return overlap, 0.0
    _, dw_a, dw_t, metric = dense_parts(a, b, scale, fisher, damping)
    split = low_rank_split(a.detach(), b.detach(), scale, fisher, damping)
    probs, transposed = overlap_sampling_distribution(split, *overlap_metric(fisher))
    values = line_values(dw_a, dw_t, metric, transposed)
    c = 1 / (0.5 * (metric * (dw_a.square() + dw_t.square())).sum() + COLLISION_SCALE**2)
    var_z = (values.square() / probs).sum() - values.sum() ** 2
    return overlap, float(c**2 * var_z / samples)


def documented_variance(groups_of_cases, fraction, samples):
    """The module docstring's variance of the sampled mean overlap, and the exact mean overlap."""
    n_modules = sum(len(cases) for cases in groups_of_cases)
    variance, total = 0.0, 0.0
    for cases in groups_of_cases:
        size = len(cases)
        drawn = modules_drawn(size, fraction)
        exact = [exact_overlap_and_line_variance(c, samples) for c in cases]
        overlaps = torch.tensor([o for o, _ in exact], dtype=F64)
        total += float(overlaps.sum())
        s2 = float(overlaps.var(correction=1)) if size > 1 else 0.0
        variance += size**2 * (1 - drawn / size) * s2 / drawn + size / drawn * sum(v for _, v in exact)
    return total / n_modules, variance / n_modules**2


def two_groups(seed_offset=0):
    groups = [[make_case(shape, seed + seed_offset) for seed in range(4)] for shape in SAMPLING_SHAPES]
    flat = [c for cases in groups for c in cases]
    penalty = StackedPenalty([(a, b) for a, b, _, _ in flat], [c[2] for c in flat], [c[3] for c in flat], dtype=F64)
    return groups, flat, penalty


def test_module_sampling_variance_formula_by_enumeration():
    """Exact numerators: the estimator's distribution is uniform over the C(G, m) subsets per group, so its mean
    and variance can be enumerated and must equal the exact mean overlap and the documented variance."""
    groups, flat, penalty = two_groups()
    fraction = 0.5
    per_group_totals = []
    for cases in groups:
        size, drawn = len(cases), modules_drawn(len(cases), fraction)
        overlaps = [float(reference_terms(*c)["overlap"]) for c in cases]
        per_group_totals.append(
            [size / drawn * sum(overlaps[i] for i in s) for s in itertools.combinations(range(size), drawn)]
        )
    estimates = torch.tensor([sum(t) / len(flat) for t in itertools.product(*per_group_totals)], dtype=F64)
    mean, variance = documented_variance(groups, fraction, samples=0)
    torch.testing.assert_close(estimates.mean(), torch.tensor(mean, dtype=F64), rtol=1e-12, atol=0)
    torch.testing.assert_close(estimates.var(correction=0), torch.tensor(variance, dtype=F64), rtol=1e-10, atol=0)
    # and the draws of group_terms are such subsets
    gen = torch.Generator().manual_seed(0)
    factors = [(a, b) for a, b, _, _ in flat]
    with torch.no_grad():
        draws = torch.stack([penalty.terms(factors, 0, fraction, gen)["overlap"] for _ in range(50)])
    assert all(bool(torch.isclose(d, estimates, rtol=1e-10, atol=0).any()) for d in draws)


def test_module_and_line_sampling_is_unbiased_with_the_documented_variance():
    groups, flat, penalty = two_groups(seed_offset=10)
    fraction, samples, reps = 0.5, 2, 2000
    mean, variance = documented_variance(groups, fraction, samples)
    factors = [(a, b) for a, b, _, _ in flat]
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        draws = torch.stack([penalty.terms(factors, samples, fraction, gen)["overlap"] for _ in range(reps)])
    assert abs(float(draws.mean()) - mean) < 5 * math.sqrt(variance / reps), (float(draws.mean()), mean)
    # s² against the formula, with Var[s²] ≈ (μ₄ − σ⁴)/R estimated from the draws' fourth central moment
    sample_var = float(draws.var(correction=1))
    mu4 = float(((draws - draws.mean()) ** 4).mean())
    assert abs(sample_var - variance) < 5 * math.sqrt(max(mu4 - sample_var**2, 0.0) / reps), (sample_var, variance)
    # the other terms are not sampled
    exact = combine_terms([reference_terms(*c) for c in flat], 1, 1, 1, 1)[1]
    one = penalty.terms(factors, samples, fraction, gen)
    for name in ("fisher", "stabiliser", "geodesic"):
        torch.testing.assert_close(one[name], exact[name], rtol=1e-8, atol=0)


def test_module_and_line_sampling_gradient_is_unbiased():
    groups, flat, penalty = two_groups(seed_offset=20)
    factors = [(a, b) for a, b, _, _ in flat]
    leaves = [t for pair in factors for t in pair]
    exact = sum(reference_terms(*c)["overlap"] for c in flat) / len(flat)
    g_exact = torch.autograd.grad(exact, leaves)
    gen = torch.Generator().manual_seed(2)
    reps = 800
    draws = [torch.autograd.grad(penalty.terms(factors, 2, 0.5, gen)["overlap"], leaves) for _ in range(reps)]
    for j, reference in enumerate(g_exact):
        samples = torch.stack([d[j] for d in draws])
        tolerance = 5 * samples.std(dim=0) / math.sqrt(reps) + 1e-12
        assert torch.all((samples.mean(dim=0) - reference).abs() < tolerance), j


def test_modules_drawn():
    assert modules_drawn(60, 1.0) == 60
    assert modules_drawn(60, 0.25) == 15
    assert modules_drawn(3, 0.1) == 1
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="overlap_module_fraction"):
            modules_drawn(10, bad)


# ------------------------------------------------------------------------------------------------------------------
# float32, autocast and the trainer-facing helper
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("param_dtype", [torch.float32, torch.bfloat16])
def test_float32_under_autocast(param_dtype):
    cases = [make_case(shape, 0, dtype=param_dtype) for shape in SHAPES]
    factors = [(a, b) for a, b, _, _ in cases]
    penalty = StackedPenalty(factors, [c[2] for c in cases], [c[3] for c in cases])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, agg = penalty.penalty(factors, 0.7, 0.3, 0.5, 0.25)
    ref_total, ref_agg = combine_terms([reference_terms(*c) for c in cases], 0.7, 0.3, 0.5, 0.25)
    assert total.dtype == torch.float32 and all(v.dtype == torch.float32 for v in agg.values())
    for name in TERM_NAMES:
        torch.testing.assert_close(agg[name].double(), ref_agg[name], rtol=1e-4, atol=1e-7)
    g = torch.autograd.grad(total, [t for pair in factors for t in pair])
    assert all(x.dtype == param_dtype and torch.isfinite(x).all() for x in g)


def test_penalty_for_modules_is_built_once_per_module_list(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules="all-linear", lora_dropout=0.0))
    gen = torch.Generator().manual_seed(0)
    for name, param in model.named_parameters():
        if "lora_B" in name:
            param.data = 0.1 * torch.randn(param.shape, generator=gen)
    modules = []
    for handle in find_lora_linears(model):
        a, b = handle.factors()
        out = low_rank_factor_from_dense(random_psd(b.shape[0], gen), 2).to("cpu")
        inp = low_rank_factor_from_dense(random_psd(a.shape[1], gen), 2).to("cpu")
        modules.append((handle, ModuleFisher(out, inp)))
    first = penalty_for_modules(modules, 1.0)
    assert penalty_for_modules(modules, 1.0) is first
    assert penalty_for_modules(list(modules), 1.0) is not first
    assert penalty_for_modules(modules, 0.5) is not first
    total, agg = modules_penalty(modules, 1.0, 0.7, 0.3, 0.5, 0.25)
    per_module = [fast_terms(*(t.double() for t in h.factors()), h.scale, f.to("cpu", F64)) for h, f in modules]
    ref_total, _ = combine_terms(per_module, 0.7, 0.3, 0.5, 0.25)
    torch.testing.assert_close(total.double(), ref_total, rtol=1e-4, atol=0)


# ------------------------------------------------------------------------------------------------------------------
# One copy of every eigenvector matrix: shared input factors, views for the trainer
# ------------------------------------------------------------------------------------------------------------------

Q_SHAPE, KV_SHAPE, MHA_SHAPE = (6, 5, 2, 3, 2), (4, 5, 2, 2, 2), (5, 4, 3, 2, 3)


def with_input(case, input_factor):
    a, b, scale, fisher = case
    return a, b, scale, ModuleFisher(fisher.output_factor, input_factor)


def shared_input_cases():
    """Two Llama-like layers (q, k, v, o; q/k/v read one input: k gets a copy of q's input factor, as a loaded
    cache holds it, v the same object) and an MHA-like group (three of four same-shaped modules share an input)."""
    cases = []
    for layer in range(2):
        q, k, v, o = (
            make_case(shape, 10 * layer + i) for i, shape in enumerate((Q_SHAPE, KV_SHAPE, KV_SHAPE, Q_SHAPE))
        )
        shared = q[3].input_factor
        cases += [q, with_input(k, clone_factor(shared)), with_input(v, shared), o]
    mha = [make_case(MHA_SHAPE, 40 + i) for i in range(4)]
    shared = mha[0][3].input_factor
    cases += [mha[0], with_input(mha[1], clone_factor(shared)), with_input(mha[2], clone_factor(shared)), mha[3]]
    return cases


def build(cases, **kwargs):
    return StackedPenalty([(a, b) for a, b, _, _ in cases], [c[2] for c in cases], [c[3] for c in cases], **kwargs)


def group_of(penalty, shape):
    return next(g for g in penalty.groups if (g.d_out, g.d_in, g.u.shape[2]) == (shape[0], shape[1], shape[3]))


def test_shared_input_factors_are_stored_once():
    cases = shared_input_cases()
    penalty = build(cases, dtype=F64)
    q_group, kv_group, mha_group = (group_of(penalty, s) for s in (Q_SHAPE, KV_SHAPE, MHA_SHAPE))
    assert q_group.inputs is kv_group.inputs  # one bank for d_in = 5, k_in = 2
    assert q_group.inputs.vectors.shape == (4, 5, 2)  # two attention inputs and two o inputs, not eight
    assert q_group.v_share == 1 and kv_group.v_share == 2 and mha_group.v is None
    for group in (q_group, kv_group):
        assert group.v.untyped_storage().data_ptr() == group.inputs.vectors.untyped_storage().data_ptr()
    assert mha_group.inputs.vectors.shape == (2, 4, 3)
    unshared = build(cases, dtype=F64, share_inputs=False)
    assert group_of(unshared, KV_SHAPE).inputs.vectors.shape == (8, 5, 2)


def test_shared_inputs_give_the_per_module_and_reference_terms():
    """View (k/v pairs, v_share = 2) and gathered (MHA-like) input eigenvectors, per module and aggregated."""
    cases = shared_input_cases()
    penalty = build(cases, dtype=F64)
    for group in penalty.groups:
        members = [cases[i] for i in group.positions]
        terms = group_terms(group, *stacked(members))
        for i, case in enumerate(members):
            per_module, reference = fast_terms(*case), reference_terms(*case)
            for name in TERM_NAMES:
                value = getattr(terms, name)[i]
                torch.testing.assert_close(value, per_module[name], rtol=1e-10, atol=1e-15)
                torch.testing.assert_close(value, reference[name], rtol=1e-8, atol=1e-14)
                for g_new, g_ref in zip(grads(value, case), grads(reference[name], case), strict=True):
                    torch.testing.assert_close(g_new, g_ref, rtol=1e-7, atol=1e-10 * float(g_ref.abs().max()))
    factors = [(a, b) for a, b, _, _ in cases]
    total, agg = penalty.penalty(factors, 0.7, 0.3, 0.5, 0.25)
    ref_total, ref_agg = combine_terms([reference_terms(*c) for c in cases], 0.7, 0.3, 0.5, 0.25)
    torch.testing.assert_close(total, ref_total, rtol=1e-8, atol=0)
    for case in cases:
        for g_new, g_ref in zip(grads(total, case), grads(ref_total, case), strict=True):
            torch.testing.assert_close(g_new, g_ref, rtol=1e-7, atol=1e-10 * float(g_ref.abs().max()))


@pytest.mark.parametrize("shape", [KV_SHAPE, MHA_SHAPE])
def test_sampled_overlap_with_shared_inputs_equals_per_module(shape):
    cases = shared_input_cases()
    group = group_of(build(cases, dtype=F64), shape)
    members = [cases[i] for i in group.positions]
    a, b = stacked(members)
    lines = torch.randint(0, group.lines(), (len(members), 3), generator=torch.Generator().manual_seed(0))
    batched = overlap_group_terms(group, a, b, spectral_parts(group, a, b), samples=3, lines=lines)
    for i, case in enumerate(members):
        value, _ = per_module_sampled(case, lines[i])
        torch.testing.assert_close(batched[i], value, rtol=1e-10, atol=1e-15)
        for g_new, g_ref in zip(grads(batched[i], case), grads(value, case), strict=True):
            torch.testing.assert_close(g_new, g_ref, rtol=1e-9, atol=1e-12 * float(g_ref.abs().max()))


def test_module_sampling_is_the_same_with_and_without_shared_inputs():
    cases = shared_input_cases()
    factors = [(a, b) for a, b, _, _ in cases]
    leaves = [t for pair in factors for t in pair]
    results = []
    for share in (True, False):
        penalty = build(cases, dtype=F64, share_inputs=share)
        gen = torch.Generator().manual_seed(5)
        total, _ = penalty.penalty(factors, 0.7, 0.3, 0.5, 0.25, 2, 0.5, gen)
        results.append((total, torch.autograd.grad(total, leaves)))
    (shared_total, shared_grads), (own_total, own_grads) = results
    torch.testing.assert_close(shared_total, own_total, rtol=1e-12, atol=0)
    for g_shared, g_own in zip(shared_grads, own_grads, strict=True):
        torch.testing.assert_close(g_shared, g_own, rtol=1e-10, atol=1e-14)


def test_module_fishers_are_views_into_the_stacked_tensors():
    cases = shared_input_cases()
    penalty = build(cases, dtype=F64)
    fishers = penalty.module_fishers()
    stacked_storages = {
        t.untyped_storage().data_ptr()
        for g in penalty.groups
        for bank in (g.outputs, g.inputs)
        for t in (bank.vectors, bank.values, bank.residual)
    }
    for (_, _, _, original), view in zip(cases, fishers, strict=True):
        for side in ("output_factor", "input_factor"):
            for field in ("vectors", "values", "residual"):
                tensor = getattr(getattr(view, side), field)
                assert tensor.untyped_storage().data_ptr() in stacked_storages
                assert torch.equal(tensor, getattr(getattr(original, side), field))
    # the shared input factors of one layer are one tensor
    assert fishers[1].input_factor.vectors.data_ptr() == fishers[0].input_factor.vectors.data_ptr()
    assert fishers[2].input_factor.vectors.data_ptr() == fishers[0].input_factor.vectors.data_ptr()
    assert fishers[3].input_factor.vectors.data_ptr() != fishers[0].input_factor.vectors.data_ptr()
    # float32 construction: the views hold the float32 values
    assert build(cases).module_fishers()[0].output_factor.vectors.dtype == torch.float32


def test_distinct_factors_by_identity_or_equal_values():
    gen = torch.Generator().manual_seed(0)
    f = low_rank_factor_from_dense(random_psd(5, gen), 2)
    g = low_rank_factor_from_dense(random_psd(5, gen), 2)
    nudged = clone_factor(f)
    nudged.vectors[0, 0] += 1e-12
    distinct, index = distinct_factors([f, g, clone_factor(f), f, nudged])
    assert index == [0, 1, 0, 0, 2] and len(distinct) == 3
    meta = LowRankFactor(
        torch.empty(5, 2, device="meta"), torch.empty(2, device="meta"), torch.empty((), device="meta")
    )
    other = LowRankFactor(torch.empty(5, 2, device="meta"), meta.values, meta.residual)
    assert distinct_factors([meta, meta, other])[1] == [0, 0, 1]  # on meta only the same tensors are one


def test_share_pattern():
    assert share_pattern([0, 1, 2, 3]) == (0, 1, 1)
    assert share_pattern([0, 0, 2, 2, 4, 4]) == (0, 2, 2)
    assert share_pattern([7, 7, 7]) == (7, 1, 3)
    assert share_pattern([0, 0, 0, 1]) is None
    assert share_pattern([0, 0, 1, 2]) is None
    assert share_pattern([3, 1]) is None
