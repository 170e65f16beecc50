"""Drift sweep: fine-tune the aligned SmolLM2-135M on a benign task with each defence at several strengths.

Every method has ONE strength knob swept over >= 4 values (:data:`SWEEP`), with the same task data, steps, learning
rate, seeds and evaluation. Each run's identity is the sha256 of its full resolved config (method, knob value,
seed, the Axolotl config with file paths replaced by content hashes, data fingerprints, the aligned base's recipe
fingerprint, the evaluation settings and judge); a finished run writes
``benchmarks/results/runs/<method>-<value>-s<seed>-<hash12>.json`` (metrics, per-prompt 0/1 outcomes keyed by prompt
id, timings, the identity) and commits that one file. A run whose JSON exists is never run again, so the sweep is
resumed across sessions and machines by running the same command; ``benchmarks/pareto.py`` reads only these files.

Training goes through ``accelerate launch -m axolotl.cli.train``; each run is then evaluated on its own
(``drift_eval.evaluate_run``). The aligned base is evaluated once per evaluation setting as the reference
(``aligned-ref-<hash12>.json``). Post-hoc methods (Safe LoRA, SafeMERGE) transform the plain-LoRA adapter of the
same seed. The peers' code is :mod:`axolotl_agl.experiments.peers`; AsFT and SafeMERGE read the alignment LoRA whose
merge built the aligned base (the ``adapter`` recorded in ``<aligned>/agl_source.json``), Safe LoRA the
pre-alignment checkpoint (``--unaligned``), constrained SFT the aligned base itself (the adapter-disabled model).

    nice -n 5 .venv/bin/python benchmarks/drift.py --methods lora agl --seeds 0        # a first slice
    .venv/bin/python benchmarks/drift.py --dry-run                                      # the plan: done / to do
    nice -n 5 .venv/bin/python benchmarks/drift.py --seeds 0 1 2 --until 12:40         # resume; no start after 12:40
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from axolotl_agl.data import default_alignment_path, driftcheck_mini_path  # noqa: E402
from axolotl_agl.experiments.compare import EVAL_SEED, base_config, file_sha256, train_config, write_task_data  # noqa: E402
from axolotl_agl.experiments.compare import method_config as shared_method_config  # noqa: E402
from axolotl_agl.utils.io import atomic_write_json, read_jsonl, write_jsonl  # noqa: E402

#: Bump when the run JSON or the identity's layout changes (old files are then a different group, never mixed).
SWEEP_SCHEMA = 1
RUNS_DIR = REPO / "benchmarks" / "results" / "runs"


@dataclass(frozen=True)
class MethodSpec:
    """One method of the sweep and its single strength knob.

    Attributes:
        knob: Name of the strength knob (None for the plain-LoRA reference).
        values: Knob values swept (the reference has the single value None).
        kind: ``reference`` (plain LoRA), ``train`` (a training run) or ``post_hoc`` (transforms the plain-LoRA
            adapter of the same seed; no training).
        revision: Part of the run identity; bump when the method's code changes what a run produces.
        module: Module the method's code lives in (recorded in a post-hoc run's identity).
        note: One line on what the knob does (printed by ``--dry-run``).
    """

    knob: str | None
    values: tuple[float | None, ...]
    kind: str
    revision: int = 1
    module: str | None = None
    note: str = ""


_PEERS = "axolotl_agl.experiments.peers."

#: The sweep. Values go from weak (close to plain LoRA) to strong, so the task accuracy of LoRA − 1 point is bracketed.
SWEEP: dict[str, MethodSpec] = {
    "lora": MethodSpec(None, (None,), "reference", note="plain LoRA, the reference every curve is compared with"),
    "agl": MethodSpec("lambda_A", (3.0, 10.0, 30.0, 100.0), "train", note="alignguard.lambda_alignment"),
    "agl_cf": MethodSpec(
        "lambda_A",
        (0.01, 1.0, 3.0, 30.0),
        "train",
        note="AGL with a counterfactual Fisher: unsafe prompts paired with task replies (fisher_type empirical)",
    ),
    "agl_cf_safe": MethodSpec(
        "lambda_A",
        (3.0, 10.0, 30.0, 100.0),
        "train",
        note="agl_cf plus as many safe look-alike prompts with their own answers in the same Fisher",
    ),
    "agl_cf_mcsafe": MethodSpec(
        "lambda_A",
        (3.0, 10.0, 30.0, 100.0),
        "train",
        note="agl_cf plus safe look-alike prompts with replies sampled from the aligned model (their true Fisher)",
    ),
    "agl_cf2": MethodSpec(
        "lambda_A",
        (3.0, 10.0, 30.0, 100.0),
        "train",
        note="two-sided counterfactual Fisher: agl_cf's rows plus safe look-alike prompts paired with refusals",
    ),
    "replay": MethodSpec(
        "fraction", (0.05, 0.1, 0.2, 0.35), "train", note="share of alignment rows in the training mix"
    ),
    "safelora": MethodSpec(
        "threshold", (0.05, 0.1, 0.2, 0.35), "post_hoc", module=_PEERS + "safelora", note="project the layers below it"
    ),
    "l2": MethodSpec("weight", (0.01, 0.03, 0.1, 0.3), "train", module=_PEERS + "l2", note="λ of λ·Σ‖ΔW‖²"),
    "ewc": MethodSpec("weight", (10.0, 100.0, 1e3, 1e4), "train", module=_PEERS + "ewc", note="λ of F⊙ΔW²"),
    "constrained_sft": MethodSpec(
        "beta", (0.03, 0.1, 0.3, 1.0), "train", module=_PEERS + "constrained_sft", note="β of the token-wise constraint"
    ),
    "asft": MethodSpec("lambda", (0.1, 1.0, 10.0, 100.0), "train", module=_PEERS + "asft", note="λ·‖(I − Ĉ)ΔW‖²"),
    "safemerge": MethodSpec(
        "tau", (0.1, 0.2, 0.35, 0.5), "post_hoc", module=_PEERS + "safemerge", note="merge the safety LoRA below τ"
    ),
}


# ---------------------------------------------------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------------------------------------------------

#: Machine-specific keys left out of the identity. The aligned base (``base_model``) and the alignment LoRA that built
#: it (``alignment_adapter``, AsFT's direction) are identified by the base's recipe fingerprint instead.
_DROPPED_KEYS = ("output_dir", "dataset_prepared_path", "fisher_cache_path", "base_model", "alignment_adapter")
_HASHES: dict[tuple[str, int, int], str] = {}


def content_hash(path: Path) -> str:
    """``sha256:<hex>`` of a file (memoised on path, size and mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = "sha256:" + file_sha256(path)
    return _HASHES[key]


def portable(value: Any) -> Any:
    """``value`` without machine-specific paths: output/cache/base-model keys dropped, files replaced by their hash.

    A string naming an existing file becomes ``sha256:<hex>`` of its content; any other absolute path becomes
    ``<path>`` (a folder's identity is recorded separately, e.g. the aligned base's recipe fingerprint).
    """
    if isinstance(value, Mapping):
        return {str(k): portable(v) for k, v in value.items() if k not in _DROPPED_KEYS}
    if isinstance(value, (list, tuple)):
        return [portable(v) for v in value]
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str) and os.path.isabs(value):
        path = Path(value)
        return content_hash(path) if path.is_file() else "<path>"
    return value


