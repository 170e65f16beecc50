"""The ``peer_baseline:`` YAML block of the training-time peers (pydantic; merged into Axolotl's config)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PeerMethod = Literal["l2", "ewc", "constrained_sft", "asft"]


class PeerConfig(BaseModel):
    """One training-time peer and its single strength knob ``weight``."""

    model_config = ConfigDict(extra="forbid")

    method: PeerMethod = Field(description="Which peer: l2, ewc, constrained_sft or asft.")
    weight: float = Field(
        description="The strength knob: λ for l2 / ewc / asft; β (the constraint sharpness) for constrained_sft."
    )
    on_nonfinite: Literal["error", "skip"] = Field(
        default="error", description="A NaN/Inf penalty: stop at that step (error) or leave it out (skip)."
    )
    fisher_num_samples: int = Field(default=128, ge=1, description="ewc: alignment examples for the diagonal Fisher.")
    fisher_cache_path: str | None = Field(default=None, description="ewc: safetensors file of the diagonal Fisher.")
    alignment_adapter: str | None = Field(
        default=None,
        description=(
            "asft: the LoRA adapter whose merge built the aligned base (V = s·B·A per layer). Default: the "
            "'adapter' recorded in <base_model>/agl_source.json."
        ),
    )
    first_token_factor: float = Field(default=5.0, gt=0, description="constrained_sft: β multiplier, 1st token.")
    bias_factor: float = Field(default=20.0, gt=0, description="constrained_sft: β multiplier, tokens 2..bias_length.")
    bias_length: int = Field(default=5, ge=0, description="constrained_sft: reply tokens with a larger β.")

    @model_validator(mode="after")
    def _check(self) -> PeerConfig:
        if self.weight < 0:
            raise ValueError(f"peer_baseline.weight must be >= 0 (got {self.weight}); set peer_baseline.weight >= 0")
        if self.method == "constrained_sft" and self.weight <= 0:
            raise ValueError(
                "peer_baseline.weight is β for method constrained_sft and must be > 0 (small β approaches plain "
                f"SFT); got {self.weight}"
            )
        if self.alignment_adapter is not None and not (Path(self.alignment_adapter) / "adapter_config.json").is_file():
            raise ValueError(
                f"peer_baseline.alignment_adapter {self.alignment_adapter!r} is not a PEFT adapter directory "
                "(no adapter_config.json); point it at the LoRA that built the aligned base"
            )
        return self


class PeerArgs(BaseModel):
    """Axolotl input args of the peers plugin."""

    peer_baseline: PeerConfig | None = Field(default=None, description="Peer baseline settings (benchmarks only).")
