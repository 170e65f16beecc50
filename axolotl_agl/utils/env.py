"""Process environment the project's commands need."""

from __future__ import annotations

import os

#: With Axolotl's telemetry on, any exception makes the process hang instead of exiting; the hubs are unreachable
#: offline. Set (unless the user set them) by every command that imports Axolotl or launches training.
SAFE_ENV = {
    "AXOLOTL_DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
#: Idle OpenMP threads sleep instead of spinning: on a busy small CPU machine spinning threads slow a step 10x.
CPU_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def set_safe_env() -> None:
    """Turn Axolotl's telemetry off (and tokenizer thread warnings) unless the user chose otherwise."""
    for key, value in SAFE_ENV.items():
        os.environ.setdefault(key, value)


def launch_env(offline: bool = True) -> dict[str, str]:
    """Environment for a training subprocess: this one plus :data:`SAFE_ENV`, :data:`CPU_ENV` and, by default,
    the hubs offline."""
    env = dict(os.environ)
    env.update(SAFE_ENV)
    if offline:
        env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    for key, value in CPU_ENV.items():
        env.setdefault(key, value)
    return env