def identity_key(identity: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of ``identity``."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_value(value: float | None) -> str:
    """A knob value as it appears in file names: ``none``, ``10``, ``0.05``, ``1e+04``."""
    return "none" if value is None else f"{value:g}"


def run_file_name(method: str, value: float | None, seed: int, key: str) -> str:
    """``<method>-<value>-s<seed>-<hash12>.json``."""
    return f"{method}-{format_value(value)}-s{seed}-{key[:12]}.json"


def aligned_recipe_fingerprint(aligned: Path) -> dict[str, Any]:
    """What identifies the aligned base across machines: the recipe sha256 its builder recorded.

    Falls back to the sha256 of its weights when the folder has no ``agl_source.json`` recipe (e.g. a test model).
    """
    source = aligned / "agl_source.json"
    if source.is_file():
        recipe = json.loads(source.read_text(encoding="utf-8")).get("recipe_sha256")
        if recipe:
            return {"recipe_sha256": recipe}
    return {"weights": [content_hash(p) for p in sorted(aligned.glob("*.safetensors"))]}


def eval_identity(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation part of a run's identity: settings, prompt-file hashes and the judge."""
    from drift_eval import judge_fingerprint

    xstest = settings.get("xstest")
    return {
        "limit_per_set": settings["limit_per_set"],
        "task_items": settings["task_items"],
        "eval_seed": settings["eval_seed"],
        "max_new_tokens": settings["max_new_tokens"],
        "batch_size": settings["batch_size"],
        "loading": "adapter merged into the aligned base, float32",
        "driftcheck_mini": content_hash(driftcheck_mini_path()),
        "xstest": None if xstest is None else content_hash(Path(xstest)),
        "judge": judge_fingerprint(),
    }


# ---------------------------------------------------------------------------------------------------------------------
# Method configs
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class SweepContext:
    """Everything a method's config builder needs besides the knob value.

    ``alignment_adapter`` is the LoRA adapter whose merge built the aligned base (AsFT's direction and SafeMERGE's
    safety LoRA), as recorded in ``<aligned>/agl_source.json``; None when nothing is recorded (e.g. a dry run before
    the base is built).
    """

    work: Path
    aligned: Path
    unaligned: Path
    task_path: Path
    steps: int
    lr: float
    fisher_samples: int
    n_train: int
    recipe: dict[str, Any]
    eval_settings: dict[str, Any]
    eval_id: dict[str, Any] = field(default_factory=dict)
    alignment_adapter: Path | None = None


def replay_rows(fraction: float, n_task: int, alignment_path: Path, seed: int = 0) -> list[dict[str, Any]]:
    """Alignment rows to mix into ``n_task`` task rows so they make up ``fraction`` of the mix.

    ``round(fraction / (1 − fraction) · n_task)`` rows drawn without replacement with a fixed seed (the same rows for
    every training seed), at most all of them.

    Raises:
        ValueError: if ``fraction`` is not in (0, 1).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"replay fraction must be in (0, 1), got {fraction}")
    rows = read_jsonl(alignment_path)
    count = min(len(rows), round(fraction / (1 - fraction) * n_task))
    return random.Random(seed).sample(rows, count)


#: Reply tokens the counterfactual Fisher counts (the opening of a reply decides refusal vs compliance).
CF_REPLY_TOKENS = 8


def counterfactual_rows(alignment_path: Path, task_path: Path, seed: int = 0) -> list[dict[str, Any]]:
    """Each unsafe alignment prompt paired with a task reply drawn with a fixed seed (an experimental Fisher target).

    The empirical Fisher of these pairs has large curvature exactly in the directions that make the model answer an
    unsafe prompt the way the fine-tune answers its task prompts (format takeover: "Sure! ..."), where the aligned
    model's own (near-deterministic) refusal gives almost none (``docs/method.md`` §1).
    """
    replies = [row["messages"][-1]["content"] for row in read_jsonl(task_path)]
    rng = random.Random(seed)
    rows = []
    for row in read_jsonl(alignment_path):
        if row.get("label") != "unsafe":
            continue
        prompt = next(m["content"] for m in row["messages"] if m["role"] == "user")
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": rng.choice(replies)}]
        rows.append({"messages": messages, "label": "unsafe", "kind": "counterfactual"})
    return rows


def counterfactual_overrides(path: Path, samples: int | None = None) -> dict[str, Any]:
    """The ``alignguard:`` keys of the counterfactual variants: the rows at ``path``, empirical Fisher over the first
    :data:`CF_REPLY_TOKENS` reply tokens, and ``samples`` Fisher examples when given (else the sweep's count)."""
    overrides: dict[str, Any] = {
        "alignment_datasets": [{"path": str(path), "type": "chat_template"}],
        "fisher_type": "empirical",
        "fisher_reply_tokens": CF_REPLY_TOKENS,
    }
    if samples is not None:
        overrides["fisher_num_samples"] = samples
    return overrides


def lookalike_rows(alignment_path: Path) -> list[dict[str, Any]]:
    """The alignment data's safe look-alike rows (prompts that share words with harmful requests), with their answers."""
    return [row for row in read_jsonl(alignment_path) if row.get("kind") == "lookalike"]


def interleave(first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``first[0], second[0], first[1], second[1], ...`` up to the shorter of the two: both kinds are then in the first
    ``fisher_num_samples`` rows of the Fisher pass."""
    return [row for pair in zip(first, second, strict=False) for row in pair]


def with_lookalikes(rows: list[dict[str, Any]], alignment_path: Path) -> list[dict[str, Any]]:
    """``rows`` interleaved with :func:`lookalike_rows` (their own helpful answers).

    In an empirical Fisher these add the curvature of "answer a harm-sounding safe prompt the way the aligned model
    does", so the penalty also resists an update that makes the model refuse them (over-refusal).
    """
    return interleave(rows, [dict(row, kind="lookalike") for row in lookalike_rows(alignment_path)])


def refusal_counterfactual_rows(alignment_path: Path, seed: int = 0) -> list[dict[str, Any]]:
    """Each safe look-alike prompt paired with a refusal drawn (seeded) from the unsafe rows' own refusals.

    The mirror image of :func:`counterfactual_rows`: there the Fisher's reply is the failure on an unsafe prompt
    (answering it like the task), here it is the failure on a harm-sounding safe one (refusing it). Where the aligned
    model answers such a prompt, ``p(refusal | prompt)`` is small, so the gradient of its log-likelihood is large
    exactly along the update that would make the model start refusing it (over-refusal): a first-order measure, where
    the model's own answer (``agl_cf_safe``) or a sampled one (``agl_cf_mcsafe``) gives a curvature that vanishes
    where the model answers confidently (``docs/method.md`` §1).
    """
    rows = read_jsonl(alignment_path)
    refusals = [row["messages"][-1]["content"] for row in rows if row.get("label") == "unsafe"]
    rng = random.Random(seed)
    out = []
    for row in lookalike_rows(alignment_path):
        prompt = next(m["content"] for m in row["messages"] if m["role"] == "user")
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": rng.choice(refusals)}]
        out.append({"messages": messages, "label": "safe", "kind": "refusal_counterfactual"})
    return out


def _configure_agl_cf2(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
    unsafe = counterfactual_rows(default_alignment_path(), ctx.task_path)
    rows = interleave(unsafe, refusal_counterfactual_rows(default_alignment_path()))
    path = write_jsonl(ctx.work / "agl_cf2_alignment.jsonl", rows)
    return _agl_config(cfg, value, ctx, "agl_cf2_fisher", counterfactual_overrides(path, 2 * ctx.fisher_samples))


def _configure_agl_cf_safe(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
    rows = with_lookalikes(counterfactual_rows(default_alignment_path(), ctx.task_path), default_alignment_path())
    path = write_jsonl(ctx.work / "agl_cf_safe_alignment.jsonl", rows)
    return _agl_config(cfg, value, ctx, "agl_cf_safe_fisher", counterfactual_overrides(path, 2 * ctx.fisher_samples))


def sample_lookalike_replies(aligned: Path, alignment_path: Path, count: int, tokens: int, seed: int = 0) -> list[dict]:
    """The first ``count`` safe look-alike prompts, each with a ``tokens``-token reply *sampled* from the aligned model
    (temperature 1, no top-k/top-p), seeded per prompt.

    The empirical Fisher of model-sampled replies is a one-sample Monte-Carlo estimate of the true Fisher at those
    prompts: the Hessian of the KL between the aligned model's reply distribution and the fine-tuned one's, which
    does not vanish where the model is unsure whether to answer or refuse (the prompts where over-refusal grows).
    """
    import torch

    from axolotl_agl.drift.generate import ModelSpec, load_model_and_tokenizer, render_chat_prompts

    model, tokenizer = load_model_and_tokenizer(ModelSpec("aligned", str(aligned), None))
    rows = lookalike_rows(alignment_path)[:count]
    out = []
    for i, row in enumerate(rows):
        prompt = next(m["content"] for m in row["messages"] if m["role"] == "user")
        (text,) = render_chat_prompts(tokenizer, [prompt])
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
        torch.manual_seed(seed * 1_000_003 + i)
        with torch.no_grad():
            new = model.generate(**ids, do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=tokens,
                                 pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)  # fmt: skip
        reply = tokenizer.decode(new[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
        out.append({"messages": messages, "label": "safe", "kind": "lookalike_sampled"})
    return out


def _configure_agl_cf_mcsafe(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
    path = ctx.work / f"agl_cf_mcsafe_alignment-{identity_key(ctx.recipe)[:12]}-n{ctx.fisher_samples}.jsonl"
    if not path.is_file():
        sampled = sample_lookalike_replies(ctx.aligned, default_alignment_path(), ctx.fisher_samples, CF_REPLY_TOKENS)
        unsafe = counterfactual_rows(default_alignment_path(), ctx.task_path)
        write_jsonl(path, interleave(unsafe, sampled))
    overrides = counterfactual_overrides(path, 2 * ctx.fisher_samples)
    return _agl_config(cfg, value, ctx, "agl_cf_mcsafe_fisher", overrides)


def _configure_agl_cf(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
    path = write_jsonl(
        ctx.work / "agl_cf_alignment.jsonl", counterfactual_rows(default_alignment_path(), ctx.task_path)
    )
    return _agl_config(cfg, value, ctx, "agl_cf_fisher", counterfactual_overrides(path))


def _configure_lora(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
    return cfg


def _configure_agl(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
    return _agl_config(cfg, value, ctx, "agl_fisher")


def _agl_config(
    cfg: dict, value: float | None, ctx: SweepContext, cache_stem: str, overrides: dict | None = None
) -> dict:
    """``cfg`` with AlignGuard at λ_A = ``value``; its Fisher cache is keyed by the aligned base and sample count."""
    recipe = identity_key(ctx.recipe)[:12]
    return shared_method_config(
        "agl",
        cfg,
        agl_lambda=float(value),
        fisher_samples=ctx.fisher_samples,
        fisher_cache_path=ctx.work / f"{cache_stem}-{recipe}-n{ctx.fisher_samples}.safetensors",
        alignguard_overrides={**SWEEP_AGL_KEYS, **(overrides or {})},
    )


def _configure_replay(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
    rows = replay_rows(float(value), ctx.n_train, default_alignment_path())
    path = write_jsonl(ctx.work / "data" / f"replay-{format_value(value)}.jsonl", rows)
    cfg = dict(cfg)
    cfg["datasets"] = cfg["datasets"] + [{"path": str(path), "type": "chat_template", "field_messages": "messages"}]
    return cfg


def _configure_peer(method: str) -> Callable[[dict, float | None, SweepContext], dict]:
    """A training-time peer of :mod:`axolotl_agl.experiments.peers`: its plugin and ``peer_baseline`` block, with
    the knob as ``peer_baseline.weight`` (λ for l2 / ewc / asft, β for constrained_sft).

    What each peer reads besides the knob: ``ewc`` its Fisher pass settings (sample count, a cache per aligned base);
    ``asft`` the alignment LoRA (``peer_baseline.alignment_adapter`` = ``ctx.alignment_adapter``; left to the peer's
    own default, the same ``agl_source.json`` record, when the context has none); ``constrained_sft`` the aligned
    model, which is ``base_model`` itself (the reference is the model with its LoRA adapter disabled).
    """

    def configure(cfg: dict, value: float | None, ctx: SweepContext) -> dict:
        cfg = dict(cfg)
        cfg["plugins"] = ["axolotl_agl.experiments.peers.PeerPlugin"]
        block: dict[str, Any] = {"method": method, "weight": float(value)}
        if method == "ewc":
            block["fisher_num_samples"] = ctx.fisher_samples
            block["fisher_cache_path"] = str(ctx.work / f"ewc_fisher-{identity_key(ctx.recipe)[:12]}.safetensors")
        if method == "asft" and ctx.alignment_adapter is not None:
            block["alignment_adapter"] = str(ctx.alignment_adapter)
        cfg["peer_baseline"] = block
        return cfg

    return configure


#: Training-config builders (post-hoc methods have none: they transform the LoRA adapter, see :func:`execute`).
CONFIGURE: dict[str, Callable[[dict, float | None, SweepContext], dict]] = {
    "lora": _configure_lora,
    "agl": _configure_agl,
    "agl_cf": _configure_agl_cf,
    "agl_cf_safe": _configure_agl_cf_safe,
    "agl_cf_mcsafe": _configure_agl_cf_mcsafe,
    "agl_cf2": _configure_agl_cf2,
    "replay": _configure_replay,
    **{m: _configure_peer(m) for m in ("l2", "ewc", "constrained_sft", "asft")},
}


#: ``alignguard:`` keys added after sweep runs were recorded, with the value that reproduces the runs before them: left
#: out of a run's identity at that value, so adding such a key does not turn finished runs into runs to do.
_LATER_KEYS = {"fisher_replies": "alignment", "overlap_module_fraction": 1.0}

#: ``alignguard:`` keys every AGL run of the sweep sets: the overlap of every module, as in the runs recorded before
#: ``overlap_module_fraction`` existed (its default, 0.25, is an unbiased estimate of the same term; docs/method.md).
SWEEP_AGL_KEYS = {"overlap_module_fraction": 1.0}


def resolved_train_identity(method: str, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The training config as it enters the identity: portable, with the ``alignguard:`` / ``peer_baseline:`` blocks
    resolved to every default (a changed default is a new run)."""
    out = portable(cfg)
    if "alignguard" in cfg and method.startswith("agl"):
        from axolotl_agl.integration.args import AlignGuardConfig

        block = AlignGuardConfig.model_validate(dict(cfg["alignguard"])).model_dump(mode="json")
        for key, value in _LATER_KEYS.items():  # keys added after runs were made, at the value that changes nothing
            if block.get(key) == value:
                block.pop(key)
        out["alignguard"] = portable(block)
    if "peer_baseline" in cfg:
        from axolotl_agl.experiments.peers.config import PeerConfig

        # The alignment LoRA's path is left out (identified by the aligned base's recipe; checked before training),
        # so a dry run before the base is built plans the same keys.
        block = {k: v for k, v in dict(cfg["peer_baseline"]).items() if k != "alignment_adapter"}
        out["peer_baseline"] = portable(PeerConfig.model_validate(block).model_dump(mode="json"))
    return out


# ---------------------------------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class PlannedRun:
    """One cell of the sweep: a method at one knob value and seed, with its identity and file."""

    method: str
    value: float | None
    seed: int | None
    identity: dict[str, Any]
    key: str
    path: Path
    cfg: dict[str, Any] | None = None
    parent: PlannedRun | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg["output_dir"]) if self.cfg else Path()


def group_identity(ctx: SweepContext) -> dict[str, Any]:
    """What every run of one comparison shares (base, task data, steps, lr, common LoRA config, evaluation)."""
    common = base_config(ctx.aligned, ctx.task_path, ctx.work / "x", 0, ctx.steps, ctx.lr)
    common.pop("seed")
    return {"schema": SWEEP_SCHEMA, "aligned_base": ctx.recipe, "train": portable(common), "eval": ctx.eval_id}


def reference_identity(ctx: SweepContext) -> dict[str, Any]:
    """Identity of the aligned base's own evaluation."""
    return {"schema": SWEEP_SCHEMA, "method": "aligned", "aligned_base": ctx.recipe, "eval": ctx.eval_id}


def plan_run(method: str, value: float | None, seed: int, ctx: SweepContext, runs_dir: Path) -> PlannedRun:
    """The identity, file and (for trained methods) Axolotl config of one run."""
    spec = SWEEP[method]
    alignment = content_hash(default_alignment_path())
    if spec.kind == "post_hoc":
        parent = plan_run("lora", None, seed, ctx, runs_dir)
        identity = {
            "schema": SWEEP_SCHEMA,
            "method": method,
            "revision": spec.revision,
            "knob": spec.knob,
            "value": value,
            "seed": seed,
            "parent": parent.key,
            "implementation": spec.module,
            "aligned_base": ctx.recipe,
            "eval": ctx.eval_id,
        }
        key = identity_key(identity)
        return PlannedRun(method, value, seed, identity, key, runs_dir / run_file_name(method, value, seed, key), None,
                          parent)  # fmt: skip
    cfg = base_config(ctx.aligned, ctx.task_path, ctx.work / "runs" / "out", seed, ctx.steps, ctx.lr)
    cfg = CONFIGURE[method](cfg, value, ctx)
    identity = {
        "schema": SWEEP_SCHEMA,
        "method": method,
        "revision": spec.revision,
        "knob": spec.knob,
        "value": value,
        "seed": seed,
        "train": resolved_train_identity(method, cfg),
        "data": {"task_train": content_hash(ctx.task_path), "alignment_default": alignment},
        "aligned_base": ctx.recipe,
        "eval": ctx.eval_id,
    }
    key = identity_key(identity)
    path = runs_dir / run_file_name(method, value, seed, key)
    cfg["output_dir"] = str(ctx.work / "runs" / path.stem)
    cfg["dataset_prepared_path"] = str(ctx.work / "runs" / f"prepared-{path.stem}")
    return PlannedRun(method, value, seed, identity, key, path, cfg)


def build_plan(
    methods: Sequence[str], seeds: Sequence[int], ctx: SweepContext, runs_dir: Path, values: Mapping[str, Sequence]
) -> list[PlannedRun]:
    """Runs in order: per seed, each method (plain LoRA first), each knob value from weak to strong."""
    ordered = sorted(dict.fromkeys(methods), key=lambda m: (m != "lora", list(SWEEP).index(m)))
    plan = []
    for seed in seeds:
        for method in ordered:
            for value in values.get(method, SWEEP[method].values):
                plan.append(plan_run(method, value, seed, ctx, runs_dir))
    return plan


# ---------------------------------------------------------------------------------------------------------------------
# Running one cell
# ---------------------------------------------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    """Versions and the git commit (recorded in each run file; not part of the identity)."""
    versions = {}
    for dist in ("torch", "transformers", "peft", "axolotl", "accelerate"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        git_commit = commit.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        git_commit = None
    return {"versions": versions, "git_commit": git_commit, "cpu_count": os.cpu_count()}


def commit_file(path: Path, message: str, attempts: int = 20) -> bool:
    """``git add -f <path> && git commit -m <message> -- <path>`` (only that file), retrying while the index is locked.

    ``-f`` because the repository's ``.gitignore`` ignores ``runs/`` folders. Returns True when committed.
    """
    rel = str(path.resolve().relative_to(REPO))
    for _ in range(attempts):
        add = subprocess.run(["git", "add", "-f", "--", rel], cwd=REPO, capture_output=True, text=True)
        if add.returncode == 0:
            done = subprocess.run(["git", "commit", "-q", "-m", message, "--", rel], cwd=REPO, capture_output=True,
                                  text=True)  # fmt: skip
            if done.returncode == 0:
                return True
            if "index.lock" not in done.stderr:
                print(f"    git commit of {rel} failed: {done.stderr.strip() or done.stdout.strip()}", flush=True)
                return False
        elif "index.lock" not in add.stderr:
            print(f"    git add of {rel} failed: {add.stderr.strip()}", flush=True)
            return False
        time.sleep(3)
    print(f"    git index stayed locked; {rel} is written but not committed", flush=True)
    return False


def write_run_file(run: PlannedRun, evaluation: Mapping[str, Any], extra: Mapping[str, Any], group: str,
                   reference: str, timings: Mapping[str, Any]) -> Path:  # fmt: skip
    """The run's JSON (atomic write): identity, metrics, per-prompt outcomes, timings, environment."""
    spec = SWEEP.get(run.method)
    payload = {
        "kind": "axolotl_agl.benchmarks.sweep_run",
        "schema": SWEEP_SCHEMA,
        "name": run.name,
        "key": run.key,
        "group": group,
        "reference": reference,
        "method": run.method,
        "knob": None if spec is None else spec.knob,
        "value": run.value,
        "seed": run.seed,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "metrics": evaluation["metrics"],
        "counts": evaluation.get("counts"),
        "per_prompt": evaluation["per_prompt"],
        "timings": {**dict(timings), **{f"{k}_seconds": v for k, v in evaluation["seconds"].items()}},
        "extra": dict(extra),
        "environment": environment(),
        "identity": run.identity,
    }
    return atomic_write_json(run.path, payload, indent=1)


def ensure_adapter(run: PlannedRun) -> tuple[Path, list[dict], float]:
    """Train ``run`` unless its adapter exists (also when only its JSON survived, e.g. for a post-hoc child)."""
    started = time.perf_counter()
    out_dir, logs = train_config(run.cfg, run.run_dir.parent / f"{run.name}.yml")
    return out_dir, logs, time.perf_counter() - started


def transform_adapter(run: PlannedRun, adapter: Path, out: Path, ctx: SweepContext) -> dict[str, Any]:
    """The post-hoc methods on the plain-LoRA ``adapter``, written to ``out`` as a plain PEFT adapter.

    ``safelora``: Safe LoRA's projection, directions ``W_aligned − W_unaligned`` from the two checkpoints.
    ``safemerge``: SafeMERGE's merge of the safety LoRA = ``ctx.alignment_adapter`` (the LoRA that built the aligned
    base). The knob is ``run.value``. Returns the transform's summary (kept in the run file's ``extra``).

    Raises:
        ValueError: for a method that is not post hoc.
    """
    if run.method == "safelora":
        from axolotl_agl.experiments.peers import safelora_project

        return safelora_project(ctx.aligned, ctx.unaligned, adapter, out, float(run.value))
    if run.method == "safemerge":
        from axolotl_agl.experiments.peers import safemerge_adapter

        return safemerge_adapter(ctx.aligned, adapter, out, float(run.value), safety_adapter=ctx.alignment_adapter)
    raise ValueError(f"{run.method} is not a post-hoc method")


def execute(run: PlannedRun, ctx: SweepContext, group: str, reference: str, commit: bool, progress: bool) -> Path:
    """Train (or derive) one run, evaluate it, write and commit its JSON."""
    from drift_eval import evaluate_run

    load_start = os.getloadavg()[0]
    extra: dict[str, Any] = {}
    if SWEEP[run.method].kind == "post_hoc":
        parent_dir, _, train_seconds = ensure_adapter(run.parent)
        model = ctx.work / "runs" / run.name
        started = time.perf_counter()
        extra[run.method] = transform_adapter(run, parent_dir, model, ctx)
        timings = {
            "train_seconds": round(train_seconds, 1),
            "transform_seconds": round(time.perf_counter() - started, 1),
        }
    else:
        model, logs, train_seconds = ensure_adapter(run)
        timings = {"train_seconds": round(train_seconds, 1)}
        extra["last_step_log"] = logs[-1] if logs else None
        extra["logged_steps"] = len(logs)
    evaluation = evaluate_run(model, run.name, ctx.aligned, ctx.work / "evals", ctx.eval_settings, progress)
    timings["load_average"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    path = write_run_file(run, evaluation, extra, group, reference, timings)
    if commit:
        commit_file(path, f"sweep run {run.name}")
    return path


def execute_reference(ctx: SweepContext, runs_dir: Path, group: str, commit: bool, progress: bool) -> Path:
    """The aligned base's evaluation (``aligned-ref-<hash12>.json``), once per evaluation setting."""
    from drift_eval import evaluate_run

    identity = reference_identity(ctx)
    key = identity_key(identity)
    path = runs_dir / f"aligned-ref-{key[:12]}.json"
    if path.is_file():
        return path
    print(f"\n=== aligned base: evaluation -> {path.name}", flush=True)
    run = PlannedRun("aligned", None, None, identity, key, path)
    evaluation = evaluate_run(ctx.aligned, "aligned", ctx.aligned, ctx.work / "evals", ctx.eval_settings, progress)
    write_run_file(run, evaluation, {}, group, key, {})
    if commit:
        commit_file(path, f"sweep reference {path.stem}")
    return path


# ---------------------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------------------


def parse_values(items: Sequence[str]) -> dict[str, list[float]]:
    """``["agl=1,3,10", ...]`` -> ``{"agl": [1.0, 3.0, 10.0]}``.

    Raises:
        ValueError: for an unknown method or a malformed item.
    """
    out: dict[str, list[float]] = {}
    for item in items:
        method, sep, text = item.partition("=")
        if not sep or method not in SWEEP or SWEEP[method].knob is None:
            knobbed = sorted(m for m, spec in SWEEP.items() if spec.knob is not None)
            raise ValueError(f"--values {item!r}: expected <method>=v1,v2,... for one of {knobbed}")
        out[method] = [float(v) for v in text.split(",") if v]
    return out


def chosen_values(summary: Mapping[str, Any]) -> dict[str, list[float]]:
    """``{method: [low, high]}``: the knob values that bracket each method's equal-accuracy point in a
    ``pareto.json`` (one value when a swept value hits the target); methods that did not reach it are left out."""
    out = {}
    for method, entry in summary["methods"].items():
        found = (entry.get("equal_accuracy") or {}).get("bracket")
        if found is not None:
            out[method] = list(dict.fromkeys([found["low"], found["high"]]))
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(SWEEP), choices=list(SWEEP), help="default: all")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--values", nargs="*", default=[], help="override a method's sweep, e.g. agl=1,3,10,30")
    parser.add_argument(
        "--chosen-points",
        type=Path,
        default=None,
        help="a pareto.json: run only each method's two knob values that bracket the equal-accuracy target "
        "(for the extra seeds of the intervals); methods that did not reach it are skipped",
    )
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--fisher-samples", type=int, default=128)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=60, help="prompts per prompt set (label-stratified)")
    parser.add_argument("--task-eval", type=int, default=120, help="held-out task items")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--eval-seed", type=int, default=EVAL_SEED)
    parser.add_argument("--aligned", type=Path, default=None, help="aligned base folder (default: the current build)")
    parser.add_argument("--unaligned", type=Path, default=None, help="SmolLM2-135M-Instruct folder (Safe LoRA)")
    parser.add_argument("--xstest", type=Path, default=None, help="XSTest CSV (default: ../shared/data if present)")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "sweep", help="adapters and scratch files")
    parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR)
    parser.add_argument("--until", default=None, help="UTC HH:MM after which no new run starts")
    parser.add_argument("--max-runs", type=int, default=None, help="stop after this many new runs")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and what is done, run nothing")
    parser.add_argument("--no-commit", action="store_true", help="write run files without committing them")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def deadline_of(until: str | None, now: float | None = None) -> float | None:
    """Epoch seconds of ``HH:MM`` UTC today (None for None).

    Raises:
        ValueError: for anything but ``HH:MM``.
    """
    if until is None:
        return None
    hours, sep, minutes = until.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"--until {until!r}: expected a UTC time HH:MM")
    day = time.gmtime(time.time() if now is None else now)
    return float(calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, int(hours), int(minutes), 0)))


