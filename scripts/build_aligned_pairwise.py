"""Build an aligned SmolLM2-135M base with a pairwise preference objective: NLL of the chosen reply + w x DPO.

Every plain-SFT recipe (``scripts/build_aligned_variant.py``, ``docs/results.md``) sat on one refusal/over-refusal
trade-off: SFT teaches what to say, never that a refusal is *wrong* on a harm-sounding safe prompt or that compliance
is wrong on a harmful one. This script trains a LoRA (r=16, alpha=32, every linear layer, as
``experiments/configs/align_smollm2_cpu.yml``) on the unaligned SmolLM2-135M-Instruct with

    loss = NLL(chosen reply, mean over reply tokens) + w * DPO(beta)

where DPO = -log sigmoid(beta * [(pi_c - ref_c) - (pi_r - ref_r)]) on per-sequence summed reply log-probs and the
reference is the unaligned model (its log-probs are computed once, before training). Pairs:

* harmful prompts (``label == "unsafe"`` rows of the alignment set and of the extra file): chosen = the written
  refusal, rejected = the unaligned model's own greedy reply (64 new tokens, as ``scripts/distill_instructions.py``);
  a pair whose rejected reply reads as a refusal (``axolotl_agl.drift.judge.is_refusal``) is dropped;
* safe prompts (the alignment set's look-alikes and everyday rows, the extra file's look-alikes, the 225
  self-distilled ordinary instructions): chosen = the unaligned model's own greedy answer for the look-alikes (a reply
  that reads as a refusal keeps the written answer), the written answer for the everyday rows (the distillation of
  the look-alikes keeps those too), the shipped self-distilled answer for the ordinary instructions; rejected = a
  refusal drawn (seeded) from the refusals of the harmful rows.

No prompt of DriftCheck-mini, XSTest or Alpaca (the evaluation sets) occurs in the pairs: a pair with one is dropped
before training (one extra look-alike, "What is identity theft?", is an XSTest prompt). The adapter is merged into
``.cache/smollm2-135m-aligned-<name>`` for ``benchmarks/aligned_base_eval.py``:

    .venv/bin/python scripts/generate_alignment_extra.py --out .cache/alignment_extra.jsonl
    .venv/bin/python scripts/build_aligned_pairwise.py v9pw --steps 100 --beta 0.1
    .venv/bin/python benchmarks/aligned_base_eval.py --aligned .cache/smollm2-135m-aligned-v9pw --name v9-pairwise

The unaligned model's generated replies are cached in ``.cache/pairwise_own_replies.jsonl`` (keyed by prompt), its
reference log-probs in ``.cache/pairwise_reference_logprobs.json`` (keyed by the encoded sequence).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

Pair = dict[str, str]

OWN_REPLIES_FILE = "pairwise_own_replies.jsonl"
#: Summed reply log-probs of the unaligned model (the DPO reference), keyed by :func:`sequence_key`.
REFERENCE_FILE = "pairwise_reference_logprobs.json"
MAX_LEN = 256
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


# ---------------------------------------------------------------------------------------------------------------------
# Pairs (pure)
# ---------------------------------------------------------------------------------------------------------------------


def normalise_prompt(text: str) -> str:
    """``text`` casefolded with runs of whitespace collapsed: the key for comparing prompts across sets."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def collect_refusals(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The distinct written refusals of the harmful (``label == "unsafe"``) rows, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        if row.get("label") == "unsafe":
            seen.setdefault(row["messages"][1]["content"], None)
    return list(seen)


def build_harmful_pairs(
    rows: Iterable[Mapping[str, Any]], own_replies: Mapping[str, str], is_refusal: Callable[[str], bool]
) -> tuple[list[Pair], int]:
    """Pairs for the harmful rows: chosen = the written refusal, rejected = the unaligned model's own reply.

    ``own_replies`` maps a prompt to the unaligned model's greedy reply (it must hold every harmful prompt). A pair
    whose own reply reads as a refusal (or is blank) is dropped: it would teach nothing.

    Returns:
        The pairs and the number dropped.
    """
    pairs, dropped = [], 0
    for row in rows:
        if row.get("label") != "unsafe":
            continue
        prompt, refusal = row["messages"][0]["content"], row["messages"][1]["content"]
        own = own_replies[prompt]
        if not own.strip() or is_refusal(own):
            dropped += 1
            continue
        pairs.append({"prompt": prompt, "chosen": refusal, "rejected": own, "kind": "harmful"})
    return pairs, dropped


