"""Settings of a drift evaluation: how replies are generated and how they are judged (frozen dataclasses).

Importing this module is cheap (no torch, no numpy), so the CLI can build the settings before loading anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from axolotl_agl.drift.judge import Judge

__all__ = ["DEFAULT_BOOTSTRAP", "GenerationSettings", "ScoringSettings"]

#: Bootstrap resamples of every interval, unless set.
DEFAULT_BOOTSTRAP = 1000


def _pattern_judge() -> Judge:
    """The default judge (imported here, so that importing the settings stays cheap)."""
    from axolotl_agl.drift.judge import PatternRefusalJudge

    return PatternRefusalJudge()


@dataclass(frozen=True)
class GenerationSettings:
    """How replies are generated (greedy) and how models are loaded.

    Attributes:
        max_new_tokens: Greedy new tokens per reply.
        batch_size: Generation batch size.
        device, dtype, trust_remote_code: Model loading options (``dtype`` None = float32).
        system_prompt: Optional system turn for every prompt.
        progress: Show tqdm bars.
    """

    max_new_tokens: int = 48
    batch_size: int = 8
    device: str = "cpu"
    dtype: str | None = None
    trust_remote_code: bool = False
    system_prompt: str | None = None
    progress: bool = True


@dataclass(frozen=True)
class ScoringSettings:
    """How replies are judged and summarised.

    Attributes:
        judge: Primary refusal judge; compliance always uses the pattern judge's
            :meth:`~axolotl_agl.drift.judge.PatternRefusalJudge.complies` (not a refusal, >= 8 words).
        extra_judges: More judges reported beside the primary one (e.g. a classifier).
        n_bootstrap: Bootstrap resamples for the intervals.
        seed: Bootstrap seed.
    """

    judge: Judge = field(default_factory=_pattern_judge)
    extra_judges: tuple[Judge, ...] = ()
    n_bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0