def _resolve_models(args: argparse.Namespace) -> tuple[Path, Path]:
    """``(aligned, unaligned)`` folders. The default aligned base must be the current build, except for a dry run
    (which then plans with the recipe the build will record, see :func:`sweep_recipe`)."""
    from axolotl_agl.experiments.aligned_base import ALIGNED_NAME, is_current
    from axolotl_agl.experiments.smollm2 import CHECKPOINT_NAME

    cache = Path(os.environ["AGL_CACHE_DIR"]).expanduser() if os.environ.get("AGL_CACHE_DIR") else REPO / ".cache"
    aligned = args.aligned or cache / ALIGNED_NAME
    unaligned = args.unaligned or cache / CHECKPOINT_NAME
    if args.aligned is None and not is_current(aligned):
        if args.dry_run:
            return aligned, unaligned
        raise SystemExit(
            f"--aligned: no current aligned base in {aligned}; build it first with "
            "`.venv/bin/python -m axolotl_agl.experiments.aligned_base` (or pass --aligned DIR)"
        )
    if not (aligned / "config.json").is_file():
        raise SystemExit(f"--aligned: {aligned} holds no model (config.json)")
    return aligned, unaligned


def sweep_recipe(aligned: Path, explicit: bool) -> tuple[dict[str, Any], bool]:
    """``(fingerprint, built)``: the aligned base's fingerprint for the run identities, and whether it is built.

    The default base (``explicit`` False) that is not the current build is planned with the recipe sha256 its build
    will record (:func:`axolotl_agl.experiments.aligned_base.alignment_recipe_fingerprint`), so a dry run before the
    build lists the same keys as the sweep after it.
    """
    from axolotl_agl.experiments.aligned_base import alignment_recipe_fingerprint, is_current

    if not explicit and not is_current(aligned):
        return {"recipe_sha256": alignment_recipe_fingerprint()}, False
    return aligned_recipe_fingerprint(aligned), True


