"""GPU smoke test of ``adapter: alignguard`` on the path users take: QLoRA 4-bit, flash-attention, Axolotl's default
fused LoRA kernels, and FSDP2 across the available GPUs, each next to plain LoRA with the same settings.

Run it through ``benchmarks/gpu_smoke.sh`` on a CUDA machine (it cannot run on this project's CPU-only CI)::

    bash benchmarks/gpu_smoke.sh                      # SmolLM2-135M-Instruct, writes benchmarks/results/gpu_smoke_*.json
    MODEL=/path/to/hf/model bash benchmarks/gpu_smoke.sh

Cases (``accelerate launch -m axolotl.cli.train <config>``, i.e. the real Axolotl CLI):

* ``lora-qlora`` / ``agl-qlora``: one GPU, ``load_in_4bit``, flash-attention with sample packing (SDPA without packing
  when ``flash_attn`` is not installed; the JSON says which), ``lora_*_kernel`` left unset so Axolotl's default
  (fused kernels on) applies, gradient checkpointing, bf16.
* ``lora-fsdp2`` / ``agl-fsdp2``: every visible GPU, ``fsdp_version: 2`` wrapping the model's decoder layers, bf16.

Checks on every AlignGuard case (each a boolean in the JSON; the run fails when one is false):

* ``fisher_covers_targets``: the Fisher cache holds exactly the adapter's LoRA modules, each with non-zero statistics
  (a fused kernel that bypassed the Fisher pass's hooks leaves zeros);
* ``agl_terms_logged``: every logged step has the ``agl/*`` terms and the last one has them all non-zero;
* ``adapter_loads_in_peft``: ``PeftModel.from_pretrained`` on the plain base model loads every LoRA tensor and
  changes the logits;
* ``kernels_bypassed`` (QLoRA case, CUDA): the plugin reports having undone at least one fused-kernel patch for the
  Fisher pass, i.e. the kernels really were on.

Reported per pair: mean step time (``train_runtime / max_steps``), the Fisher pass's seconds, peak GPU memory (the
``memory/*`` values Axolotl logs) and AGL/LoRA ratios. ``--device cpu`` runs the single-process pair without
4-bit, flash-attention, kernels or FSDP: that is how ``tests/experiments/test_gpu_smoke.py`` checks this driver on CPU.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from axolotl_agl.experiments.launch import axolotl_train_command, find_free_port, parse_step_logs  # noqa: E402
from axolotl_agl.utils.env import launch_env  # noqa: E402

PLUGIN = "axolotl_agl.AlignGuardPlugin"
METHODS = ("lora", "agl")
SETTINGS = ("qlora", "fsdp2")
AGL_TERMS = ("agl/fisher", "agl/stabiliser", "agl/overlap", "agl/geodesic", "agl/penalty")
KERNEL_FLAGS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel", "lora_embedding_kernel")
FISHER_CACHE = "alignguard_fisher.safetensors"
KERNELS_UNDONE_MARK = "AlignGuard: Fisher pass with "
FISHER_TOOK_MARK = "AlignGuard: Fisher pass over "
DEFAULT_STEPS = 20
TASK_EXAMPLES = 400  # generated benign chats (arithmetic and string formatting) when --task-data is not given
DEFAULT_BUDGET_S = 450  # the whole smoke must finish in under 8 minutes


def case_name(method: str, setting: str) -> str:
    return f"{method}-{setting}"


def decoder_layer_class(model_dir: str | Path) -> str:
    """The class FSDP2 should wrap: the first of the model class's ``_no_split_modules`` (its decoder layer)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(model_dir))
    model_cls = AutoModelForCausalLM._model_mapping[type(config)]
    names = list(getattr(model_cls, "_no_split_modules", None) or [])
    if not names:
        raise ValueError(f"{model_dir}: {model_cls.__name__} declares no _no_split_modules; pass --wrap-cls")
    return names[0]


def attention_settings(flash_available: bool) -> dict[str, Any]:
    """Flash-attention with sample packing when ``flash_attn`` is importable, else SDPA without packing."""
    if flash_available:
        return {"flash_attention": True, "sample_packing": True, "pad_to_sequence_len": True}
    return {"sdp_attention": True, "sample_packing": False}


