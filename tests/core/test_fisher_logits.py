"""The empirical Fisher pass computes logits only where a counted reply token is predicted: same loss, same factors."""

from __future__ import annotations

import pytest
import torch

import axolotl_agl.core.kfac as kfac
from axolotl_agl.core.examples import TokenizedExample
from axolotl_agl.core.kfac import FisherPassSettings, accepts_logits_to_keep, collect_kfac_factors
from axolotl_agl.core.lora_modules import find_lora_linears
from axolotl_agl.core.nll import per_example_reply_nll, per_example_reply_nll_at, reply_logit_positions
from tests.helpers import tiny_peft_llama


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("max_reply_tokens", [None, 2])
def test_nll_from_kept_positions_equals_the_full_nll(reduction, max_reply_tokens):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, 11, generator=gen, dtype=torch.float64)
    labels = torch.tensor(
        [[1, 2, -100, 3, 4, 5, -100], [-100, -100, -100, -100, 6, 7, 8], [1, -100, -100, -100, -100, -100, -100]]
    )
    positions = reply_logit_positions(labels, max_reply_tokens)
    full = per_example_reply_nll(logits, labels, reduction, max_reply_tokens)
    kept = per_example_reply_nll_at(logits[:, positions], labels, positions, reduction, max_reply_tokens)
    torch.testing.assert_close(kept, full, rtol=1e-12, atol=1e-12)
    # An explicit reference: -log p(label[t+1] | logits[t]) summed over each row's counted targets.
    logp = torch.log_softmax(logits, dim=-1)
    reference = []
    for row in range(labels.shape[0]):
        targets = [t for t in range(labels.shape[1] - 1) if labels[row, t + 1] != -100]
        targets = targets[:max_reply_tokens] if max_reply_tokens else targets
        total = -sum(logp[row, t, labels[row, t + 1]] for t in targets) if targets else torch.tensor(0.0)
        reference.append(total / max(len(targets), 1) if reduction == "mean" else total)
    torch.testing.assert_close(full, torch.stack(reference).to(full.dtype), rtol=1e-12, atol=1e-12)
    assert len(positions) < labels.shape[1] - 1  # something was skipped


@pytest.mark.parametrize("max_reply_tokens", [None, 3])
def test_empirical_fisher_with_kept_logits_equals_full_logits(monkeypatch, max_reply_tokens):
    model = tiny_peft_llama(["q_proj", "v_proj", "down_proj"], vocab_size=30)
    assert accepts_logits_to_keep(model)
    layers = {h.name: h.base_layer for h in find_lora_linears(model)}
    lengths = [12, 9, 11, 7]
    examples = [TokenizedExample(list(range(1, n + 1)), [-100] * (n - 5) + list(range(n - 4, n + 1))) for n in lengths]
    settings = FisherPassSettings(batch_size=2, fisher_type="empirical", max_reply_tokens=max_reply_tokens)
    head = model.get_output_embeddings()
    rows_seen: list[int] = []
    handle = head.register_forward_hook(lambda _m, args, _out: rows_seen.append(args[0].shape[1]))

    def factors() -> dict:
        with model.disable_adapter():
            return collect_kfac_factors(model, layers, examples, 0, settings, show_progress=False)

    kept = factors()
    kept_rows, rows_seen[:] = sum(rows_seen), []
    monkeypatch.setattr(kfac, "accepts_logits_to_keep", lambda _model: False)
    full = factors()
    handle.remove()
    assert kept_rows < sum(rows_seen)  # the kept path really projected fewer positions
    for name in full:
        torch.testing.assert_close(kept[name].grad_moment, full[name].grad_moment, rtol=1e-5, atol=1e-8)
        torch.testing.assert_close(kept[name].input_moment, full[name].input_moment, rtol=0, atol=0)
