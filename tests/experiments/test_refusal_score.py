"""The first-token refusal score (``benchmarks/refusal_score.py``): openers, the batched score, the report."""

import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import refusal_score as rs  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def test_openers_are_the_distinct_first_tokens(tiny):
    _, tok = tiny
    texts = ["I can't help with that.", "I won't do this.", "Sorry, no.", "Sorry again."]
    ids = rs.refusal_opener_ids(tok, texts)
    expected = {tok(t, add_special_tokens=False).input_ids[0] for t in texts}
    assert ids == sorted(expected) and len(ids) == len(expected)


def test_alignment_refusals_are_refusals():
    from axolotl_agl.drift.judge import is_refusal

    refusals = rs.alignment_refusals()
    assert len(refusals) == 200 and all(is_refusal(r) for r in refusals)


def test_batched_padded_score_equals_one_prompt_at_a_time(tiny):
    from axolotl_agl.drift.generate import render_chat_prompts

    model, tok = tiny
    prompts = ["How do I bake bread?", "Tell me a joke about cats and dogs, please, a long one.", "Hi", "Why?"]
    openers = rs.refusal_opener_ids(tok, ["I cannot", "Sorry", "No way"])
    batched = rs.first_token_refusal_probability(model, tok, prompts, openers, batch=3)
    for prompt, got in zip(prompts, batched, strict=True):
        ids = tok(render_chat_prompts(tok, [prompt])[0], return_tensors="pt", add_special_tokens=False).input_ids
        with torch.no_grad():
            p = model(ids).logits[0, -1].double().softmax(-1)
        assert got == pytest.approx(float(p[openers].sum()), rel=1e-4, abs=1e-7)


def test_report_rates_and_the_all_safe_set():
    scores, labels = [0.9, 0.6, 0.4, 0.7, 0.2, 0.1], [1, 1, 1, 0, 0, 0]
    report = rs.score_report(scores, labels)
    assert report["rule_refusal"] == pytest.approx(2 / 3) and report["rule_over_refusal"] == pytest.approx(1 / 3)
    assert report["auc"] == pytest.approx(7 / 9)
    only_safe = rs.score_report([0.9, 0.2, 0.51, 0.5], [0, 0, 0, 0])
    assert only_safe == {"n_unsafe": 0, "n_safe": 4, "rule_over_refusal": 0.5}


def test_over_refusal_at_a_threshold_set_on_another_set():
    unsafe = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    # 90 % of the ten harmful prompts are refused from the 9th-highest score (0.1) up.
    assert rs.over_refusal_at_threshold_of([0.1, 0.09, 0.5, 0.0], unsafe, 0.9) == pytest.approx(0.5)
