"""The Monte-Carlo (true) Fisher: labels drawn from the model, only at target positions, reproducibly."""

from __future__ import annotations

import torch

from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample, length_sorted_batches
from axolotl_agl.core.kfac import FisherPassSettings, collect_kfac_factors
from axolotl_agl.core.lora_modules import find_lora_linears
from axolotl_agl.core.nll import per_example_mean_nll, sample_model_labels
from tests.helpers import tiny_peft_llama


def test_sampled_labels_replace_only_targets_and_follow_the_model():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 6, 5)
    logits[:, :, 3] += 50.0  # the model is sure of token 3 everywhere
    labels = torch.tensor([[4, 4, -100, 1, 2, 0], [4, -100, -100, -100, 4, 4]])
    sampled = sample_model_labels(logits, labels, gen)
    targets = labels[:, 1:] != IGNORE_INDEX
    assert torch.equal(sampled[:, 0], labels[:, 0])
    assert torch.equal(sampled[:, 1:][~targets], labels[:, 1:][~targets])
    assert bool((sampled[:, 1:][targets] == 3).all())
    # Drawn labels are the model's argmax here, so their loss is ~0 where the data's labels' is large.
    assert float(per_example_mean_nll(logits, sampled).max()) < 1e-6 < float(per_example_mean_nll(logits, labels).min())


def _factors(fisher_type: str) -> dict:
    model = tiny_peft_llama(["q_proj", "down_proj"], vocab_size=30)
    layers = {h.name: h.base_layer for h in find_lora_linears(model)}
    examples = [TokenizedExample(list(range(1, 9)), [-100] * 3 + list(range(4, 9))) for _ in range(3)]
    with model.disable_adapter():
        return collect_kfac_factors(
            model,
            layers,
            examples,
            0,
            FisherPassSettings(batch_size=2, fisher_type=fisher_type, reduction="mean"),
            show_progress=False,
        )


def test_mc_fisher_is_reproducible_and_differs_from_empirical():
    first, second, empirical = _factors("mc"), _factors("mc"), _factors("empirical")
    for name in first:
        torch.testing.assert_close(first[name].grad_moment, second[name].grad_moment, rtol=0, atol=0)
        torch.testing.assert_close(first[name].input_moment, empirical[name].input_moment)  # inputs do not change
        assert not torch.allclose(first[name].grad_moment, empirical[name].grad_moment)


def test_mc_fisher_does_not_depend_on_how_examples_of_different_lengths_are_batched():
    """Batches are formed by length, so a batch of 3 reorders these examples; each keeps its own seeded labels."""
    model = tiny_peft_llama(["q_proj", "down_proj"], vocab_size=30)
    layers = {h.name: h.base_layer for h in find_lora_linears(model)}
    lengths = [9, 5, 8, 6]
    examples = [TokenizedExample(list(range(1, n + 1)), [-100] * 3 + list(range(4, n + 1))) for n in lengths]

    def factors(batch_size: int) -> dict:
        settings = FisherPassSettings(batch_size=batch_size, fisher_type="mc", reduction="sum")
        with model.disable_adapter():
            return collect_kfac_factors(model, layers, examples, 0, settings, show_progress=False)

    alone, batched = factors(1), factors(3)
    for name in alone:
        torch.testing.assert_close(alone[name].grad_moment, batched[name].grad_moment, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(alone[name].input_moment, batched[name].input_moment, rtol=1e-5, atol=1e-7)


def test_length_sorted_batches_cover_every_example_once_shortest_first():
    examples = [TokenizedExample([0] * n, [0] * n) for n in (4, 2, 9, 2, 5)]
    batches = length_sorted_batches(examples, 2)
    assert batches == [[1, 3], [0, 4], [2]]
