"""Counterfactual Fisher examples (``alignguard.fisher_replies: task``): alignment prompts answered like the task.

The standard Fisher is measured on the aligned model's own replies to alignment prompts. On an unsafe prompt that
model refuses almost surely, so the gradient of its reply log-likelihood, and the curvature along the direction
that flips the refusal, are almost zero (``docs/method.md`` §1). With ``fisher_replies: task`` the plugin builds
the Fisher's examples from the question a benign fine-tune actually poses: each unsafe alignment prompt followed
by the *opening of a training reply*, the first ``n`` supervised tokens of a training row drawn with a fixed seed
(``alignguard.fisher_reply_tokens``, default :data:`DEFAULT_REPLY_TOKENS`). Its empirical Fisher is large exactly
along the change that makes the model answer an unsafe prompt the way it answers the task ("Sure! ...").

The pairing works on tokens, after Axolotl has tokenised the training data, so any dataset format works: a
training row's reply is its first run of supervised tokens (``labels != -100``). Pure functions, no torch.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

from axolotl_agl.core.examples import IGNORE_INDEX, TokenizedExample

__all__ = [
    "DEFAULT_REPLY_TOKENS",
    "draw_reply_openings",
    "pair_prompts_with_replies",
    "pair_with_training_replies",
    "reply_opening",
]

LOG = logging.getLogger(__name__)

#: Reply tokens counted by default: the opening of a reply decides refusal vs compliance.
DEFAULT_REPLY_TOKENS = 8


def reply_opening(input_ids: Sequence[int], labels: Sequence[int] | None, count: int) -> tuple[list[int], int]:
    """The first ``count`` tokens of a row's first supervised run, and where that run starts.

    ``labels=None`` (a dataset without labels, e.g. raw text) treats every token as supervised. Returns
    ``([], -1)`` when nothing is supervised.
    """
    supervised = [True] * len(input_ids) if labels is None else [label != IGNORE_INDEX for label in labels]
    start = next((i for i, flag in enumerate(supervised) if flag), -1)
    if start < 0:
        return [], -1
    stop = start
    while stop < len(input_ids) and stop - start < count and supervised[stop]:
        stop += 1
    return [int(t) for t in input_ids[start:stop]], start


def draw_reply_openings(rows: Any, how_many: int, count: int, seed: int) -> list[list[int]]:
    """``how_many`` reply openings of ``count`` tokens from tokenised training ``rows``, drawn with replacement.

    ``rows`` is anything indexable with ``len`` whose items map ``input_ids`` (and usually ``labels``) to token
    lists, e.g. the trainer's ``train_dataset``. Row ``j`` is drawn by ``random.Random(seed).randrange`` (the same
    sequence of indices as ``random.choice`` over a list of the rows' replies). Rows without a supervised token are
    drawn again (at most ``10·how_many`` draws in all).

    Raises:
        ValueError: when no supervised reply is found (names ``alignguard.fisher_replies``).
    """
    rng = random.Random(seed)
    openings: list[list[int]] = []
    at_start = 0
    for _ in range(10 * max(how_many, 1)):
        if len(openings) == how_many or len(rows) == 0:
            break
        row = rows[rng.randrange(len(rows))]
        opening, start = reply_opening(row["input_ids"], row.get("labels"), count)
        if opening:
            openings.append(opening)
            at_start += start == 0
    if len(openings) < how_many:
        raise ValueError(
            "alignguard.fisher_replies: task found no training row with supervised reply tokens (labels other than "
            "-100) to pair the alignment prompts with; use fisher_replies: alignment, or check the training data"
        )
    if at_start:
        LOG.warning(
            "AlignGuard: %d of %d drawn training rows are supervised from their first token (train_on_inputs: true "
            "or raw text), so their 'reply opening' is the start of the row (alignguard.fisher_replies: task)",
            at_start,
            how_many,
        )
    return openings


def pair_prompts_with_replies(
    examples: Sequence[TokenizedExample], openings: Sequence[Sequence[int]]
) -> list[TokenizedExample]:
    """Each example's prompt (its tokens before the first supervised one) followed by ``openings[i]``.

    The labels are ``-100`` on the prompt and the opening's tokens on the opening, as Axolotl's
    ``train_on_inputs: false`` would set them.

    Raises:
        ValueError: if the counts differ or an example has no supervised token (no prompt/reply boundary).
    """
    if len(examples) != len(openings):
        raise ValueError(f"{len(examples)} examples but {len(openings)} reply openings")
    paired = []
    for example, opening in zip(examples, openings, strict=True):
        start = next((i for i, label in enumerate(example.labels) if label != IGNORE_INDEX), -1)
        if start < 1:
            raise ValueError("an alignment example has no prompt before its reply; cannot pair it with a task reply")
        prompt = list(example.input_ids[:start])
        paired.append(TokenizedExample(prompt + list(opening), [IGNORE_INDEX] * len(prompt) + list(opening)))
    return paired


def pair_with_training_replies(
    examples: Sequence[TokenizedExample], rows: Any, reply_tokens: int, seed: int
) -> list[TokenizedExample]:
    """The Fisher's examples under ``fisher_replies: task``: each of ``examples`` (the unsafe alignment prompts)
    followed by a reply opening drawn from the tokenised training ``rows`` (:func:`draw_reply_openings`). Training
    (``post_trainer_create``) and ``axolotl agl-fisher`` both call this, so they draw the same rows."""
    openings = draw_reply_openings(rows, len(examples), reply_tokens, seed)
    LOG.info(
        "AlignGuard: Fisher on %d unsafe alignment prompts paired with the first %d tokens of training replies "
        "(fisher_replies: task, seed %d)",
        len(examples),
        reply_tokens,
        seed,
    )
    return pair_prompts_with_replies(examples, openings)
