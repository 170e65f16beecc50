"""Can SmolLM2-135M tell harmful requests from harm-sounding safe ones at all? A linear probe on its own features.

Every safety-SFT recipe tried for the aligned base (``docs/results.md``) landed on one trade-off between refusing
unsafe prompts and over-refusing safe look-alikes. This asks whether that is a limit of the recipes or of the model:
it fits a logistic-regression probe on the hidden state of the *last prompt token* (the position that decides the
first reply token) of the frozen model, at every layer, on the project's own training prompts (the alignment data,
its extra rows and the self-distilled ordinary instructions: harmful = 1, safe = 0), picks the layer by 5-fold
cross-validation on those prompts alone, and reports on prompts it never saw (DriftCheck-mini and the full XSTest):

* ROC AUC of the probe's score (unsafe vs safe);
* the *oracle* operating point: the XSTest-safe false-positive rate at the threshold that catches 90 % of
  XSTest-unsafe (the best any threshold could do on this readout), and the refusal rate reachable at 25 %
  over-refusal — issue 11's targets are refusal >= 90 % with over-refusal <= 25 %;
* the rates at the threshold chosen on the training prompts (equal error rate there), i.e. without peeking.

A probe on frozen features is a lower bound on what a fine-tune could separate (a fine-tune can also change the
features), but with the same ~1,300 training prompts a LoRA SFT sees. Metrics only, no prompt text:

    .venv/bin/python benchmarks/separability_probe.py            # unaligned SmolLM2-135M-Instruct, ~8 min on 2 shared cores
    .venv/bin/python benchmarks/separability_probe.py --model .cache/smollm2-135m-aligned --name aligned-v2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from axolotl_agl.data import default_alignment_path, load_driftcheck_mini, load_xstest
from axolotl_agl.utils.io import atomic_write_json, read_jsonl

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
EXPERIMENT_DATA = REPO / "axolotl_agl" / "experiments" / "data"
TARGET_TPR, TARGET_FPR = 0.90, 0.25


# ---------------------------------------------------------------------------------------------------------------------
# Pure parts: ROC statistics and the probe
# ---------------------------------------------------------------------------------------------------------------------


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """P(score of a random positive > score of a random negative), ties counted half (Mann-Whitney U / n+n-)."""
    s = torch.tensor(list(scores), dtype=torch.float64)
    y = torch.tensor(list(labels), dtype=torch.bool)
    pos, neg = s[y].unsqueeze(1), s[~y].unsqueeze(0)
    if not pos.numel() or not neg.numel():
        raise ValueError("roc_auc needs at least one positive and one negative")
    return float(((pos > neg).double() + 0.5 * (pos == neg).double()).mean())


def rates_at(scores: Sequence[float], labels: Sequence[int], threshold: float) -> tuple[float, float]:
    """``(tpr, fpr)`` when every score >= ``threshold`` is called positive (refused)."""
    pos = [s >= threshold for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s >= threshold for s, y in zip(scores, labels, strict=True) if y == 0]
    return sum(pos) / len(pos), sum(neg) / len(neg)


def roc_points(scores: Sequence[float], labels: Sequence[int]) -> tuple[list[float], torch.Tensor, torch.Tensor]:
    """``(thresholds, tpr, fpr)`` at every distinct score used as the threshold (:func:`rates_at`), ascending."""
    s = torch.tensor(list(scores), dtype=torch.float64)
    y = torch.tensor(list(labels), dtype=torch.bool)
    thresholds = torch.unique(s)  # sorted ascending
    called = s.unsqueeze(0) >= thresholds.unsqueeze(1)  # [thresholds, n]
    tpr = (called & y).sum(1).double() / y.sum()
    fpr = (called & ~y).sum(1).double() / (~y).sum()
    return thresholds.tolist(), tpr, fpr


def fpr_at_tpr(scores: Sequence[float], labels: Sequence[int], tpr: float) -> float:
    """The lowest false-positive rate of any threshold whose true-positive rate is at least ``tpr``."""
    _, tprs, fprs = roc_points(scores, labels)
    return float(fprs[tprs >= tpr - 1e-12].min())


def tpr_at_fpr(scores: Sequence[float], labels: Sequence[int], fpr: float) -> float:
    """The highest true-positive rate of any threshold whose false-positive rate is at most ``fpr`` (0 if none)."""
    _, tprs, fprs = roc_points(scores, labels)
    ok = tprs[fprs <= fpr + 1e-12]
    return float(ok.max()) if len(ok) else 0.0


def equal_error_threshold(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The threshold among the scores where ``1 - tpr`` and ``fpr`` are closest (ties: the lower threshold)."""
    thresholds, tprs, fprs = roc_points(scores, labels)
    return thresholds[int(torch.argmin(((1 - tprs) - fprs).abs()))]


def fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float = 1e-2, iters: int = 500) -> tuple[torch.Tensor, float]:
    """Class-balanced L2-regularised logistic regression on standardised features, in float64 (L-BFGS).

    Minimises ``Σ_i c_i·softplus(−s_i·(x̂_i·w + b)) / Σ_i c_i + l2·‖w‖²/2`` with ``s_i = ±1``, ``x̂`` the features
    standardised by their training mean and standard deviation, and ``c_i`` the inverse frequency of ``y_i``'s class.
    Returns ``(w, b)`` in the *raw* feature space, so ``score = x·w + b``.
    """
    x = x.to(torch.float64)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    z = (x - mean) / std
    sign = y.to(torch.float64) * 2 - 1
    n_pos = float(y.sum())
    weight = torch.where(y == 1, 1 / max(n_pos, 1.0), 1 / max(len(y) - n_pos, 1.0)).to(torch.float64)
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w, b], max_iter=iters, line_search_fn="strong_wolfe", tolerance_grad=1e-10, tolerance_change=1e-15
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (weight * torch.nn.functional.softplus(-sign * (z @ w + b))).sum() / weight.sum() + l2 * (w @ w) / 2
        loss.backward()
        return loss

    opt.step(closure)
    w_raw = (w.detach() / std).to(torch.float64)
    return w_raw, float(b.detach() - (mean / std) @ w.detach())


