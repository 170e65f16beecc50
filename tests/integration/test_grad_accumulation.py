"""The penalty enters each optimiser step exactly once, whatever the gradient accumulation.

Runs the real ``AlignGuardTrainer`` (an ``AxolotlTrainer``) in-process for one SGD step without
gradient clipping. With plain SGD the weights after the step are ``θ0 − lr·(∇L_task + c·∇P)``, so the
difference between a run with the penalty and one without is ``−lr·c·∇P(θ0)``; we check ``c = 1``
for 4 micro-batches of 1 and for 1 micro-batch of 4.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("axolotl")

from axolotl.core.training_args import AxolotlTrainingArguments  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import default_data_collator  # noqa: E402

from axolotl_agl.core.fisher_state import ModuleFisher, low_rank_factor_from_dense  # noqa: E402
from axolotl_agl.core.lora_modules import find_lora_linears  # noqa: E402
from axolotl_agl.core.penalty import combine_terms, compute_module_terms  # noqa: E402
from axolotl_agl.integration.args import AlignGuardConfig  # noqa: E402
from axolotl_agl.integration.trainer import AlignGuardTrainer  # noqa: E402
from tests.helpers import tiny_peft_llama  # noqa: E402

LR = 0.05
AGL = AlignGuardConfig(lambda_alignment=3.0, lambda_task=2.0, lambda_collision=0.5, alpha=0.3, rank_k=3)


def _random_psd(dim: int, generator: torch.Generator) -> torch.Tensor:
    m = torch.randn(dim, dim, generator=generator)
    return m @ m.T / dim + 0.1 * torch.eye(dim)


def _model_and_fishers() -> tuple[torch.nn.Module, dict[str, ModuleFisher]]:
    model = tiny_peft_llama(["q_proj", "down_proj"], init_lora_weights=False)
    gen = torch.Generator().manual_seed(1)
    fishers = {}
    for h in find_lora_linears(model):
        d_out, d_in = h.base_layer.out_features, h.base_layer.in_features
        fishers[h.name] = ModuleFisher(
            low_rank_factor_from_dense(_random_psd(d_out, gen), 3),
            low_rank_factor_from_dense(_random_psd(d_in, gen), 3),
        )
    return model, fishers


def _dataset() -> Dataset:
    gen = torch.Generator().manual_seed(2)
    rows = []
    for _ in range(4):
        ids = torch.randint(0, 40, (8,), generator=gen).tolist()
        rows.append({"input_ids": ids, "labels": list(ids), "attention_mask": [1] * 8})
    return Dataset.from_list(rows)


def _lora_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def _one_step(tmp_path, micro_batch: int, accumulation: int, with_penalty: bool) -> dict[str, torch.Tensor]:
    model, fishers = _model_and_fishers()
    args = AxolotlTrainingArguments(
        output_dir=str(tmp_path / f"mb{micro_batch}_ga{accumulation}_{with_penalty}"),
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation,
        max_steps=1,
        learning_rate=LR,
        optim="sgd",
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=0.0,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = AlignGuardTrainer(model=model, args=args, train_dataset=_dataset(), data_collator=default_data_collator)
    if with_penalty:
        handles = {h.name: h for h in find_lora_linears(model)}
        trainer.set_alignguard_state(AGL, [(handles[n], f) for n, f in fishers.items()])
    trainer.train()
    if with_penalty:
        logged = {k for entry in trainer.state.log_history for k in entry}
        assert {"agl/fisher", "agl/stabiliser", "agl/overlap", "agl/geodesic", "agl/penalty"} <= logged
    return _lora_state(model)


def _expected_penalty_step() -> dict[str, torch.Tensor]:
    """``−lr·∇P(θ0)`` computed directly from the initial LoRA factors."""
    model, fishers = _model_and_fishers()
    handles = {h.name: h for h in find_lora_linears(model)}
    terms = [
        compute_module_terms(*handles[n].factors(), handles[n].scale, f, AGL.split_damping) for n, f in fishers.items()
    ]
    total, _ = combine_terms(terms, AGL.lambda_alignment, AGL.lambda_task, AGL.lambda_collision, AGL.alpha)
    total.backward()
    return {n: -LR * p.grad for n, p in model.named_parameters() if "lora_" in n}


@pytest.mark.parametrize(("micro_batch", "accumulation"), [(4, 1), (1, 4), (2, 2)])
def test_penalty_counted_once_per_optimizer_step(tmp_path, micro_batch, accumulation):
    with_penalty = _one_step(tmp_path, micro_batch, accumulation, with_penalty=True)
    without = _one_step(tmp_path, micro_batch, accumulation, with_penalty=False)
    expected = _expected_penalty_step()
    assert any(v.abs().max() > 1e-4 for v in expected.values()), "penalty gradient too small to test anything"
    for name, step in expected.items():
        torch.testing.assert_close(with_penalty[name] - without[name], step, rtol=1e-4, atol=1e-6)