def base_config(model: str | Path, task_data: str | Path, out_dir: Path, steps: int, seed: int = 0) -> dict[str, Any]:
    """Settings every case shares: LoRA r=16 on all linear layers, 512-token chats, ``steps`` optimiser steps."""
    return {
        "base_model": str(model),
        "chat_template": "tokenizer_default",
        "datasets": [{"path": str(task_data), "type": "chat_template", "field_messages": "messages"}],
        "train_on_inputs": False,
        "sequence_len": 512,
        "adapter": "lora",
        "lora_r": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.0,
        "lora_target_linear": True,
        "micro_batch_size": 4,
        "gradient_accumulation_steps": 2,
        "max_steps": steps,
        "num_epochs": 10,
        "learning_rate": 2e-4,
        "optimizer": "adamw_torch",
        "lr_scheduler": "constant",
        "warmup_steps": 0,
        "val_set_size": 0,
        "logging_steps": 1,
        "save_strategy": "no",
        "output_dir": str(out_dir),
        "dataset_prepared_path": str(out_dir.parent / f"prepared-{out_dir.name}"),
        "dataloader_num_workers": 0,
        "seed": seed,
    }


def setting_overrides(setting: str, device: str, flash_available: bool, wrap_cls: str | None) -> dict[str, Any]:
    """What a setting adds to :func:`base_config` (on ``device="cpu"``: fp32, no 4-bit/flash/FSDP, kernels off)."""
    if device == "cpu":
        return {"bf16": False, "fp16": False, "tf32": False, **dict.fromkeys(KERNEL_FLAGS[:3], False)}
    common: dict[str, Any] = {"bf16": True, "tf32": True, **attention_settings(flash_available)}
    if setting == "qlora":
        return {**common, "adapter": "qlora", "load_in_4bit": True, "gradient_checkpointing": True}
    if setting == "fsdp2":
        if not wrap_cls:
            raise ValueError("the fsdp2 setting needs the decoder layer class to wrap (wrap_cls)")
        return {
            **common,
            "fsdp_version": 2,
            "fsdp_config": {
                "offload_params": False,
                "state_dict_type": "FULL_STATE_DICT",
                "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                "transformer_layer_cls_to_wrap": wrap_cls,
                "reshard_after_forward": True,
            },
        }
    raise ValueError(f"unknown setting {setting!r}; expected one of {SETTINGS}")


def method_overrides(method: str, fisher_cache_path: Path, fisher_samples: int) -> dict[str, Any]:
    """``lora``: nothing. ``agl``: the plugin, ``adapter: alignguard`` and a Fisher pass that always runs."""
    if method == "lora":
        return {}
    if method == "agl":
        return {
            "plugins": [PLUGIN],
            "adapter": "alignguard",
            "alignguard": {
                "fisher_num_samples": fisher_samples,
                "fisher_cache_path": str(fisher_cache_path),
                "fisher_cache": "rebuild",
            },
        }
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def smoke_config(
    method: str,
    setting: str,
    *,
    model: str | Path,
    task_data: str | Path,
    work: Path,
    steps: int,
    device: str,
    flash_available: bool,
    wrap_cls: str | None,
    fisher_samples: int = 64,
) -> dict[str, Any]:
    """The Axolotl config of one case (``work/<case>/`` is its output directory)."""
    out_dir = work / case_name(method, setting)
    cfg = base_config(model, task_data, out_dir, steps)
    cfg.update(setting_overrides(setting, device, flash_available, wrap_cls))
    cfg.update(method_overrides(method, out_dir / FISHER_CACHE, fisher_samples))
    return cfg


def launch_command(config_path: Path, num_processes: int, device: str) -> tuple[list[str], dict[str, str]]:
    """``accelerate launch -m axolotl.cli.train`` on ``num_processes`` GPUs (CPU: the project's CPU launcher)."""
    if device == "cpu":
        return axolotl_train_command(config_path, 1)
    accelerate = Path(sys.executable).parent / "accelerate"
    cmd = [str(accelerate) if accelerate.exists() else "accelerate", "launch", "--num_processes", str(num_processes)]
    cmd += ["--num_machines", "1", "--dynamo_backend", "no"]
    if num_processes > 1:
        cmd += ["--multi_gpu", "--main_process_port", str(find_free_port())]
    cmd += ["-m", "axolotl.cli.train", str(config_path)]
    return cmd, launch_env()


# ---------------------------------------------------------------------------------------------------------------------
# Reading a finished run
# ---------------------------------------------------------------------------------------------------------------------