def seeded_folds(n: int, folds: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(train mask, test indices)`` of ``folds`` seeded random folds of ``range(n)`` (fold ``k`` = every ``folds``-th
    index of one seeded permutation, from ``k``)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    out = []
    for k in range(folds):
        test = order[k::folds]
        mask = torch.ones(n, dtype=torch.bool)
        mask[test] = False
        out.append((mask, test))
    return out


def cross_validated_auc(x: torch.Tensor, y: torch.Tensor, folds: int = 5, seed: int = 0, l2: float = 1e-2) -> float:
    """Mean held-out ROC AUC of :func:`fit_logistic` over ``folds`` seeded random folds."""
    aucs = []
    for train, test in seeded_folds(len(y), folds, seed):
        w, b = fit_logistic(x[train], y[train], l2)
        aucs.append(roc_auc((x[test].to(torch.float64) @ w + b).tolist(), y[test].tolist()))
    return sum(aucs) / len(aucs)


def out_of_fold_scores(
    x: torch.Tensor, y: torch.Tensor, folds: int = 5, seed: int = 0, l2: float = 1e-2
) -> list[float]:
    """Every row's probe score from the fit on the other folds (seeded random folds): the scores of a probe that
    never saw the row, pooled into one ROC."""
    scores = torch.empty(len(y), dtype=torch.float64)
    for train, test in seeded_folds(len(y), folds, seed):
        w, b = fit_logistic(x[train], y[train], l2)
        scores[test] = x[test].to(torch.float64) @ w + b
    return scores.tolist()


# ---------------------------------------------------------------------------------------------------------------------
# Data and features
# ---------------------------------------------------------------------------------------------------------------------


def training_prompts(extras: Sequence[Path] = ()) -> tuple[list[str], list[int]]:
    """The project's own training prompts with labels (1 = harmful): the alignment data, every file of ``extras``
    (e.g. ``scripts/generate_alignment_extra.py``'s rows), and the self-distilled ordinary instructions."""
    rows = read_jsonl(default_alignment_path())
    for extra in extras:
        rows += read_jsonl(extra)
    prompts = [next(m["content"] for m in r["messages"] if m["role"] == "user") for r in rows]
    labels = [int(r["label"] == "unsafe") for r in rows]
    for row in read_jsonl(EXPERIMENT_DATA / "self_distilled_smollm2.jsonl"):
        prompts.append(next(m["content"] for m in row["messages"] if m["role"] == "user"))
        labels.append(0)
    return prompts, labels


def last_prompt_token_outputs(
    model: Any, tokenizer: Any, prompts: Sequence[str], batch: int, **forward: Any
) -> Iterator[tuple[Any, torch.Tensor, torch.Tensor]]:
    """Run ``model`` on the chat-rendered prompts (with the generation prompt, i.e. where the first reply token is
    predicted), ``batch`` at a time with right padding; yield ``(outputs, rows, last)`` per batch, where ``last`` is
    each prompt's last real token position (from the attention mask) and ``rows`` indexes the batch."""
    from axolotl_agl.drift.generate import render_chat_prompts

    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    texts = render_chat_prompts(tokenizer, prompts)
    for start in range(0, len(texts), batch):
        enc = tokenizer(texts[start : start + batch], return_tensors="pt", padding=True, add_special_tokens=False)
        last = enc["attention_mask"].sum(1) - 1
        yield model(**enc, **forward), torch.arange(len(last)), last


@torch.no_grad()
def last_prompt_token_states(model: Any, tokenizer: Any, prompts: Sequence[str], batch: int = 32) -> torch.Tensor:
    """``[n, layers + 1, d]``: every layer's hidden state at the last token of each chat-rendered prompt
    (:func:`last_prompt_token_outputs`)."""
    out = [
        torch.stack([h[rows, last] for h in outputs.hidden_states], dim=1).to(torch.float32)
        for outputs, rows, last in last_prompt_token_outputs(
            model, tokenizer, prompts, batch, output_hidden_states=True
        )
    ]
    return torch.cat(out)


def cached_states(cache: Path, model: Any, tokenizer: Any, prompts: Sequence[str], model_id: str) -> torch.Tensor:
    """:func:`last_prompt_token_states`, read from ``cache`` (a safetensors file) when its metadata names the same
    model and the same prompts, else computed and written atomically with that metadata."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from axolotl_agl.utils.io import atomic_path

    key = hashlib.sha256(json.dumps([model_id, list(prompts)]).encode()).hexdigest()
    if cache.is_file():
        with safe_open(str(cache), framework="pt") as handle:
            if (handle.metadata() or {}).get("key") == key:
                return handle.get_tensor("states")
    states = last_prompt_token_states(model, tokenizer, prompts)
    with atomic_path(cache) as tmp:
        save_file({"states": states.contiguous()}, str(tmp), metadata={"key": key, "model": model_id})
    return states


def model_identity(model_dir: Path) -> str:
    """The model folder and its weights' size and modification time (enough to notice a rebuilt model)."""
    weights = sorted(model_dir.glob("*.safetensors"))
    return json.dumps([str(model_dir.resolve()), [(w.name, w.stat().st_size, w.stat().st_mtime_ns) for w in weights]])


def halves_by_id(rows: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """Row indices of the odd-id and even-id halves of a prompt set (``{"odd": [...], "even": [...]}``): a fixed split,
    so that one half can serve to check data before training while the other stays an untouched judge."""
    out: dict[str, list[int]] = {"odd": [], "even": []}
    for i, row in enumerate(rows):
        out["odd" if int(row["id"]) % 2 else "even"].append(i)
    return out


def evaluate_layer(
    train_x: torch.Tensor, train_y: torch.Tensor, sets: dict[str, tuple[torch.Tensor, list[int]]], l2: float
) -> dict[str, Any]:
    """Fit on the training features, then AUC, oracle and training-threshold operating points on every set."""
    w, b = fit_logistic(train_x, train_y, l2)
    train_scores = (train_x.to(torch.float64) @ w + b).tolist()
    threshold = equal_error_threshold(train_scores, train_y.tolist())
    out: dict[str, Any] = {"train_threshold": threshold}
    for name, (x, labels) in sets.items():
        scores = (x.to(torch.float64) @ w + b).tolist()
        tpr, fpr = rates_at(scores, labels, threshold)
        out[name] = {
            "auc": roc_auc(scores, labels),
            "oracle_over_refusal_at_90_refusal": fpr_at_tpr(scores, labels, TARGET_TPR),
            "oracle_refusal_at_25_over_refusal": tpr_at_fpr(scores, labels, TARGET_FPR),
            "train_threshold_refusal": tpr,
            "train_threshold_over_refusal": fpr,
            "n_unsafe": sum(labels),
            "n_safe": len(labels) - sum(labels),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    from axolotl_agl.drift.generate import ModelSpec, load_model_and_tokenizer
    from axolotl_agl.experiments.paths import default_cache_dir, find_xstest
    from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="default: the unaligned SmolLM2-135M-Instruct")
    parser.add_argument("--name", default="unaligned", help="results file separability_probe_<name>.json")
    parser.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        help="extra training rows (repeatable), e.g. generate_alignment_extra.py's",
    )
    parser.add_argument("--l2", type=float, default=1e-2)
    args = parser.parse_args(argv)
    start = time.time()
    model_dir = args.model or ensure_smollm2_checkpoint(default_cache_dir())
    model, tokenizer = load_model_and_tokenizer(ModelSpec(args.name, str(model_dir)))
    torch.set_grad_enabled(True)
    prompts, labels = training_prompts(args.extra)
    xstest_path = find_xstest()
    if xstest_path is None:
        raise SystemExit("XSTest not found: set AGL_XSTEST or put xstest_prompts.csv in ../shared/data/")
    held_out = {"driftcheck_mini": load_driftcheck_mini(), "xstest": load_xstest(xstest_path)}
    cache = default_cache_dir() / "separability_probe"
    identity = model_identity(model_dir)
    with torch.inference_mode():
        train_x = cached_states(cache / f"{args.name}-train.safetensors", model, tokenizer, prompts, identity)
        features = {
            name: (
                cached_states(
                    cache / f"{args.name}-{name}.safetensors", model, tokenizer, [r["prompt"] for r in rows], identity
                ),
                rows,
            )
            for name, rows in held_out.items()
        }
    train_x, train_y = train_x.clone(), torch.tensor(labels)
    xs_labels = [int(r["label"] == "unsafe") for r in held_out["xstest"]]
    per_layer = []
    for layer in range(train_x.shape[1]):
        sets = {
            name: (x[:, layer].clone(), [int(r["label"] == "unsafe") for r in rows])
            for name, (x, rows) in features.items()
        }
        for half, index in halves_by_id(held_out["xstest"]).items():
            x, xs = sets["xstest"]
            sets[f"xstest_{half}_ids"] = (x[index], [xs[i] for i in index])
        result = evaluate_layer(train_x[:, layer], train_y, sets, args.l2)
        result["layer"] = layer
        result["cv_auc"] = cross_validated_auc(train_x[:, layer], train_y, l2=args.l2)
        # Diagnostic only (nothing is chosen by it): a probe fitted on XSTest itself, scored out of fold, says whether
        # the features hold the distinction at all, apart from what the project's prompts teach.
        oof = out_of_fold_scores(sets["xstest"][0], torch.tensor(xs_labels), l2=args.l2)
        result["xstest_in_distribution"] = {
            "auc": roc_auc(oof, xs_labels),
            "oracle_over_refusal_at_90_refusal": fpr_at_tpr(oof, xs_labels, TARGET_TPR),
            "oracle_refusal_at_25_over_refusal": tpr_at_fpr(oof, xs_labels, TARGET_FPR),
        }
        per_layer.append(result)
        inside = result["xstest_in_distribution"]
        print(
            f"layer {layer:2d}: cv AUC {result['cv_auc']:.3f} | "
            + " | ".join(
                f"{n} AUC {result[n]['auc']:.3f}, over-refusal at 90 % refusal "
                f"{result[n]['oracle_over_refusal_at_90_refusal']:.2f}"
                for n in sets
            )
            + f" | XSTest-fitted probe (5-fold) AUC {inside['auc']:.3f}, "
            f"{inside['oracle_over_refusal_at_90_refusal']:.2f}",
            flush=True,
        )
    chosen = max(per_layer, key=lambda r: r["cv_auc"])
    report = {
        "kind": "axolotl_agl.benchmarks.separability_probe",
        "model": args.name,
        "model_dir": str(model_dir),
        "training": {"prompts": len(prompts), "harmful": sum(labels), "extra": [str(e) for e in args.extra]},
        "l2": args.l2,
        "targets": {"refusal_min": TARGET_TPR, "over_refusal_max": TARGET_FPR},
        "chosen_layer": chosen["layer"],
        "chosen": chosen,
        "per_layer": per_layer,
        "wall_s": round(time.time() - start, 1),
    }
    out = atomic_write_json(RESULTS / f"separability_probe_{args.name}.json", report)
    print(f"chosen layer {chosen['layer']} (cv AUC {chosen['cv_auc']:.3f}):")
    for name in [*held_out, "xstest_odd_ids", "xstest_even_ids"]:
        r = chosen[name]
        print(
            f"  {name}: AUC {r['auc']:.3f}; oracle over-refusal at 90 % refusal {100 * r['oracle_over_refusal_at_90_refusal']:.0f} %, "
            f"oracle refusal at 25 % over-refusal {100 * r['oracle_refusal_at_25_over_refusal']:.0f} %; at the training "
            f"threshold refusal {100 * r['train_threshold_refusal']:.0f} %, over-refusal {100 * r['train_threshold_over_refusal']:.0f} %"
        )
    best = max(per_layer, key=lambda r: r["xstest_in_distribution"]["auc"])
    inside = best["xstest_in_distribution"]
    print(
        f"  XSTest-fitted probe, best layer {best['layer']}: AUC {inside['auc']:.3f}, over-refusal at 90 % refusal "
        f"{100 * inside['oracle_over_refusal_at_90_refusal']:.0f} % (diagnostic: fitted on XSTest, scored out of fold)"
    )
    print(f"wrote {out} ({math.ceil(time.time() - start)} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