def recorded_alignment_adapter(aligned: Path) -> Path | None:
    """The LoRA adapter whose merge built ``aligned`` (``agl_source.json``'s ``adapter``), or None if not recorded."""
    from axolotl_agl.experiments.peers.directions import alignment_adapter_of

    return alignment_adapter_of(aligned)


def missing_inputs(methods: Sequence[str], ctx: SweepContext) -> list[str]:
    """What the chosen methods need and ``ctx`` lacks, one sentence each (empty when every input is there).

    Safe LoRA needs the pre-alignment checkpoint; AsFT and SafeMERGE the alignment LoRA recorded in the aligned base
    (an adapter directory: ``adapter_config.json`` + weights).
    """
    problems = []
    if "safelora" in methods and not (ctx.unaligned / "config.json").is_file():
        problems.append(f"--unaligned: {ctx.unaligned} not found; Safe LoRA needs the pre-alignment weights")
    needs_lora = [m for m in methods if m in ("asft", "safemerge")]
    adapter = ctx.alignment_adapter
    if needs_lora and (adapter is None or not (adapter / "adapter_config.json").is_file()):
        where = (
            f"{ctx.aligned}/agl_source.json records no adapter"
            if adapter is None
            else f"{ctx.aligned}/agl_source.json records {adapter}, which is not a PEFT adapter directory"
        )
        problems.append(
            f"{', '.join(needs_lora)}: need the alignment LoRA that built the aligned base ({where}); rebuild the "
            "base with `.venv/bin/python -m axolotl_agl.experiments.aligned_base` or leave these methods out"
        )
    return problems


