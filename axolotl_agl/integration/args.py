"""The ``alignguard:`` block of an Axolotl YAML, as a pydantic model.

Axolotl merges every plugin's args model into its config class and drops keys it does not know,
so all AlignGuard settings live in one nested block. The Fisher-pass keys take their defaults from
:class:`~axolotl_agl.core.kfac.FisherPassSettings`, so each setting has one default.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from axolotl_agl.core.kfac import FisherPassSettings
from axolotl_agl.core.moments import FisherSketchMode
from axolotl_agl.integration.task_replies import DEFAULT_REPLY_TOKENS

#: λ_A when ``fisher_replies: task`` and ``lambda_alignment`` is not set: the counterfactual Fisher is first-order
#: large where the standard one is near zero, so it needs a much smaller weight (chosen by the sweep in
#: docs/results.md, "Drift sweep on the v2 base").
TASK_REPLIES_LAMBDA = 10.0


def _at_least_one(block: str, model: type[BaseModel], field: str, value: int) -> int:
    """``value`` if it is >= 1; else a ValueError naming ``<block>.<field>`` and the field's default."""
    if value < 1:
        default = model.model_fields[field].default
        raise ValueError(f"{block}.{field} must be >= 1, got {value}; the default is {default}")
    return value


class AlignmentDataset(BaseModel):
    """One alignment dataset, in the same shape as an entry of Axolotl's ``datasets:``."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Local .jsonl/.json/.csv/.parquet file or directory, or a Hugging Face hub name.")
    type: Literal["chat_template", "alpaca", "prompt_response"] = Field(
        default="chat_template",
        description=(
            "Row format. chat_template: a `messages` list of {role, content} (the last assistant turn is the "
            "target); alpaca: `instruction` (+ optional `input`) and `output`; prompt_response: `prompt` and "
            "`response`."
        ),
    )
    split: str = Field(default="train", description="Split to read when `path` is a hub dataset or a directory.")
    name: str | None = Field(default=None, description="Hub dataset configuration name, if any.")
    field_messages: str = Field(default="messages", description="Column holding the chat for type chat_template.")


class ForgettingConfig(BaseModel):
    """The forgetting curve (``alignguard.forgetting``): losses on fixed evaluation sets as training proceeds.

    Three sets: general text the base model knew (its own greedy answers to general-knowledge prompts), the
    alignment data, and a fixed subset of the training data. Records go to ``<output_dir>/agl_forgetting.jsonl``.
    """

    model_config = ConfigDict(extra="forbid")

    eval_steps: int = Field(
        default=10,
        description="Evaluate at step 0, every eval_steps optimiser steps, and at the end of training.",
    )
    max_examples: int = Field(
        default=64,
        description="Examples per evaluation set (general prompts, alignment examples, training rows).",
    )
    general_prompts: str | None = Field(
        default=None,
        description=(
            "General-knowledge prompts whose base-model answers form the 'general text' set: a .jsonl file of "
            "objects with a `prompt` field, or a .txt file with one prompt per line. Default: the 80 prompts "
            "shipped in axolotl_agl/data/general_prompts.jsonl."
        ),
    )
    max_new_tokens: int = Field(
        default=48,
        description=(
            "Length limit of the base model's greedy reference answers (generated once at the start of training "
            "with the adapter disabled, cached in <output_dir>/agl_forgetting_reference.jsonl)."
        ),
    )
    batch_size: int = Field(default=8, description="Examples per forward pass (and per generation batch).")

    @field_validator("eval_steps", "max_examples", "max_new_tokens", "batch_size")
    @classmethod
    def _positive(cls, value: int, info) -> int:  # noqa: ANN001
        return _at_least_one("alignguard.forgetting", cls, info.field_name, value)

    @field_validator("general_prompts")
    @classmethod
    def _prompts_file(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = Path(value).expanduser()
        if path.suffix.lower() not in (".jsonl", ".txt"):
            raise ValueError(
                f"alignguard.forgetting.general_prompts must be a .jsonl (objects with a `prompt` field) or .txt "
                f"(one prompt per line) file, got {value!r}; convert it, or remove the key to use the shipped prompts"
            )
        if not path.is_file():
            raise ValueError(
                f"alignguard.forgetting.general_prompts: {value!r} does not exist (relative paths are resolved from "
                f"{Path.cwd()}); fix the path, or remove the key to use the shipped prompts"
            )
        return value


class AlignGuardConfig(BaseModel):
    """Settings of AlignGuard-LoRA. Every key has a default that works without tuning."""

    model_config = ConfigDict(extra="forbid")

    active: bool = Field(
        default=False,
        description="Set to true by the plugin when `adapter: alignguard` is selected; leave unset.",
    )
    lambda_alignment: float = Field(
        default=50.0,
        description=(
            "λ_A: weight of the Fisher penalty on the alignment-critical part ΔW_A. With fisher_type mc the "
            "penalty is a second-order estimate of the KL divergence (nats per alignment reply) the update causes "
            "on alignment prompts; it under-estimates large behaviour changes, hence a default well above 1 "
            "(measured in docs/results.md)."
        ),
    )
    lambda_task: float = Field(
        default=0.01,
        description="λ_T: weight of the stabiliser ½‖ΔW_T‖² on the task part (sum over modules).",
    )
    lambda_collision: float = Field(
        default=0.1,
        description="λ_NC: weight of the collision terms (both scale-free, in [0, 1], averaged over modules).",
    )
    alpha: float = Field(
        default=0.5,
        description="α in [0, 1]: share of the Riemannian (Fisher-metric coordinate) overlap vs geodesic separation.",
    )
    rank_k: int = Field(
        default=FisherPassSettings.rank_k,
        description=(
            "k: eigenvectors kept per Kronecker factor of each module's Fisher (the alignment-critical subspace); "
            "the rest of the spectrum is kept as one mean eigenvalue. Must not exceed a module's d_in or d_out."
        ),
    )
    split_damping: float = Field(
        default=1.0,
        description=(
            "ρ relative to the mean Fisher eigenvalue. A direction with Fisher eigenvalue μ belongs to ΔW_A with "
            "weight μ / (μ + ρ): higher values make the alignment-critical part narrower."
        ),
    )
    alignment_datasets: list[AlignmentDataset] | None = Field(
        default=None,
        description=(
            "Alignment data for the Fisher pass (unsafe prompts with refusals, safe prompts with answers). "
            "Default: the set shipped with axolotl_agl (axolotl_agl/data/alignment_default.jsonl)."
        ),
    )
    fisher_num_samples: int = Field(
        default=256, description="Maximum number of alignment examples used by the Fisher pass."
    )
    fisher_max_tokens: int | None = Field(
        default=None,
        description="Maximum tokens per alignment example (default: the config's sequence_len). Longer ones are cut.",
    )
    fisher_reply_tokens: int | None = Field(
        default=FisherPassSettings.max_reply_tokens,
        description=(
            "Count only each alignment reply's first n tokens in the Fisher (default: the whole reply). Each "
            "example's loss is the reply's summed negative log-likelihood, so the Fisher penalty estimates the "
            "KL divergence between reply distributions in nats per reply."
        ),
    )
    fisher_replies: Literal["alignment", "task"] = Field(
        default="alignment",
        description=(
            "Which replies the Fisher is measured on. alignment: the alignment data's own (refusals and answers); "
            "task: each unsafe alignment prompt (rows labelled unsafe, or every row when the data has no label "
            "column) followed by the opening of a training reply drawn with the config's seed, an empirical "
            "Fisher of how fast the update makes the model answer unsafe prompts the way it answers the task "
            "(docs/method.md, 'Counterfactual Fisher'). With task, fisher_type defaults to empirical (mc is an "
            f"error), fisher_reply_tokens to {DEFAULT_REPLY_TOKENS} and lambda_alignment to "
            f"{TASK_REPLIES_LAMBDA:g}."
        ),
    )
    fisher_batch_size: int = Field(
        default=FisherPassSettings.batch_size, description="Examples per forward/backward in the Fisher pass."
    )
    fisher_type: Literal["mc", "empirical"] = Field(
        default=FisherPassSettings.fisher_type,
        description=(
            "mc: true Fisher, each target token re-drawn from the model (seeded), so the Fisher penalty estimates "
            "the KL divergence the update causes on alignment prompts; empirical: gradients of the data's own "
            "replies (vanishes where the model already fits them)."
        ),
    )
    fisher_sketch: FisherSketchMode = Field(
        default=FisherPassSettings.sketch,
        description=(
            "How the Fisher pass accumulates each K-FAC factor: exact d×d sums, or a streaming Nyström sketch "
            "with rank_k + oversampling columns plus the exact trace; auto = exact for "
            f"d <= {FisherPassSettings.exact_max_dim}, sketched above."
        ),
    )
    fisher_sketch_passes: int = Field(
        default=FisherPassSettings.sketch_passes,
        description="Passes over the alignment data when a factor is sketched (2 = one subspace iteration).",
    )
    overlap_samples: int = Field(
        default=64,
        description=(
            "0 = exact Riemannian overlap (touches every entry of ΔW, in chunks); n > 0 = unbiased "
            "importance-sampled estimate from n rows/columns per module (std <= 0.5/sqrt(n))."
        ),
    )
    overlap_module_fraction: float = Field(
        default=0.25,
        description=(
            "Share of each group of same-shaped LoRA modules whose Riemannian overlap is evaluated per step (drawn "
            "afresh each step, reweighted so the estimate stays unbiased); 1 = every module. The overlap is most "
            "of the penalty's per-step cost; the other three terms always use every module."
        ),
    )
    fisher_cache_path: str | None = Field(
        default=None,
        description=(
            "Where the Fisher summary is stored and reused (safetensors). Default: "
            "<output_dir>/alignguard_fisher.safetensors."
        ),
    )
    fisher_cache: Literal["reuse", "rebuild", "strict"] = Field(
        default="reuse",
        description=(
            "What to do with an existing Fisher cache. reuse: use it when it matches this config, otherwise "
            "(or when it is unreadable) recompute it with a warning naming the mismatched keys; rebuild: always "
            "recompute; strict: use it when it matches, stop with an error naming each mismatched key when it "
            "does not or when it is unreadable (a missing cache is computed)."
        ),
    )
    on_nonfinite: Literal["error", "skip"] = Field(
        default="error",
        description=(
            "A NaN/Inf penalty term at a training step. error: stop training at that step (nothing is saved "
            "from it); skip: leave that step's penalty out (task loss only), with a warning and the count "
            "logged as agl/nonfinite_skips. Non-finite Fisher statistics always stop the run."
        ),
    )

    forgetting: ForgettingConfig | None = Field(
        default=None,
        description=(
            "Record the forgetting curve: at step 0, every forgetting.eval_steps steps and at the end, the mean "
            "per-token loss on general text the base model knew, on the alignment data and on training rows, "
            "against the supervised tokens trained so far (<output_dir>/agl_forgetting.jsonl; fit it with "
            "`axolotl agl-forgetting`). Also works with adapter: lora when the plugin is listed (then only this is "
            "done: no Fisher pass, no penalty). `forgetting: {}` uses the defaults; unset = off."
        ),
    )

    @field_validator("lambda_alignment", "lambda_task", "lambda_collision", "split_damping")
    @classmethod
    def _finite_non_negative(cls, value: float, info) -> float:  # noqa: ANN001
        if not math.isfinite(value) or value < 0:
            default = cls.model_fields[info.field_name].default
            raise ValueError(
                f"alignguard.{info.field_name} must be a finite number >= 0, got {value}; "
                f"set it to a value such as {default} (the default) or remove the key"
            )
        return value

    @field_validator("alpha")
    @classmethod
    def _alpha_in_unit_interval(cls, value: float) -> float:
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"alignguard.alpha must lie in [0, 1], got {value}; set it to e.g. 0.5 (the default)")
        return value

    @field_validator("rank_k", "fisher_num_samples", "fisher_batch_size", "fisher_sketch_passes")
    @classmethod
    def _positive(cls, value: int, info) -> int:  # noqa: ANN001
        return _at_least_one("alignguard", cls, info.field_name, value)

    @field_validator("fisher_reply_tokens")
    @classmethod
    def _positive_or_all(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(
                f"alignguard.fisher_reply_tokens must be >= 1, got {value}; remove the key to use whole replies"
            )
        return value

    @field_validator("overlap_samples")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"alignguard.overlap_samples must be >= 0 (0 = exact), got {value}; the default is 64")
        return value

    @field_validator("overlap_module_fraction")
    @classmethod
    def _fraction(cls, value: float) -> float:
        if not (math.isfinite(value) and 0.0 < value <= 1.0):
            raise ValueError(
                f"alignguard.overlap_module_fraction must lie in (0, 1], got {value}; "
                "set it to e.g. 0.25 (the default) or 1 to evaluate every module"
            )
        return value

    @field_validator("alignment_datasets")
    @classmethod
    def _not_empty(cls, value: list[AlignmentDataset] | None) -> list[AlignmentDataset] | None:
        if value is not None and len(value) == 0:
            raise ValueError(
                "alignguard.alignment_datasets is an empty list: give at least one {path, type} entry, "
                "or remove the key to use the shipped default alignment data"
            )
        return value

    @field_validator("forgetting", mode="before")
    @classmethod
    def _forgetting_mapping(cls, value: object) -> object:
        if value is None or isinstance(value, (dict, ForgettingConfig)):
            return value
        raise ValueError(
            f"alignguard.forgetting must be a mapping of settings, got {value!r}; write `forgetting: {{}}` for the "
            "defaults or e.g. `forgetting: {eval_steps: 10}`, or remove the key to turn it off"
        )

    @model_validator(mode="after")
    def _task_replies_defaults(self) -> AlignGuardConfig:
        if self.fisher_replies != "task":
            return self
        if self.fisher_type == "mc" and "fisher_type" in self.model_fields_set:
            raise ValueError(
                "alignguard.fisher_replies: task needs fisher_type: empirical (Monte-Carlo labels would replace the "
                "task replies it pairs with the alignment prompts); remove alignguard.fisher_type or set it to empirical"
            )
        self.fisher_type = "empirical"
        if self.fisher_reply_tokens is None:
            self.fisher_reply_tokens = DEFAULT_REPLY_TOKENS
        if "lambda_alignment" not in self.model_fields_set:
            self.lambda_alignment = TASK_REPLIES_LAMBDA
        return self

    @model_validator(mode="after")
    def _positive_damping(self) -> AlignGuardConfig:
        if self.split_damping == 0:
            raise ValueError(
                "alignguard.split_damping must be > 0 (it sets the ΔW_A / ΔW_T split); set it to e.g. 1.0 (the default)"
            )
        return self


class AlignGuardArgs(BaseModel):
    """What the plugin adds to Axolotl's config class: one optional ``alignguard:`` block."""

    alignguard: AlignGuardConfig | None = Field(
        default=None,
        description=(
            "AlignGuard-LoRA settings; used when `adapter: alignguard` and the plugin is listed (only the "
            "`forgetting:` sub-block also applies with adapter: lora)."
        ),
    )