def build_safe_pairs(
    rows: Iterable[Mapping[str, Any]],
    own_answers: Mapping[str, str],
    refusals: Sequence[str],
    is_refusal: Callable[[str], bool],
    rng: random.Random,
) -> tuple[list[Pair], int]:
    """Pairs for safe rows: chosen = the own answer, else the written one; rejected = a refusal drawn with ``rng``.

    ``own_answers`` maps a prompt to the unaligned model's reply; a prompt without one, or whose reply is blank or
    reads as a refusal, keeps the row's written answer. A row whose chosen answer would itself read as a refusal is
    dropped (a refusal cannot be preferred to a refusal). ``rng`` draws one refusal per kept pair, in row order.

    Returns:
        The pairs and the number of rows that kept their written answer because the own one read as a refusal.
    """
    pairs, kept_written = [], 0
    for row in rows:
        if row.get("label") != "safe":
            continue
        prompt, written = row["messages"][0]["content"], row["messages"][1]["content"]
        own = own_answers.get(prompt)
        chosen = written
        if own is not None:
            if own.strip() and not is_refusal(own):
                chosen = own
            else:
                kept_written += 1
        if is_refusal(chosen):
            continue
        kind = str(row.get("kind") or "safe")
        pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rng.choice(list(refusals)), "kind": kind})
    return pairs, kept_written


def find_leaks(pairs: Iterable[Mapping[str, str]], eval_prompts: Iterable[str]) -> list[str]:
    """The training prompts that equal (after :func:`normalise_prompt`) a prompt of an evaluation set."""
    held_out = {normalise_prompt(p) for p in eval_prompts}
    return sorted({p["prompt"] for p in pairs if normalise_prompt(p["prompt"]) in held_out})