def _number_after(text: str, mark: str) -> float | None:
    """The number right after the last occurrence of ``mark`` in ``text`` (e.g. "took 12.5s" -> 12.5)."""
    at = text.rfind(mark)
    if at < 0:
        return None
    digits = ""
    for ch in text[at + len(mark) :]:
        if ch.isdigit() or (ch == "." and digits and "." not in digits):
            digits += ch
        elif digits:
            break
        elif not ch.isspace():
            return None
    return float(digits) if digits else None


def parse_run_log(text: str) -> dict[str, Any]:
    """Step logs, final train metrics, peak memory and the plugin's Fisher-pass lines from a run's output."""
    logs = parse_step_logs(text)
    final = {}
    for line in text.replace("\r", "\n").splitlines():
        start = line.find("{'train_runtime'")
        if start >= 0:
            final = ast.literal_eval(line[start : line.index("}", start) + 1])
    memory: dict[str, float] = {}
    for step in logs:
        for key, value in step.items():
            if key.startswith("memory/") and isinstance(value, (int, float)):
                memory[key] = max(memory.get(key, float("-inf")), float(value))
    fisher_seconds = None
    at = text.rfind(FISHER_TOOK_MARK)
    if at >= 0:
        fisher_seconds = _number_after(text[at:], " took ")
    undone = _number_after(text, KERNELS_UNDONE_MARK)
    return {
        "steps": logs,
        "train_metrics": final,
        "peak_memory": memory,
        "fisher_seconds": fisher_seconds,
        "kernel_patches_undone": int(undone) if undone is not None else 0,
        "kernels_auto_enabled": "Auto-enabling LoRA kernel optimizations" in text,
    }


def adapter_lora_modules(adapter_dir: str | Path) -> list[str]:
    """Names (``model.layers.0.self_attn.q_proj`` style) of the LoRA linear modules saved in an adapter."""
    from safetensors import safe_open

    from axolotl_agl.core.lora_modules import canonical_name

    names = set()
    with safe_open(str(Path(adapter_dir) / "adapter_model.safetensors"), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118 - not a dict
            for marker in (".lora_A.", ".lora_B."):
                if marker in key:
                    names.add(canonical_name(key.split(marker, 1)[0]))
    return sorted(names)


def fisher_coverage(cache_path: str | Path, adapter_dir: str | Path) -> dict[str, Any]:
    """Does the Fisher cache hold exactly the adapter's LoRA modules, each with non-zero statistics?"""
    from axolotl_agl.integration.fisher_cache import load_fisher_cache

    summary, metadata = load_fisher_cache(cache_path)
    targets = set(adapter_lora_modules(adapter_dir))
    zero = sorted(name for name, fisher in summary.items() if not float(fisher.mean_eigenvalue()) > 0.0)
    missing, extra = sorted(targets - set(summary)), sorted(set(summary) - targets)
    return {
        "ok": bool(targets) and not missing and not extra and not zero,
        "targets": len(targets),
        "fisher_modules": len(summary),
        "missing": missing,
        "extra": extra,
        "zero_statistics": zero,
        "examples": metadata.get("total_examples"),
    }


def agl_terms_check(steps: Sequence[Mapping[str, Any]], terms: Sequence[str] = AGL_TERMS) -> dict[str, Any]:
    """Every logged step carries all ``agl/*`` terms, and the last logged step has each of them non-zero.

    (At the first step ``B = 0``, so the Fisher and stabiliser terms are exactly zero there; they must not stay so.)
    """
    if not steps:
        return {"ok": False, "problem": "no step logs"}
    absent = sorted({term for step in steps for term in terms if term not in step})
    last = {term: steps[-1].get(term) for term in terms}
    zero = sorted(term for term, value in last.items() if value is None or float(value) == 0.0)
    return {"ok": not absent and not zero, "absent": absent, "zero_in_last_step": zero, "last": last}


def peft_load_check(base_model: str | Path, adapter_dir: str | Path, device: str) -> dict[str, Any]:
    """Load the adapter with plain PEFT onto the unquantised base; every LoRA tensor loaded, logits changed."""
    import torch
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    base = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=dtype).to(device)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    model = PeftModel.from_pretrained(base, str(adapter_dir)).to(device).eval()
    saved = load_file(str(Path(adapter_dir) / "adapter_model.safetensors"))
    current = get_peft_model_state_dict(model)  # PEFT's own key mapping, the saved file's key format
    tol = 1e-2 if dtype == torch.bfloat16 else 0.0  # an fp32 adapter may sit in bf16 modules on the GPU
    loaded = sum(
        1
        for key, tensor in saved.items()
        if key in current and torch.allclose(current[key].float().cpu(), tensor.float(), rtol=tol, atol=tol)
    )
    batch = tokenizer("Write one short sentence about rivers.", return_tensors="pt").to(device)
    with torch.no_grad():
        adapted = model(**batch).logits.float()
        with model.disable_adapter():
            plain = model(**batch).logits.float()
    change = float((adapted - plain).abs().max())
    return {
        "ok": loaded == len(saved) and len(saved) > 0 and change > 0.0 and bool(torch.isfinite(adapted).all()),
        "tensors_saved": len(saved),
        "tensors_loaded": loaded,
        "max_logit_change": change,
    }


