"""The Fisher state ``AlignGuardTrainer`` holds during training: every eigenvector matrix once.

The Fisher pass accumulates one input statistic for the layers that read the same input (q/k/v, gate/up) and the
summary gives each such layer a copy of its eigenvectors. Once the trainer has built its stacked penalty, the
distinct tensor storages it references (the penalty and the per-module summaries in ``agl_modules``) must hold each
module's output eigenvectors once and each *distinct* input eigenvector matrix once: no per-module copy beside the
stacked tensors, no ``diag(m)·U``-style duplicates.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

pytest.importorskip("axolotl")

from axolotl.core.training_args import AxolotlTrainingArguments  # noqa: E402
from transformers import default_data_collator  # noqa: E402

from axolotl_agl.core.lora_modules import find_lora_linears  # noqa: E402
from axolotl_agl.core.penalty import combine_terms, compute_module_terms  # noqa: E402
from axolotl_agl.integration.args import AlignGuardConfig  # noqa: E402
from axolotl_agl.integration.trainer import AlignGuardTrainer  # noqa: E402
from tests.helpers import tiny_peft_llama  # noqa: E402
from tests.integration.test_cache import VOCAB, obtain  # noqa: E402
from tests.integration.test_numerics import _dataset  # noqa: E402

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
K = 3


def storages(objects) -> dict[int, tuple[int, list[torch.Tensor]]]:
    """Distinct storages (by data pointer) of every tensor in ``objects``: bytes and the tensors viewing them."""
    seen: dict[int, tuple[int, list[torch.Tensor]]] = {}

    def visit(obj) -> None:
        if isinstance(obj, torch.Tensor):
            storage = obj.untyped_storage()
            seen.setdefault(storage.data_ptr(), (storage.nbytes(), []))[1].append(obj)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for field in dataclasses.fields(obj):
                visit(getattr(obj, field.name))
        elif isinstance(obj, dict):
            for value in obj.values():
                visit(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                visit(value)

    visit(objects)
    return seen


def eigenvector_bytes(found: dict[int, tuple[int, list[torch.Tensor]]], dims: set[int]) -> int:
    """Bytes of the storages that hold some ``d × k`` eigenvector matrix (a tensor ending in ``(d, K)``)."""
    return sum(
        nbytes for nbytes, tensors in found.values() if any(t.dim() >= 2 and t.shape[-1] == K and t.shape[-2] in dims
                                                           for t in tensors)
    )  # fmt: skip


@pytest.fixture
def trainer_and_summary(tmp_path):
    model = tiny_peft_llama(TARGETS, num_layers=2, vocab_size=VOCAB, init_lora_weights=False)
    result = obtain(tmp_path / "cache", model=model, rank_k=K)
    args = AxolotlTrainingArguments(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, max_steps=1, report_to=[], use_cpu=True,
        save_strategy="no", dataloader_num_workers=0, logging_steps=1,
    )  # fmt: skip
    trainer = AlignGuardTrainer(model=model, args=args, train_dataset=_dataset(), data_collator=default_data_collator)
    handles = {h.name: h for h in find_lora_linears(model)}
    agl = AlignGuardConfig(rank_k=K, lambda_alignment=5.0, overlap_module_fraction=1.0)
    trainer.set_alignguard_state(agl, [(handles[n], f) for n, f in result.summary.items()])
    return trainer, result.summary


def test_trainer_holds_every_eigenvector_matrix_once(trainer_and_summary):
    trainer, summary = trainer_and_summary
    inputs = [f.input_factor.vectors for f in summary.values()]
    distinct_inputs = []
    for vectors in inputs:
        if not any(v.shape == vectors.shape and torch.equal(v, vectors) for v in distinct_inputs):
            distinct_inputs.append(vectors)
    # the Fisher pass shared q/k/v's and gate/up's input statistics: 2 layers x (attention, o, mlp, down) inputs
    assert len(summary) == 14 and len(distinct_inputs) == 8

    reference = trainer.penalty_terms()[0]  # the first penalty builds the stacked state
    held = storages([trainer.agl_penalty.groups, trainer.agl_modules])
    held_bytes = sum(nbytes for nbytes, _ in held.values())
    penalty_bytes = sum(nbytes for nbytes, _ in storages(trainer.agl_penalty.groups).values())
    # float32 bytes of the summary as cached (one copy of everything per module)
    summary_bytes = 4 * sum(t.numel() for _, tensors in storages(summary).values() for t in tensors)
    dims = {f.output_factor.dim for f in summary.values()} | {f.input_factor.dim for f in summary.values()}
    per_module = 4 * K * sum(f.output_factor.dim + f.input_factor.dim for f in summary.values())
    once = 4 * K * (sum(f.output_factor.dim for f in summary.values()) + sum(v.shape[0] for v in distinct_inputs))
    print(f"summary {summary_bytes} B (eigenvectors {per_module} B); held in training {held_bytes} B, ", end="")
    print(f"eigenvectors {eigenvector_bytes(held, dims)} B")

    assert held_bytes == penalty_bytes, "the per-module summaries must be views into the penalty's tensors"
    assert eigenvector_bytes(held, dims) == once < per_module, "an eigenvector matrix is held more than once"

    # and the penalty is the per-module code's, through those views
    cfg = trainer.agl_config
    terms = [
        compute_module_terms(*(t.detach() for t in handle.factors()), handle.scale, fisher, cfg.split_damping)
        for handle, fisher in trainer.agl_modules
    ]
    expected = combine_terms(terms, cfg.lambda_alignment, cfg.lambda_task, cfg.lambda_collision, cfg.alpha)[0]
    torch.testing.assert_close(reference.detach(), expected, rtol=1e-5, atol=1e-7)


def test_training_step_with_the_stacked_state(trainer_and_summary):
    trainer, _ = trainer_and_summary
    trainer.train()
    assert trainer.state.global_step == 1 and trainer.agl_penalty is not None
    history = [entry for entry in trainer.state.log_history if "agl/penalty" in entry]
    assert history and torch.isfinite(torch.tensor(history[0]["agl/penalty"]))
    batch = default_data_collator([_dataset()[i] for i in range(2)])
    assert torch.isfinite(trainer.model(**batch).loss)


def test_trainer_draws_the_configured_share_of_modules_for_the_overlap(trainer_and_summary):
    """``alignguard.overlap_module_fraction`` reaches the stacked penalty, and the draws of a step depend only on
    ``(seed, step, rank)``: the same step draws the same modules, the global random state is not touched."""
    trainer, _ = trainer_and_summary
    trainer.agl_config = trainer.agl_config.model_copy(update={"overlap_module_fraction": 0.5})
    cfg = trainer.agl_config
    trainer.penalty_terms()  # builds the stacked state
    factors = [handle.factors() for handle, _ in trainer.agl_modules]
    weights = (cfg.lambda_alignment, cfg.lambda_task, cfg.lambda_collision, cfg.alpha)
    every_module = trainer.agl_penalty.terms(factors, cfg.overlap_samples)["overlap"]
    overlaps = []
    for step in range(6):
        trainer.state.global_step = step
        global_state = torch.get_rng_state()
        total, terms = trainer.penalty_terms()
        assert torch.equal(torch.get_rng_state(), global_state), "the penalty must not draw from the global generator"
        torch.testing.assert_close(trainer.penalty_terms()[1]["overlap"], terms["overlap"], rtol=0, atol=0)
        expected_total, expected = trainer.agl_penalty.penalty(
            factors, *weights, overlap_samples=cfg.overlap_samples, overlap_module_fraction=0.5,
            generator=trainer.penalty_generator(),
        )  # fmt: skip
        torch.testing.assert_close(total, expected_total)
        torch.testing.assert_close(terms["overlap"], expected["overlap"])
        overlaps.append(terms["overlap"])
    assert any(not torch.allclose(o, every_module) for o in overlaps), "a fraction of 0.5 must draw a subset"
    assert any(not torch.allclose(o, overlaps[0]) for o in overlaps[1:]), "each step must draw afresh"