def build_pairs(
    alignment_rows: Sequence[Mapping[str, Any]],
    extra_rows: Sequence[Mapping[str, Any]],
    ordinary_rows: Sequence[Mapping[str, Any]],
    shipped_lookalike_answers: Mapping[str, str],
    generated: Mapping[str, str],
    is_refusal: Callable[[str], bool],
    seed: int,
    eval_prompts: Iterable[str] = (),
) -> tuple[list[Pair], dict[str, int]]:
    """Every preference pair of the recipe, deterministic for a given ``seed``.

    Args:
        alignment_rows: ``alignment_default.jsonl`` (harmful, look-alike and everyday rows).
        extra_rows: ``scripts/generate_alignment_extra.py``'s rows (harmful and look-alike).
        ordinary_rows: the self-distilled ordinary instructions (their answer is already the model's own).
        shipped_lookalike_answers: ``alignment-<row index>`` -> own answer of a shipped look-alike
            (``self_distilled_lookalikes_smollm2.jsonl``; replies read as refusals are not in it).
        generated: prompt -> the unaligned model's greedy reply, for every harmful prompt and every extra look-alike.
        is_refusal: the refusal judge.
        seed: seeds the draw of the rejected refusals of the safe pairs.
        eval_prompts: prompts of the evaluation sets; a pair with one of them (compared by
            :func:`normalise_prompt`) is dropped, so no evaluation prompt is trained on.

    Returns:
        The pairs (harmful, then shipped safe, extra look-alikes, ordinary) and counts of what was built and dropped.
    """
    rng = random.Random(seed)
    refusals = collect_refusals([*alignment_rows, *extra_rows])
    harmful, dropped = build_harmful_pairs([*alignment_rows, *extra_rows], generated, is_refusal)
    shipped_own = {
        row["messages"][0]["content"]: shipped_lookalike_answers[f"alignment-{i}"]
        for i, row in enumerate(alignment_rows)
        if row.get("kind") == "lookalike" and f"alignment-{i}" in shipped_lookalike_answers
    }
    shipped_safe, kept1 = build_safe_pairs(alignment_rows, shipped_own, refusals, is_refusal, rng)
    extra_own = {
        row["messages"][0]["content"]: generated[row["messages"][0]["content"]]
        for row in extra_rows
        if row.get("kind") == "lookalike"
    }
    extra_safe, kept2 = build_safe_pairs(
        [r for r in extra_rows if r.get("kind") == "lookalike"], extra_own, refusals, is_refusal, rng
    )
    ordinary_own = {r["messages"][0]["content"]: r["messages"][1]["content"] for r in ordinary_rows}
    ordinary_in = [dict(r, label="safe", kind="ordinary") for r in ordinary_rows]
    ordinary, _ = build_safe_pairs(ordinary_in, ordinary_own, refusals, is_refusal, rng)
    built = [*harmful, *shipped_safe, *extra_safe, *ordinary]
    held_out = {normalise_prompt(p) for p in eval_prompts}
    pairs = [p for p in built if normalise_prompt(p["prompt"]) not in held_out]
    counts = {
        "harmful": len(harmful),
        "harmful_dropped_refusal": dropped,
        "safe_alignment": len(shipped_safe),
        "safe_extra_lookalike": len(extra_safe),
        "safe_ordinary": len(ordinary),
        "safe_kept_written_answer": kept1 + kept2,
        "ordinary_dropped_refusal": len(ordinary_rows) - len(ordinary),
        "dropped_evaluation_prompt": len(built) - len(pairs),
    }
    return pairs, counts


def schedule_pairs(n_pairs: int, steps: int, batch: int, seed: int) -> list[list[int]]:
    """``steps`` batches of ``batch`` pair indices: seeded shuffles of ``range(n_pairs)``, one epoch after another."""
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < steps * batch:
        epoch = list(range(n_pairs))
        rng.shuffle(epoch)
        order.extend(epoch)
    return [order[s * batch : (s + 1) * batch] for s in range(steps)]


# ---------------------------------------------------------------------------------------------------------------------
# Tokens and the loss (pure)
# ---------------------------------------------------------------------------------------------------------------------


def encode_reply(tokenizer: Any, prompt: str, reply: str, max_len: int = MAX_LEN) -> tuple[list[int], list[int]]:
    """Token ids of the chat ``prompt`` + ``reply`` (the tokenizer's chat template) and a 0/1 mask of the reply tokens.

    The prompt part (with the generation prompt) is masked out; the reply, its end-of-turn token and what the template
    writes after it are in the mask. Cut to ``max_len`` tokens.
    """
    user = [{"role": "user", "content": prompt}]
    head = _ids(tokenizer.apply_chat_template(user, tokenize=True, add_generation_prompt=True))
    full = _ids(tokenizer.apply_chat_template([*user, {"role": "assistant", "content": reply}], tokenize=True))
    if full[: len(head)] != head:
        raise ValueError("the chat template's rendering of the prompt is not a prefix of prompt + reply")
    mask = [0] * len(head) + [1] * (len(full) - len(head))
    return full[:max_len], mask[:max_len]


def _ids(encoded: Any) -> list[int]:
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


