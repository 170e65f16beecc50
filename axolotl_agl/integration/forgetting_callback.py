"""``ForgettingCallback``: losses on three fixed evaluation sets during training, written as a forgetting curve.

At step 0 (or the step a resumed run starts from), every ``eval_steps`` optimiser steps and at the end of
training it measures the current model's mean per-token loss on the *general*, *alignment* and *task* sets (see
:mod:`axolotl_agl.forgetting.data`) and appends a record to ``<output_dir>/agl_forgetting.jsonl`` (see
:mod:`axolotl_agl.forgetting.records`).

**Tokens.** A forward pre-hook on the model counts supervised tokens (labels != -100 after the causal shift) of
every training forward (train mode with gradients on; evaluations run in eval mode without gradients, so they
are not counted). At each evaluation and each checkpoint the per-rank counts are summed over ranks; every
checkpoint stores the total in ``agl_forgetting_state.json`` so a resumed run continues it.

**Distributed runs.** Every rank evaluates the same examples (the same number of forward passes on every rank,
so sharded models — FSDP, ZeRO-3 — stay in lockstep; with DDP each rank's copy is complete and the wall time equals
rank 0 evaluating alone). Rank 0 reads and writes the files; what it read is broadcast, so ranks never need a
shared filesystem. Collectives happen only in hooks every rank runs at the same step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import distributed as dist
from transformers import TrainerCallback

from axolotl_agl.core.examples import TokenizedExample
from axolotl_agl.forgetting.data import (
    build_general_examples,
    load_general_prompts,
    read_reference_answers,
    select_task_examples,
    tokenize_prompts,
    write_reference_answers,
)
from axolotl_agl.forgetting.evaluate import generate_answer_ids, mean_token_loss
from axolotl_agl.forgetting.records import (
    RECORDS_FILE,
    REFERENCE_FILE,
    STATE_FILE,
    append_record,
    read_forgetting_records,
    truncate_records,
)
from axolotl_agl.integration.args import ForgettingConfig
from axolotl_agl.utils.distributed import is_main_process, world_size

LOG = logging.getLogger(__name__)

__all__ = ["ForgettingCallback", "count_supervised_tokens"]


def _distributed() -> bool:
    return world_size() > 1


def _broadcast(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (a no-op without torch.distributed)."""
    if not _distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def count_supervised_tokens(kwargs: dict[str, Any]) -> torch.Tensor | None:
    """Target tokens of one forward call's keyword arguments: ``shift_labels`` != -100, else ``labels[..., 1:]``."""
    shifted = kwargs.get("shift_labels")
    if shifted is not None:
        return (shifted != -100).sum()
    labels = kwargs.get("labels")
    if labels is None or not torch.is_tensor(labels):
        return None
    return (labels[..., 1:] != -100).sum()


