"""Answer the project's ordinary instructions with the unaligned SmolLM2-135M-Instruct itself (self-distillation).

The demo's safety SFT (``axolotl_agl.experiments.aligned_base``) trains on these answers beside its refusals: they
are the model's own greedy replies, so learning them changes almost nothing except that the model keeps answering
ordinary tasks instead of refusing them. Generating 225 replies takes ~5-10 minutes on 2 CPU cores, so the result
ships as package data (``axolotl_agl/experiments/data/self_distilled_smollm2.jsonl``) and the demo never waits for
it; this script rewrites it from ``general_instructions.jsonl`` and the converted checkpoint:

    python -m scripts.distill_instructions               # needs the SmolLM2 checkpoint (built on first use)
    python -m scripts.distill_instructions --lookalikes  # the alignment set's safe look-alikes, same treatment

``--lookalikes`` answers the look-alike prompts of the alignment set (``axolotl_agl/data/alignment_default.jsonl``,
harmless requests phrased with harm words) the same way and writes
``experiments/data/self_distilled_lookalikes_smollm2.jsonl``; a reply the drift judge reads as a refusal is left
out. That file is *not* part of the aligned base's recipe: a safety SFT with these answers in place of the written
ones met the over-refusal targets but refused only about half of the unsafe prompts (``docs/results.md``, "Tried:
own answers for the look-alikes"); it is kept for the next recipe to mix.

A reply cut by the token limit is trimmed back to its last paragraph or sentence end, so no target teaches the model
to stop mid-sentence. The model's replies are SmolLM2 outputs (Apache-2.0 model); the prompts are the project's own.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "axolotl_agl" / "experiments" / "data"
PROMPTS = DATA_DIR / "general_instructions.jsonl"
OUTPUT = DATA_DIR / "self_distilled_smollm2.jsonl"
LOOKALIKE_OUTPUT = DATA_DIR / "self_distilled_lookalikes_smollm2.jsonl"
MAX_NEW_TOKENS = 64

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


def trim_reply(reply: str, hit_limit: bool, min_chars: int = 24) -> str:
    """``reply`` cut back to its last paragraph break or sentence end when generation ``hit_limit``.

    Returns the stripped reply unchanged when it ended on its own, or when trimming would leave fewer than
    ``min_chars`` characters (a long first sentence is kept whole rather than dropped).
    """
    text = reply.strip()
    if not hit_limit:
        return text
    paragraph = text.rfind("\n\n")
    if paragraph >= min_chars:
        return text[:paragraph].rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    cut = max((e for e in ends if e >= min_chars), default=None)
    return text if cut is None else text[:cut].rstrip()


def alignment_safe_prompts(alignment_rows: list[dict]) -> list[dict]:
    """``{id, prompt, category}`` of every safe row of the alignment set (look-alikes and everyday questions);
    ``id`` is ``alignment-<row index>``, ``category`` the row's ``kind``."""
    return [
        {"id": f"alignment-{i}", "prompt": row["messages"][0]["content"], "category": row.get("kind", "")}
        for i, row in enumerate(alignment_rows)
        if row.get("label") == "safe"
    ]


def distill(
    checkpoint: Path, prompts_path: Path = PROMPTS, batch_size: int = 32, rows: list[dict] | None = None
) -> list[dict]:
    """One chat row per instruction: the user's prompt and ``checkpoint``'s greedy reply (trimmed).

    ``rows`` (``{id, prompt, category}``) replaces the prompts read from ``prompts_path``.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from axolotl_agl.drift.generate import render_chat_prompts
    from axolotl_agl.utils.io import read_jsonl

    rows = read_jsonl(prompts_path) if rows is None else rows
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    texts = render_chat_prompts(tokenizer, [r["prompt"] for r in rows])
    tokenizer.padding_side = "left"
    out: list[dict] = []
    order = sorted(range(len(rows)), key=lambda i: len(texts[i]))
    replies: dict[int, str] = {}
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            enc = tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False)
            gen = model.generate(
                **enc, max_new_tokens=MAX_NEW_TOKENS, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
            new = gen[:, enc["input_ids"].shape[1] :]
            for i, ids in zip(batch, new, strict=True):
                hit_limit = bool((ids != tokenizer.pad_token_id).sum() >= MAX_NEW_TOKENS)
                replies[i] = trim_reply(tokenizer.decode(ids, skip_special_tokens=True), hit_limit)
            print(f"distill: {min(start + batch_size, len(order))}/{len(order)}", file=sys.stderr, flush=True)
    for i, row in enumerate(rows):
        messages = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": replies[i]}]
        out.append({"id": row["id"], "category": row["category"], "kind": "self_distilled", "messages": messages})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="SmolLM2 folder (default: build/reuse cache)")
    parser.add_argument("--out", type=Path, default=None, help="default: the package data file of the mode")
    parser.add_argument("--lookalikes", action="store_true", help="answer the alignment set's look-alike prompts")
    args = parser.parse_args(argv)
    checkpoint = args.checkpoint
    if checkpoint is None:
        from axolotl_agl.experiments.smollm2 import ensure_smollm2_checkpoint

        checkpoint = ensure_smollm2_checkpoint()
    from axolotl_agl.data import default_alignment_path
    from axolotl_agl.drift.judge import is_refusal
    from axolotl_agl.utils.io import read_jsonl, write_jsonl

    if args.lookalikes:
        out = args.out or LOOKALIKE_OUTPUT
        # All safe rows are generated in one length-sorted batch order (the run that built the shipped file); only
        # the look-alikes are kept: the everyday questions keep their written, correct answers.
        rows = distill(checkpoint, rows=alignment_safe_prompts(read_jsonl(default_alignment_path())))
        looks = [r for r in rows if r["category"] == "lookalike"]
        kept = [dict(r, kind="self_distilled_lookalike") for r in looks if not is_refusal(r["messages"][1]["content"])]
        print(f"distill: {len(looks) - len(kept)} replies read as refusals left out", file=sys.stderr)
        write_jsonl(out, kept)
    else:
        out = args.out or OUTPUT
        write_jsonl(out, distill(checkpoint))
    print(out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
