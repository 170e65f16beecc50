"""The linear separability probe (``benchmarks/separability_probe.py``): ROC statistics, the logistic fit, features."""

import itertools
import json
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import separability_probe as probe  # noqa: E402


def _scores_and_labels(seed: int = 0, n: int = 40) -> tuple[list[float], list[int]]:
    g = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n, generator=g) < 0.4).long()
    scores = torch.randn(n, generator=g) + labels * 1.0
    scores = torch.round(scores * 4) / 4  # ties on purpose
    return scores.tolist(), labels.tolist()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_equals_the_pair_count_with_ties_as_half(seed):
    scores, labels = _scores_and_labels(seed)
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    brute = sum((p > q) + 0.5 * (p == q) for p, q in itertools.product(pos, neg)) / (len(pos) * len(neg))
    assert probe.roc_auc(scores, labels) == pytest.approx(brute, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_operating_points_are_the_best_over_every_threshold(seed):
    scores, labels = _scores_and_labels(seed)
    thresholds = sorted(set(scores)) + [max(scores) + 1]
    points = [probe.rates_at(scores, labels, t) for t in thresholds]
    assert probe.fpr_at_tpr(scores, labels, 0.9) == min(f for t, f in points if t >= 0.9)
    assert probe.tpr_at_fpr(scores, labels, 0.25) == max(t for t, f in points if f <= 0.25)
    threshold = probe.equal_error_threshold(scores, labels)
    tpr, fpr = probe.rates_at(scores, labels, threshold)
    assert abs((1 - tpr) - fpr) == min(abs((1 - t) - f) for t, f in points[:-1])


def test_logistic_fit_is_a_stationary_point_of_its_objective():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 5, generator=g, dtype=torch.float64) * torch.tensor([1.0, 10.0, 0.1, 3.0, 1.0]) + 2.0
    y = ((x[:, 0] + 0.3 * x[:, 1] / 10 + 0.5 * torch.randn(60, generator=g, dtype=torch.float64)) > 2.0).long()
    l2 = 1e-2
    w_raw, b_raw = probe.fit_logistic(x, y, l2)
    # The objective in the standardised space, at the fitted parameters mapped back into it.
    mean, std = x.mean(0), x.std(0)
    w = (w_raw * std).clone().requires_grad_(True)
    b = torch.tensor(b_raw + float(mean @ w_raw), dtype=torch.float64, requires_grad=True)
    z, sign = (x - mean) / std, y.double() * 2 - 1
    c = torch.where(y == 1, 1 / y.sum(), 1 / (len(y) - y.sum())).double()
    loss = (c * torch.nn.functional.softplus(-sign * (z @ w + b))).sum() / c.sum() + l2 * (w @ w) / 2
    grad_w, grad_b = torch.autograd.grad(loss, [w, b])
    assert grad_w.abs().max() < 1e-6 and abs(float(grad_b)) < 1e-6
    assert probe.roc_auc((x @ w_raw + b_raw).tolist(), y.tolist()) > 0.9


def test_last_prompt_token_states_ignore_the_padding_of_shorter_prompts(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.helpers import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    prompts = ["a short one", "a much longer prompt with many more words in it"]
    with torch.no_grad():
        batched = probe.last_prompt_token_states(model, tokenizer, prompts, batch=2)
        alone = torch.cat([probe.last_prompt_token_states(model, tokenizer, [p], batch=1) for p in prompts])
    assert batched.shape[:2] == (2, model.config.num_hidden_layers + 1)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_out_of_fold_scores_come_from_fits_that_never_saw_the_row():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(30, 4, generator=g, dtype=torch.float64)
    y = (x[:, 0] > 0).long()
    scores = probe.out_of_fold_scores(x, y, folds=3, seed=5)
    order = torch.randperm(30, generator=torch.Generator().manual_seed(5))
    held = order[1::3]
    mask = torch.ones(30, dtype=torch.bool)
    mask[held] = False
    w, b = probe.fit_logistic(x[mask], y[mask])
    torch.testing.assert_close(torch.tensor(scores, dtype=torch.float64)[held], x[held] @ w + b)


def test_cached_states_are_reused_only_for_the_same_model_and_prompts(tmp_path, monkeypatch):
    calls = []

    def fake_states(model, tokenizer, prompts, batch=32):
        calls.append(list(prompts))
        return torch.arange(len(prompts) * 6, dtype=torch.float32).reshape(len(prompts), 2, 3)

    monkeypatch.setattr(probe, "last_prompt_token_states", fake_states)
    cache = tmp_path / "states.safetensors"
    first = probe.cached_states(cache, None, None, ["a", "b"], "model-1")
    again = probe.cached_states(cache, None, None, ["a", "b"], "model-1")
    torch.testing.assert_close(first, again)
    assert len(calls) == 1
    probe.cached_states(cache, None, None, ["a", "c"], "model-1")
    probe.cached_states(cache, None, None, ["a", "c"], "model-2")
    assert len(calls) == 3


def test_halves_by_id_split_every_row_once_by_the_parity_of_its_id():
    rows = [{"id": str(i)} for i in (1, 2, 3, 10, 11)]
    assert probe.halves_by_id(rows) == {"odd": [0, 2, 4], "even": [1, 3]}


def test_training_prompts_add_every_extra_file_with_its_labels(tmp_path):
    base_prompts, base_labels = probe.training_prompts()
    rows = [
        {"messages": [{"role": "user", "content": f"p{i}"}, {"role": "assistant", "content": "a"}], "label": label}
        for i, label in enumerate(["unsafe", "safe", "unsafe"])
    ]
    paths = []
    for k in range(2):
        path = tmp_path / f"extra{k}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(path)
    prompts, labels = probe.training_prompts(paths)
    assert len(prompts) == len(base_prompts) + 6 and sum(labels) == sum(base_labels) + 4
    assert prompts.count("p0") == 2