def pair_comparison(lora: Mapping[str, Any], agl: Mapping[str, Any], steps: int) -> dict[str, Any]:
    """Mean step time and peak memory of LoRA vs AGL (and their ratios) from two parsed runs."""

    def step_time(run: Mapping[str, Any]) -> float | None:
        runtime = run.get("train_metrics", {}).get("train_runtime")
        return float(runtime) / steps if runtime else None

    def peak(run: Mapping[str, Any]) -> float | None:
        values = [v for k, v in run.get("peak_memory", {}).items() if "alloc" in k]
        return max(values) if values else None

    out: dict[str, Any] = {}
    for label, fn in (("step_seconds", step_time), ("peak_memory_gib", peak)):
        a, b = fn(lora), fn(agl)
        out[label] = {"lora": a, "agl": b, "agl_over_lora": (b / a) if a and b else None}
    out["agl_fisher_seconds"] = agl.get("fisher_seconds")
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------------------------------


def run_case(cfg: Mapping[str, Any], work: Path, num_processes: int, device: str, timeout: float) -> dict[str, Any]:
    """Write the case's YAML, train it through the CLI (output in ``<output_dir>.log``), parse the result."""
    import yaml

    out_dir = Path(cfg["output_dir"])
    config_path = work / f"{out_dir.name}.yml"
    log_path = work / f"{out_dir.name}.log"
    config_path.write_text(yaml.safe_dump(dict(cfg), sort_keys=False), encoding="utf-8")
    cmd, env = launch_command(config_path, num_processes, device)
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        # Own process group: on timeout the launcher and every worker it started are stopped together.
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode: int | None = proc.wait(timeout=max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = None
    text = log_path.read_text(encoding="utf-8", errors="replace")
    result = {
        "config": str(config_path),
        "log": str(log_path),
        "returncode": returncode,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "num_processes": num_processes,
    }
    result.update(parse_run_log(text))
    if returncode != 0:
        result["error_tail"] = text.strip().splitlines()[-15:]
    return result


def check_agl_case(run: dict[str, Any], cfg: Mapping[str, Any], setting: str, device: str) -> dict[str, Any]:
    """The checks of one AlignGuard case (see the module docstring)."""
    out_dir = Path(cfg["output_dir"])
    checks: dict[str, Any] = {}
    if run["returncode"] != 0:
        return {"trained": {"ok": False, "returncode": run["returncode"]}}
    checks["trained"] = {"ok": True}
    checks["fisher_covers_targets"] = fisher_coverage(out_dir / FISHER_CACHE, out_dir)
    checks["agl_terms_logged"] = agl_terms_check(run["steps"])
    checks["adapter_loads_in_peft"] = peft_load_check(cfg["base_model"], out_dir, device)
    if device == "cuda" and setting == "qlora":
        checks["kernels_bypassed"] = {
            "ok": run["kernel_patches_undone"] > 0,
            "patches_undone": run["kernel_patches_undone"],
            "auto_enabled": run["kernels_auto_enabled"],
        }
    return checks


def environment(device: str) -> dict[str, Any]:
    """Versions and devices the smoke ran on."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    env: dict[str, Any] = {
        "python": platform.python_version(),
        **{name: ver(name) for name in ("torch", "axolotl", "transformers", "peft", "bitsandbytes", "flash-attn")},
        "device": device,
    }
    if device == "cuda" and torch.cuda.is_available():
        env["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return env


def all_ok(checks: Mapping[str, Mapping[str, Any]]) -> bool:
    return bool(checks) and all(bool(c.get("ok")) for c in checks.values())


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--model", help="local Hugging Face model directory (default: SmolLM2-135M-Instruct, built in .cache)"
    )
    parser.add_argument("--task-data", help="chat JSONL (messages) to fine-tune on (default: generated into --work)")
    parser.add_argument("--work", required=True, type=Path, help="directory for configs, logs and outputs")
    parser.add_argument("--out", required=True, type=Path, help="the JSON results file")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--gpus", type=int, help="GPUs for the FSDP2 cases (default: all visible)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--fisher-samples", type=int, default=64)
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, help="default: qlora fsdp2 (cpu: qlora only)")
    parser.add_argument("--wrap-cls", help="decoder layer class for FSDP2 (default: from the model)")
    parser.add_argument("--budget-seconds", type=float, default=DEFAULT_BUDGET_S)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    started = time.perf_counter()
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("gpu_smoke: no CUDA device visible (torch.cuda.is_available() is False); use a GPU machine")
            return 2
        gpus = args.gpus or torch.cuda.device_count()
    else:
        gpus = 1
    settings = args.settings or (["qlora", "fsdp2"] if args.device == "cuda" else ["qlora"])
    args.work.mkdir(parents=True, exist_ok=True)
    if args.model is None:
        from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint

        args.model = str(ensure_smollm2_checkpoint())
    if args.task_data is None:
        from axolotl_agl.experiments.compare import write_task_data

        args.task_data = str(write_task_data(args.work, n_train=TASK_EXAMPLES, n_eval=0)[0])
    flash = args.device == "cuda" and importlib.util.find_spec("flash_attn") is not None
    wrap_cls = args.wrap_cls or (decoder_layer_class(args.model) if "fsdp2" in settings else None)
    report: dict[str, Any] = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "environment": environment(args.device),
        "model": str(args.model),
        "steps": args.steps,
        "attention": "flash_attention + sample_packing" if flash else "sdpa (flash_attn not installed)",
        "cases": {},
        "checks": {},
        "comparison": {},
    }
    parsed: dict[str, dict[str, Any]] = {}
    for setting in settings:
        processes = gpus if setting == "fsdp2" else 1
        for method in METHODS:
            name = case_name(method, setting)
            remaining = args.budget_seconds - (time.perf_counter() - started)
            if remaining < 30:
                report["cases"][name] = {"skipped": f"time budget of {args.budget_seconds:.0f} s used up"}
                report["checks"][name] = {"trained": {"ok": False, "problem": "skipped: time budget"}}
                continue
            cfg = smoke_config(
                method,
                setting,
                model=args.model,
                task_data=args.task_data,
                work=args.work,
                steps=args.steps,
                device=args.device,
                flash_available=flash,
                wrap_cls=wrap_cls,
                fisher_samples=args.fisher_samples,
            )
            print(f"gpu_smoke: {name} on {processes} process(es) ...", flush=True)
            run = parsed[name] = run_case(cfg, args.work, processes, args.device, remaining)
            report["cases"][name] = {k: v for k, v in run.items() if k != "steps"} | {"logged_steps": len(run["steps"])}
            if method == "agl":
                report["checks"][name] = check_agl_case(run, cfg, setting, args.device)
            else:
                report["checks"][name] = {"trained": {"ok": run["returncode"] == 0, "returncode": run["returncode"]}}
        lora, agl = (parsed.get(case_name(m, setting)) for m in METHODS)
        if lora and agl:
            report["comparison"][setting] = pair_comparison(lora, agl, args.steps)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["ok"] = all(all_ok(c) for c in report["checks"].values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    for name, checks in report["checks"].items():
        failed = [k for k, c in checks.items() if not c.get("ok")]
        print(f"gpu_smoke: {name}: {'ok' if not failed else 'FAILED ' + ', '.join(failed)}")
    for setting, comp in report["comparison"].items():
        st, mem = comp["step_seconds"], comp["peak_memory_gib"]
        print(
            f"gpu_smoke: {setting}: step s LoRA {st['lora']} AGL {st['agl']}; peak GiB LoRA {mem['lora']} AGL {mem['agl']}"
        )
    print(f"gpu_smoke: {'PASS' if report['ok'] else 'FAIL'} in {report['seconds']} s; results in {args.out}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    raise SystemExit(main())
