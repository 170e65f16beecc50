"""What a config says about AlignGuard, resolved in one place, and the per-config memo of the plugin hooks.

* :func:`agl_config_of` / :func:`alignguard_enabled`: the validated ``alignguard:`` block of an Axolotl config;
* :func:`sequence_len_of`: the config's ``sequence_len`` (the one place with a fallback for a config that skipped
  Axolotl's validation, which always fills it in);
* :class:`AlignmentData`: which alignment examples a config selects (files, how many, how long, which tokenizer)
  and how to load them;
* :func:`state_of`: the memo the hooks share for one config (see :class:`ConfigState` for why it is keyed by the
  config object and not kept on the plugin).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field, replace
from typing import Any

from axolotl_agl.core.examples import TokenizedExample
from axolotl_agl.integration.alignment_data import load_alignment_examples
from axolotl_agl.integration.args import AlignGuardConfig, AlignmentDataset

#: ``sequence_len`` of a config that did not go through Axolotl's validation (validation fills in its own default).
FALLBACK_SEQUENCE_LEN = 2048


def agl_config_of(cfg: Any) -> AlignGuardConfig:
    """The validated ``alignguard:`` block of an Axolotl config, as :class:`AlignGuardConfig`."""
    block = cfg.get("alignguard")
    if isinstance(block, AlignGuardConfig):
        return block
    if isinstance(block, dict):
        block = block.to_dict() if callable(getattr(type(block), "to_dict", None)) else dict(block)
    elif block is not None:
        block = block.model_dump()
    return AlignGuardConfig.model_validate(block or {})


def alignguard_enabled(cfg: Any) -> bool:
    """True when this config selected ``adapter: alignguard`` (the plugin rewrote it and set ``active``)."""
    block = cfg.get("alignguard") if hasattr(cfg, "get") else None
    if block is None:
        return False
    value = block.get("active") if isinstance(block, dict) else getattr(block, "active", None)
    return bool(value)


def sequence_len_of(cfg: Any) -> int:
    """The config's ``sequence_len`` (tokens per training example)."""
    return int(cfg.get("sequence_len") or FALLBACK_SEQUENCE_LEN)


@dataclass(frozen=True)
class AlignmentData:
    """The alignment examples a config selects: ``alignguard.alignment_datasets`` (None = the shipped set), the
    first ``max_examples`` usable rows, each cut to ``max_tokens`` (``alignguard.fisher_max_tokens``, default the
    config's ``sequence_len``), rendered with the config's tokenizer and chat template."""

    datasets: tuple[AlignmentDataset, ...] | None
    max_examples: int
    max_tokens: int
    tokenizer: str
    chat_template: str
    unsafe_only: bool = False

    @property
    def source_key(self) -> str:
        """Everything but ``max_examples``: two selections with the same key differ only in how many rows they keep."""
        datasets = [d.model_dump(mode="json") for d in self.datasets] if self.datasets else None
        key = [datasets, self.max_tokens, self.tokenizer, self.chat_template] + (["unsafe"] if self.unsafe_only else [])
        return json.dumps(key, sort_keys=True)

    def load(self, tokenizer: Any) -> list[TokenizedExample]:
        """Read and tokenise the examples (raises naming ``alignguard.alignment_datasets`` on bad data)."""
        specs = list(self.datasets) if self.datasets else None
        return load_alignment_examples(specs, tokenizer, self.max_examples, self.max_tokens, self.unsafe_only)


def alignment_data_of(cfg: Any, max_examples: int | None = None) -> AlignmentData:
    """The alignment examples of ``cfg``: the Fisher pass's (``alignguard.fisher_num_samples``) by default.

    With ``alignguard.fisher_replies: task`` only the unsafe rows (their prompts are paired with task replies).
    """
    agl = agl_config_of(cfg)
    return AlignmentData(
        datasets=tuple(agl.alignment_datasets) if agl.alignment_datasets else None,
        max_examples=agl.fisher_num_samples if max_examples is None else max_examples,
        max_tokens=agl.fisher_max_tokens or sequence_len_of(cfg),
        tokenizer=str(cfg.get("tokenizer_config") or cfg.get("base_model")),
        chat_template=str(cfg.get("chat_template")),
        unsafe_only=agl.fisher_replies == "task",
    )


@dataclass
class ConfigState:
    """What the plugin hooks learn about one config: the tokenised alignment examples and the early checks done.

    Why not on the plugin: Axolotl keeps one plugin instance per process (its ``PluginManager`` is a singleton), so
    anything stored on the instance outlives the config and could be handed to the next config loaded in the same
    process (a notebook, a sweep, the test suite). This memo is keyed by the config object itself (:func:`state_of`)
    and dropped when that object is garbage collected; each entry also records the settings it was built from, so a
    config changed between two hooks recomputes rather than reusing a stale value.
    """

    examples: dict[str, tuple[int, list[TokenizedExample]]] = field(default_factory=dict)
    targets_checked: str | None = None

    def alignment_examples(self, cfg: Any, data: AlignmentData, tokenizer: Any = None) -> list[TokenizedExample]:
        """``data``'s examples, reusing any already loaded for this config with at least as many rows asked for."""
        memo = self.examples.get(data.source_key)
        if memo is not None and memo[0] >= data.max_examples:
            return memo[1][: data.max_examples]
        if tokenizer is None:
            from axolotl.loaders import load_tokenizer

            tokenizer = load_tokenizer(cfg)
        examples = data.load(tokenizer)
        self.examples[data.source_key] = (data.max_examples, examples)
        return examples


_STATES: dict[int, tuple[weakref.ref, ConfigState]] = {}


def state_of(cfg: Any) -> ConfigState:
    """The :class:`ConfigState` of this config object (a fresh, unremembered one for a non-weak-referenceable dict)."""
    key = id(cfg)
    entry = _STATES.get(key)
    if entry is not None and entry[0]() is cfg:
        return entry[1]
    state = ConfigState()

    def forget(ref: weakref.ref) -> None:
        if _STATES.get(key, (None,))[0] is ref:
            del _STATES[key]

    try:
        _STATES[key] = (weakref.ref(cfg, forget), state)
    except TypeError:  # a plain dict cannot be weakly referenced: nothing to key the memo by
        pass
    return state


def forgetting_data_of(cfg: Any) -> AlignmentData:
    """The alignment examples the forgetting curve evaluates: the first ``alignguard.forgetting.max_examples`` of the
    Fisher pass's selection (whatever ``fisher_num_samples`` is), so runs with and without ``adapter: alignguard``
    evaluate the same examples (always with the alignment data's own replies, whatever ``fisher_replies`` is)."""
    return replace(alignment_data_of(cfg), max_examples=agl_config_of(cfg).forgetting.max_examples, unsafe_only=False)