def describe_plan(methods: Sequence[str], values: Mapping[str, Sequence]) -> list[str]:
    """One line per method: its knob, the values swept and what the knob does."""
    lines = []
    for method in sorted(dict.fromkeys(methods), key=lambda m: (m != "lora", list(SWEEP).index(m))):
        spec = SWEEP[method]
        if spec.knob is None:
            lines.append(f"  {method:<16} {spec.note}")
            continue
        swept = ", ".join(format_value(v) for v in values.get(method, spec.values))
        lines.append(f"  {method:<16} {spec.knob} = {swept}  ({spec.kind}; {spec.note})")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    values = parse_values(args.values)
    if args.chosen_points is not None:
        chosen = chosen_values(json.loads(args.chosen_points.read_text(encoding="utf-8")))
        for method in args.methods:
            if method != "lora" and method not in chosen:
                print(f"skipping {method}: no equal-accuracy bracket in {args.chosen_points}")
        args.methods = [m for m in args.methods if m == "lora" or m in chosen]
        values.update(chosen)
    methods = list(dict.fromkeys(args.methods))
    if any(SWEEP[m].kind == "post_hoc" for m in methods) and "lora" not in methods:
        methods.append("lora")  # post-hoc methods transform the plain-LoRA adapter of the same seed
    from axolotl_agl.experiments.paths import find_xstest
    from axolotl_agl.utils.env import set_safe_env

    set_safe_env()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    aligned, unaligned = _resolve_models(args)
    recipe, built = sweep_recipe(aligned, explicit=args.aligned is not None)
    beside = REPO.parent / "shared" / "data" / "xstest_prompts.csv"
    xstest = args.xstest or (beside if beside.is_file() else find_xstest())
    args.work.mkdir(parents=True, exist_ok=True)
    task_path, _ = write_task_data(args.work, n_train=args.n_train, n_eval=args.task_eval, eval_seed=args.eval_seed)
    eval_settings = {
        "limit_per_set": args.limit,
        "task_items": args.task_eval,
        "eval_seed": args.eval_seed,
        "max_new_tokens": args.max_new_tokens,
        "batch_size": args.batch_size,
        "xstest": None if xstest is None else str(xstest),
    }
    ctx = SweepContext(args.work, aligned, unaligned, task_path, args.steps, args.lr, args.fisher_samples,
                       args.n_train, recipe, eval_settings)  # fmt: skip
    ctx.eval_id = eval_identity(eval_settings)
    ctx.alignment_adapter = recorded_alignment_adapter(aligned) if built else None
    problems = missing_inputs(methods, ctx)
    if problems and not args.dry_run:
        raise SystemExit("\n".join(problems))
    group = identity_key(group_identity(ctx))
    plan = build_plan(methods, args.seeds, ctx, args.runs_dir, values)
    done = [run for run in plan if run.path.is_file()]
    print(f"sweep group {group[:12]} (aligned base {json.dumps(ctx.recipe)[:60]}): {len(plan)} runs, "
          f"{len(done)} finished, {len(plan) - len(done)} to do")  # fmt: skip
    if not built:
        print(f"  (dry run: no current aligned base in {aligned}; keys use the recipe its build will record)")
    for problem in problems:
        print(f"  (before running: {problem})")
    print("methods:", *describe_plan(methods, values), sep="\n")
    for run in plan:
        print(f"  [{'x' if run.path.is_file() else ' '}] {run.path.name}")
    if args.dry_run:
        return 0
    deadline = deadline_of(args.until)
    reference = execute_reference(ctx, args.runs_dir, group, not args.no_commit, not args.no_progress)
    reference_key = json.loads(reference.read_text())["key"]
    started_runs = 0
    for run in plan:
        if run.path.is_file():
            continue
        if deadline is not None and time.time() > deadline:
            print(f"\n--until {args.until} reached; stopping (the rest runs next time)")
            break
        if args.max_runs is not None and started_runs >= args.max_runs:
            print(f"\n--max-runs {args.max_runs} reached; stopping")
            break
        started_runs += 1
        started = time.perf_counter()
        print(f"\n=== {run.name} ({SWEEP[run.method].knob} = {format_value(run.value)})", flush=True)
        path = execute(run, ctx, group, reference_key, not args.no_commit, not args.no_progress)
        print(f"=== {path.name} written ({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