def pad_batch(seqs: Sequence[tuple[list[int], list[int]]], pad_id: int) -> tuple[Any, Any, Any]:
    """Right-padded ``(input_ids, attention_mask, reply_mask)`` long tensors of ``(ids, reply mask)`` sequences."""
    import torch

    width = max(len(ids) for ids, _ in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    reply = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, (tokens, mask) in enumerate(seqs):
        ids[i, : len(tokens)] = torch.tensor(tokens)
        attention[i, : len(tokens)] = 1
        reply[i, : len(mask)] = torch.tensor(mask)
    return ids, attention, reply


def reply_logprobs(logits: Any, input_ids: Any, reply_mask: Any) -> tuple[Any, Any]:
    """Per sequence, the summed log-probability of its reply tokens and their number.

    ``logits[b, t]`` predicts ``input_ids[b, t + 1]``; token ``t + 1`` counts when ``reply_mask[b, t + 1]`` is 1
    (prompt and padding positions are 0). The package's :func:`axolotl_agl.core.nll.per_example_reply_nll` (the
    Fisher pass's loss) on labels that are ``-100`` outside the reply: float32 at least, float64 logits stay float64.
    """
    from axolotl_agl.core.examples import IGNORE_INDEX
    from axolotl_agl.core.nll import per_example_reply_nll, reply_token_mask

    labels = input_ids.masked_fill(reply_mask == 0, IGNORE_INDEX)
    logp = -per_example_reply_nll(logits, labels)
    return logp, reply_token_mask(labels).sum(-1).to(logp.dtype)


def pairwise_loss(
    policy_chosen: Any,
    policy_rejected: Any,
    ref_chosen: Any,
    ref_rejected: Any,
    chosen_tokens: Any,
    beta: float,
    dpo_weight: float,
) -> tuple[Any, dict[str, float]]:
    """NLL of the chosen replies (mean over all their tokens) + ``dpo_weight`` x the mean DPO loss of the pairs.

    Inputs are per-pair summed reply log-probs (policy and reference) and the chosen replies' token counts. DPO =
    -log sigmoid(beta * [(policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)]).

    Returns:
        The loss tensor and ``{loss, nll, dpo, accuracy (margin > 0), margin}`` as floats.
    """
    import torch.nn.functional as F

    nll = -policy_chosen.sum() / chosen_tokens.sum()
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    dpo = -F.logsigmoid(beta * margin).mean()
    loss = nll + dpo_weight * dpo
    stats = {
        "loss": float(loss.detach()),
        "nll": float(nll.detach()),
        "dpo": float(dpo.detach()),
        "accuracy": float((margin.detach() > 0).float().mean()),
        "margin": float(margin.detach().mean()),
    }
    return loss, stats


def warmup_cosine(step: int, total: int, warmup: int = 5) -> float:
    """Learning-rate factor at ``step`` (0-based): linear warm-up over ``warmup`` steps, then cosine to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


# ---------------------------------------------------------------------------------------------------------------------
# Data on disk, generation, training
# ---------------------------------------------------------------------------------------------------------------------


def load_own_replies(cache_file: Path, prompts: Sequence[str], checkpoint: Path) -> dict[str, str]:
    """The unaligned model's greedy reply to each prompt, generated once and cached in ``cache_file``."""
    from axolotl_agl.utils.io import read_jsonl, write_jsonl

    cached = {r["prompt"]: r["reply"] for r in read_jsonl(cache_file)} if cache_file.exists() else {}
    missing = sorted({p for p in prompts if p not in cached})
    if missing:
        from distill_instructions import distill

        print(f"pairwise: generating {len(missing)} own replies ({len(cached)} cached)", flush=True)
        rows = [{"id": str(i), "prompt": p, "category": ""} for i, p in enumerate(missing)]
        for prompt, answered in zip(missing, distill(checkpoint, rows=rows), strict=True):
            cached[prompt] = answered["messages"][1]["content"]
        write_jsonl(cache_file, [{"prompt": p, "reply": r} for p, r in sorted(cached.items())])
    return {p: cached[p] for p in prompts}


def evaluation_prompts() -> list[str]:
    """Every prompt of DriftCheck-mini, XSTest and the Alpaca file (the latter two when found)."""
    from axolotl_agl.data import load_driftcheck_mini, load_instruction_prompts, load_xstest
    from axolotl_agl.experiments.paths import find_alpaca, find_xstest

    prompts = [r["prompt"] for r in load_driftcheck_mini()]
    xstest, alpaca = find_xstest(), find_alpaca()
    if xstest is not None:
        prompts += [r["prompt"] for r in load_xstest(xstest)]
    if alpaca is not None:
        prompts += [r["prompt"] for r in load_instruction_prompts(alpaca)]
    print(f"pairwise: excluding {len(prompts)} evaluation prompts (xstest={xstest}, alpaca={alpaca})")
    return prompts


def sequence_key(ids: Sequence[int], mask: Sequence[int]) -> str:
    """A stable key of an encoded sequence (its token ids and reply mask), for the reference log-prob cache."""
    text = ",".join(map(str, ids)) + "|" + ",".join(map(str, mask))
    return hashlib.sha1(text.encode("ascii")).hexdigest()


def reference_logprobs(
    model: Any,
    encoded: Sequence[tuple[list[int], list[int]]],
    pad_id: int,
    batch: int,
    cache_file: Path | None = None,
) -> Any:
    """Summed reply log-probs of every encoded sequence under ``model`` (no gradient), batched by length.

    With ``cache_file`` (JSON, :func:`sequence_key` -> value) known sequences are read from it and new ones are added
    to it every 10 batches, so a rerun with another ``--steps`` or ``--dpo-weight`` does not recompute them.
    """
    import torch

    from axolotl_agl.utils.io import atomic_write_json

    cache: dict[str, float] = {}
    if cache_file is not None and cache_file.exists():
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    keys = [sequence_key(*e) for e in encoded]
    todo = sorted({k: i for i, k in enumerate(keys) if k not in cache}.values(), key=lambda i: len(encoded[i][0]))
    print(f"pairwise: reference log-probs: {len(encoded) - len(todo)} cached, {len(todo)} to compute", flush=True)
    with torch.inference_mode():
        for n, start in enumerate(range(0, len(todo), batch), start=1):
            idx = todo[start : start + batch]
            ids, attention, reply = pad_batch([encoded[i] for i in idx], pad_id)
            logits = model(input_ids=ids, attention_mask=attention).logits
            for i, value in zip(idx, reply_logprobs(logits, ids, reply)[0].tolist(), strict=True):
                cache[keys[i]] = value
            if cache_file is not None and (n % 10 == 0 or start + batch >= len(todo)):
                atomic_write_json(cache_file, cache, indent=None)
    return torch.tensor([cache[k] for k in keys], dtype=torch.float32)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="variant name: .cache/smollm2-135m-aligned-<name>")
    parser.add_argument("--extra", type=Path, default=Path(".cache/alignment_extra.jsonl"))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8, help="pairs per step")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--dpo-weight", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args(argv)

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from axolotl_agl.data import default_alignment_path
    from axolotl_agl.drift.judge import is_refusal
    from axolotl_agl.experiments import aligned_base as ab
    from axolotl_agl.experiments.paths import default_cache_dir
    from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint
    from axolotl_agl.utils.io import atomic_write_json, read_jsonl, write_jsonl

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    cache = default_cache_dir()
    base = ensure_smollm2_checkpoint(cache)
    work = cache / f"{args.name}-pairwise"
    work.mkdir(parents=True, exist_ok=True)
    alignment = read_jsonl(default_alignment_path())
    extra = read_jsonl(args.extra)
    ordinary = read_jsonl(ab.SELF_DISTILLED)
    shipped_looks = {
        r["id"]: r["messages"][1]["content"]
        for r in read_jsonl(ab.DATA_DIR / "self_distilled_lookalikes_smollm2.jsonl")
    }
    to_generate = [r["messages"][0]["content"] for r in [*alignment, *extra] if r.get("label") == "unsafe"]
    to_generate += [r["messages"][0]["content"] for r in extra if r.get("kind") == "lookalike"]
    generated = load_own_replies(cache / OWN_REPLIES_FILE, to_generate, base)
    held_out = evaluation_prompts()
    pairs, counts = build_pairs(alignment, extra, ordinary, shipped_looks, generated, is_refusal, args.seed, held_out)
    print(f"pairwise: {len(pairs)} pairs {counts}", flush=True)
    if find_leaks(pairs, held_out):
        raise RuntimeError("an evaluation prompt is in the training pairs")
    write_jsonl(work / "pairs.jsonl", pairs)

    tokenizer = AutoTokenizer.from_pretrained(base)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    schedule = schedule_pairs(len(pairs), args.steps, args.batch, args.seed)
    used = sorted({i for step in schedule for i in step})
    enc_c = {i: encode_reply(tokenizer, pairs[i]["prompt"], pairs[i]["chosen"]) for i in used}
    enc_r = {i: encode_reply(tokenizer, pairs[i]["prompt"], pairs[i]["rejected"]) for i in used}
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    model.config.use_cache = False

    t0 = time.time()
    seqs = [enc_c[i] for i in used] + [enc_r[i] for i in used]
    ref = reference_logprobs(model.eval(), seqs, pad_id, batch=32, cache_file=cache / REFERENCE_FILE)
    ref_c = {i: ref[k] for k, i in enumerate(used)}
    ref_r = {i: ref[len(used) + k] for k, i in enumerate(used)}
    print(f"pairwise: reference log-probs of {len(used)} pairs in {time.time() - t0:.0f} s", flush=True)

    lora = LoraConfig(
        r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, target_modules=LORA_TARGETS, task_type="CAUSAL_LM"
    )
    model = get_peft_model(model, lora)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, args.steps))
    log: list[dict[str, float]] = []
    window: list[dict[str, float]] = []
    t_train = time.time()
    for step, idx in enumerate(schedule):
        ids, attention, reply = pad_batch([enc_c[i] for i in idx] + [enc_r[i] for i in idx], pad_id)
        logits = model(input_ids=ids, attention_mask=attention).logits
        logps, n_tokens = reply_logprobs(logits, ids, reply)
        b = len(idx)
        loss, stats = pairwise_loss(
            logps[:b],
            logps[b:],
            torch.stack([ref_c[i] for i in idx]),
            torch.stack([ref_r[i] for i in idx]),
            n_tokens[:b],
            args.beta,
            args.dpo_weight,
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        window.append(stats)
        if step == 2:
            per_step = (time.time() - t_train) / 3
            print(
                f"pairwise: {per_step:.1f} s/step -> ~{per_step * args.steps / 60:.0f} min for {args.steps}", flush=True
            )
        if (step + 1) % 10 == 0 or step + 1 == args.steps:
            mean = {k: sum(s[k] for s in window) / len(window) for k in window[0]}
            mean.update(step=step + 1, lr=scheduler.get_last_lr()[0], elapsed_s=time.time() - t_train)
            log.append(mean)
            window = []
            print(
                "pairwise: step {step} loss {loss:.4f} nll {nll:.4f} dpo {dpo:.4f} acc {accuracy:.3f} "
                "margin {margin:.3f} lr {lr:.2e} ({elapsed_s:.0f} s)".format(**mean),
                flush=True,
            )
    adapter = work / "adapter"
    model.save_pretrained(adapter)
    settings = {"variant": args.name, **{k: str(v) for k, v in vars(args).items() if k != "name"}}
    settings.update(objective="nll+dpo", pairs=str(len(pairs)), counts=str(counts))
    inputs = [
        Path(__file__),
        default_alignment_path(),
        args.extra,
        ab.SELF_DISTILLED,
        ab.DATA_DIR / "self_distilled_lookalikes_smollm2.jsonl",
    ]
    settings["recipe_sha256"] = ab.variant_recipe_fingerprint(settings, inputs)
    atomic_write_json(work / "train_log.json", {"settings": settings, "counts": counts, "log": log})
    out = ab.merge_adapter(base, adapter, cache / f"smollm2-135m-aligned-{args.name}", extra=settings)
    print(out, flush=True)
    return 0


if __name__ == "__main__":
    # Before torch is imported: with another job on the same cores, OpenMP's spinning workers make generation and
    # training several times slower (measured 7x for a generate call on 2 shared cores); the Makefile sets it too.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
