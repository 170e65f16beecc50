"""A wheel built from the repository works outside the checkout: console scripts, Axolotl subcommands, the plugin
through the real CLI, and the experiment tooling with its package data.

The wheel is installed with ``--no-deps`` into a fresh virtual environment whose only other packages are this
test environment's dependencies, made visible through a ``.pth`` file (installing torch and Axolotl again would
take minutes and the network). Every command runs from a directory outside the checkout, so nothing is imported
from the working tree.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import write_axolotl_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    # Build from a copy of the tracked files: setuptools writes build/ into the source tree.
    source = tmp / "source"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True).stdout.split()
    for name in tracked:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dist.glob("axolotl_agl-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()] or [sysconfig.get_paths()["purelib"]]
    (Path(purelib) / "agl_test_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    outside = tmp / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        AXOLOTL_DO_NOT_TRACK="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PATH=f"{venv / 'bin'}:{env['PATH']}"
    )
    return {"venv": venv, "py": py, "cwd": outside, "env": env, "wheel": wheel, "tmp": tmp}


def _run(wheel_env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(args), cwd=wheel_env["cwd"], env=wheel_env["env"], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc


def test_package_is_imported_from_the_wheel_not_the_checkout(wheel_env):
    out = _run(wheel_env, str(wheel_env["py"]), "-c", "import axolotl_agl; print(axolotl_agl.__file__)").stdout
    assert str(wheel_env["venv"]) in out and str(REPO) not in out


def test_console_script_and_axolotl_subcommands(wheel_env):
    bin_dir = wheel_env["venv"] / "bin"
    top = _run(wheel_env, str(bin_dir / "axolotl-agl"), "--help").stdout
    assert "fisher" in top and "drift" in top and "forgetting" in top
    py = str(wheel_env["py"])
    for command in ("agl-fisher", "agl-drift", "agl-forgetting"):
        text = _run(wheel_env, py, "-m", "axolotl.cli.main", command, "--help").stdout
        assert "Usage" in text, command


def test_shipped_data_and_experiment_configs_are_in_the_wheel(wheel_env):
    code = (
        "from axolotl_agl.data import default_alignment_path, driftcheck_mini_path;"
        "from axolotl_agl.experiments.aligned_base import ALIGN_CONFIG;"
        "assert default_alignment_path().is_file() and driftcheck_mini_path().is_file() and ALIGN_CONFIG.is_file();"
        "print(ALIGN_CONFIG)"
    )
    out = _run(wheel_env, str(wheel_env["py"]), "-c", code).stdout
    assert str(wheel_env["venv"]) in out
    demo_help = _run(wheel_env, str(wheel_env["py"]), "-m", "axolotl_agl.experiments.demo", "--help").stdout
    assert "--quick" in demo_help


def test_plugin_trains_through_the_real_cli_from_the_wheel(wheel_env, tiny_model_dir, chat_data_path):
    config = write_axolotl_config(
        wheel_env["tmp"] / "run" / "agl.yml",
        base_model=tiny_model_dir,
        data_path=chat_data_path,
        plugins=["axolotl_agl.AlignGuardPlugin"],
        adapter="alignguard",
        alignguard={"rank_k": 4, "fisher_num_samples": 8},
        max_steps=2,
    )
    out = _run(wheel_env, str(wheel_env["py"]), "-m", "axolotl.cli.train", str(config), timeout=600)
    text = out.stdout + out.stderr
    assert "agl/penalty" in text
    assert (wheel_env["tmp"] / "run" / "out" / "adapter_config.json").is_file()
