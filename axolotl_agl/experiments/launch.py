"""Launching the real Axolotl CLI on CPU: ``accelerate launch ... -m axolotl.cli.train <config>``.

Shared by the demo, the aligned-base builder, the benchmarks and the tests. Imports nothing heavy.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

from axolotl_agl.utils.env import launch_env


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def axolotl_train_command(
    config: Path | str, num_processes: int = 1, overrides: dict[str, object] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Command and environment for ``accelerate launch -m axolotl.cli.train`` on CPU.

    One process uses ``--cpu``. ``accelerate launch --cpu`` silently runs one process whatever
    ``--num_processes`` says, so several processes use the torchrun launcher (``--multi_gpu``) with
    ``ACCELERATE_USE_CPU=true`` (gloo) on a free port. Telemetry is off (with it on, an Axolotl
    exception hangs the process) and the hubs are offline.
    """
    accelerate = Path(sys.executable).parent / "accelerate"
    threads = max(1, (os.cpu_count() or 1) // max(1, num_processes))
    cmd = [str(accelerate) if accelerate.exists() else "accelerate", "launch", "--num_processes", str(num_processes)]
    cmd += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    cmd += ["--num_cpu_threads_per_process", str(threads)]
    cmd += ["--multi_gpu", "--main_process_port", str(find_free_port())] if num_processes > 1 else ["--cpu"]
    cmd += ["-m", "axolotl.cli.train", str(config)]
    cmd += [f"--{key}={value}" for key, value in (overrides or {}).items()]
    env = launch_env()
    if num_processes > 1:
        env["ACCELERATE_USE_CPU"] = "true"
    return cmd, env


def parse_step_logs(output: str) -> list[dict]:
    """The per-step log dicts the HF Trainer prints (``{'loss': ..., 'agl/fisher': ..., ...}``)."""
    steps = []
    for line in output.replace("\r", "\n").splitlines():
        start = line.find("{'loss'")
        if start >= 0:
            steps.append(ast.literal_eval(line[start : line.index("}", start) + 1]))
    return steps


def stream_axolotl_train(
    config: Path | str, overrides: dict[str, object] | None = None, cwd: Path | None = None
) -> list[dict]:
    """Run one training process with its output streamed to this terminal; returns the step logs."""
    cmd, env = axolotl_train_command(config, 1, overrides)
    steps: list[dict] = []
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            steps += parse_step_logs(line)
    if proc.returncode != 0:
        raise RuntimeError(f"axolotl training failed (exit {proc.returncode}): {' '.join(cmd)}")
    return steps