class ForgettingCallback(TrainerCallback):
    """Records the forgetting curve of a run (``alignguard.forgetting``); see the module docstring."""

    def __init__(
        self,
        trainer: Any,
        settings: ForgettingConfig,
        alignment_examples: list[TokenizedExample],
        base_model: str,
        max_tokens: int,
    ) -> None:
        self.trainer = trainer
        self.settings = settings
        self.alignment = list(alignment_examples[: settings.max_examples])
        self.base_model = base_model
        self.max_tokens = max_tokens
        self.general: list[TokenizedExample] = []
        self.task: list[TokenizedExample] = []
        self._tokens_total = 0  # summed over ranks, up to the last synchronisation
        self._tokens_local: torch.Tensor | None = None  # this rank's count since then
        self._hook: Any = None
        self._warned_no_labels = False
        self._last_step: int | None = None
        self._start = time.monotonic()

    @property
    def output_dir(self) -> Path:
        return Path(self.trainer.args.output_dir)

    @property
    def _tokenizer(self) -> Any:
        return self.trainer.processing_class

    def _pad_id(self) -> int:
        tok = self._tokenizer
        for value in (getattr(tok, "pad_token_id", None), getattr(tok, "eos_token_id", None)):
            if isinstance(value, int):
                return value
        return 0

    # ------------------------------------------------------------------------------------------------
    # Token counting
    # ------------------------------------------------------------------------------------------------

    def _count_forward(self, module: torch.nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        if not (module.training and torch.is_grad_enabled()):
            return
        count = count_supervised_tokens(kwargs)
        if count is None:
            if not self._warned_no_labels:
                LOG.warning("AlignGuard forgetting: a training forward had no `labels`; tokens_seen does not count it")
                self._warned_no_labels = True
            return
        count = count.detach()
        self._tokens_local = count if self._tokens_local is None else self._tokens_local + count

    def synchronise_tokens(self) -> int:
        """Sum the per-rank counts into the run total (a collective: call on every rank at the same point)."""
        local = int(self._tokens_local.item()) if self._tokens_local is not None else 0
        self._tokens_local = None
        if _distributed():
            device = getattr(self.trainer.accelerator, "device", torch.device("cpu"))
            if dist.get_backend() == "gloo":
                device = torch.device("cpu")
            value = torch.tensor([local], dtype=torch.int64, device=device)
            dist.all_reduce(value)
            local = int(value.item())
        self._tokens_total += local
        return self._tokens_total

    # ------------------------------------------------------------------------------------------------
    # Evaluation sets
    # ------------------------------------------------------------------------------------------------

    def _reference_answers(self, prompts: list[str], prompt_ids: list[list[int]]) -> list[list[int]]:
        """The base model's answers: from the cache when it matches, else generated (adapter disabled) and cached."""
        cache = self.output_dir / REFERENCE_FILE
        args = (prompts, prompt_ids, self.base_model, self.settings.max_new_tokens)
        answers = _broadcast(read_reference_answers(cache, *args) if is_main_process() else None)
        if answers is not None:
            LOG.info("AlignGuard forgetting: reusing the base model's reference answers in %s", cache)
            return answers
        model = self.trainer.model
        started = time.monotonic()
        disable = model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
        with disable:
            answers = generate_answer_ids(
                model, self._tokenizer, prompt_ids, self.settings.max_new_tokens, self.settings.batch_size
            )
        answers = _broadcast(answers)
        if is_main_process():
            texts = [self._tokenizer.decode(a, skip_special_tokens=True).strip() for a in answers]
            write_reference_answers(cache, prompts, prompt_ids, answers, texts, *args[2:])
        LOG.info(
            "AlignGuard forgetting: generated %d reference answers with the adapter disabled in %.1f s (%s)",
            len(answers),
            time.monotonic() - started,
            cache,
        )
        return answers

    def _prepare_sets(self) -> None:
        prompts = load_general_prompts(self.settings.general_prompts)[: self.settings.max_examples]
        prompt_ids = tokenize_prompts(self._tokenizer, prompts)
        answers = self._reference_answers(prompts, prompt_ids)
        self.general = build_general_examples(prompt_ids, answers, self.max_tokens)
        self.task = select_task_examples(self.trainer.train_dataset, self.settings.max_examples, self.max_tokens)
        if not self.task:
            LOG.warning("AlignGuard forgetting: no tokenised training rows to evaluate; task_loss will be null")
        LOG.info(
            "AlignGuard forgetting: evaluating %d general, %d alignment and %d task examples every %d steps",
            len(self.general),
            len(self.alignment),
            len(self.task),
            self.settings.eval_steps,
        )

    # ------------------------------------------------------------------------------------------------
    # Resuming
    # ------------------------------------------------------------------------------------------------

    def _tokens_at_start(self, step: int) -> tuple[int, bool]:
        """(run total of tokens at ``step``, whether ``step`` is already recorded); rank 0 also trims the records."""
        records = self.output_dir / RECORDS_FILE
        if step == 0:
            if records.exists():
                LOG.info("AlignGuard forgetting: starting a new curve; replacing %s", records)
                records.unlink()
            return 0, False
        truncate_records(records, step)
        rows = read_forgetting_records(records) if records.is_file() else []
        state = self.output_dir / f"checkpoint-{step}" / STATE_FILE
        if state.is_file():
            tokens = int(json.loads(state.read_text(encoding="utf-8"))["tokens_seen"])
        else:
            earlier = [r for r in rows if int(r["step"]) <= step]
            tokens = int(earlier[-1]["tokens_seen"]) if earlier else 0
            LOG.warning(
                "AlignGuard forgetting: resuming at step %d without %s; tokens_seen continues from %d (the last "
                "record), so it undercounts the tokens trained since then",
                step,
                state,
                tokens,
            )
        return tokens, any(int(r["step"]) == step for r in rows)

    # ------------------------------------------------------------------------------------------------
    # Callback events
    # ------------------------------------------------------------------------------------------------

    def evaluate(self, step: int) -> dict[str, Any]:
        """Measure the three losses now, append the record (rank 0) and return it. Every rank must call this."""
        started = time.monotonic()
        tokens = self.synchronise_tokens()
        model, pad_id, batch = self.trainer.model, self._pad_id(), self.settings.batch_size
        record = {"step": int(step), "tokens_seen": int(tokens)}
        for name, examples in (("general", self.general), ("alignment", self.alignment), ("task", self.task)):
            record[f"{name}_loss"] = mean_token_loss(model, examples, batch, pad_id)
        now = time.monotonic()
        record["seconds"] = round(now - self._start, 3)
        record["eval_seconds"] = round(now - started, 3)
        if is_main_process():
            append_record(self.output_dir / RECORDS_FILE, record)
        self._last_step = int(step)
        LOG.info(
            "AlignGuard forgetting: step %d tokens %d general %s alignment %s task %s (%.1f s)",
            step,
            tokens,
            *(_fmt(record[f"{name}_loss"]) for name in ("general", "alignment", "task")),
            record["eval_seconds"],
        )
        return record

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._start = time.monotonic()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_sets()
        tokens, recorded = _broadcast(self._tokens_at_start(state.global_step) if is_main_process() else None)
        self._tokens_total, self._tokens_local = tokens, None
        if self._hook is None:
            self._hook = self.trainer.model.register_forward_pre_hook(self._count_forward, with_kwargs=True)
        if recorded:
            self._last_step = int(state.global_step)
        else:
            self.evaluate(state.global_step)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step % self.settings.eval_steps == 0 and state.global_step != self._last_step:
            self.evaluate(state.global_step)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        tokens = self.synchronise_tokens()
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if is_main_process() and checkpoint.is_dir():
            payload = {"step": int(state.global_step), "tokens_seen": tokens}
            (checkpoint / STATE_FILE).write_text(json.dumps(payload), encoding="utf-8")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step != self._last_step:
            self.evaluate(state.global_step)
        if self._hook is not None:
            self._hook.remove()
            self._hook = None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
