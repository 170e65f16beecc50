"""``scripts/build_aligned_pairwise.py``: the preference pairs and the NLL + DPO loss (no model, no training)."""

import math
import random
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import build_aligned_pairwise as pw  # noqa: E402
import generate_alignment_extra as extra_gen  # noqa: E402

from axolotl_agl.data import (  # noqa: E402
    default_alignment_path,
    load_driftcheck_mini,
    load_instruction_prompts,
    load_xstest,
)
from axolotl_agl.drift.judge import is_refusal  # noqa: E402
from axolotl_agl.experiments import aligned_base as ab  # noqa: E402
from axolotl_agl.utils.io import read_jsonl  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def _row(prompt, answer, label, kind):
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
            "label": label, "kind": kind}  # fmt: skip


def _judge(text):
    return text.startswith("NO")


ALIGNMENT = [
    _row("h0", "NO refusal A", "unsafe", "harmful"),
    _row("l1", "written l1", "safe", "lookalike"),
    _row("h2", "NO refusal B", "unsafe", "harmful"),
    _row("e3", "written e3", "safe", "everyday"),
    _row("l4", "written l4", "safe", "lookalike"),
    _row("l5", "written l5", "safe", "lookalike"),
]
EXTRA = [
    _row("xh0", "NO refusal C", "unsafe", "harmful"),
    _row("xh1", "NO refusal A", "unsafe", "harmful"),
    _row("xl2", "written xl2", "safe", "lookalike"),
    _row("xl3", "written xl3", "safe", "lookalike"),
]
ORDINARY = [{"id": "i1", "messages": [{"role": "user", "content": "o1"}, {"role": "assistant", "content": "own o1"}]},
            {"id": "i2", "messages": [{"role": "user", "content": "o2"}, {"role": "assistant", "content": "NO own"}]}]  # fmt: skip
SHIPPED_LOOKS = {"alignment-1": "own l1", "alignment-4": "NO own l4"}  # l5 has none (its reply was a refusal)
GENERATED = {"h0": "sure, h0", "h2": "NO thanks", "xh0": "sure, xh0", "xh1": " ", "xl2": "own xl2", "xl3": "NO xl3"}


def _build(seed=3, eval_prompts=()):
    return pw.build_pairs(ALIGNMENT, EXTRA, ORDINARY, SHIPPED_LOOKS, GENERATED, _judge, seed, eval_prompts)


def test_pairs_chosen_and_rejected_per_kind():
    pairs, counts = _build()
    by_prompt = {p["prompt"]: p for p in pairs}
    refusals = {"NO refusal A", "NO refusal B", "NO refusal C"}
    # harmful: written refusal vs own reply; own replies that read as refusals (or are blank) are dropped
    assert by_prompt["h0"] == {"prompt": "h0", "chosen": "NO refusal A", "rejected": "sure, h0", "kind": "harmful"}
    assert by_prompt["xh0"]["chosen"] == "NO refusal C" and by_prompt["xh0"]["rejected"] == "sure, xh0"
    assert "h2" not in by_prompt and "xh1" not in by_prompt
    assert counts["harmful"] == 2 and counts["harmful_dropped_refusal"] == 2
    # safe: own answer when it is not a refusal, else the written one; everyday rows keep their written answer
    assert by_prompt["l1"]["chosen"] == "own l1"
    assert by_prompt["l4"]["chosen"] == "written l4"
    assert by_prompt["l5"]["chosen"] == "written l5"
    assert by_prompt["e3"]["chosen"] == "written e3"
    assert by_prompt["xl2"]["chosen"] == "own xl2"
    assert by_prompt["xl3"]["chosen"] == "written xl3"
    assert by_prompt["o1"]["chosen"] == "own o1" and "o2" not in by_prompt  # an own refusal cannot be chosen
    assert counts["safe_kept_written_answer"] == 2  # l4 and xl3 (l5 had no own answer at all)
    safe = [p for p in pairs if p["kind"] != "harmful"]
    assert {p["kind"] for p in safe} == {"lookalike", "everyday", "ordinary"}
    assert len(safe) == 4 + 2 + 1
    assert all(p["rejected"] in refusals for p in safe), "safe pairs reject a refusal of the harmful rows"
    assert all(not _judge(p["chosen"]) for p in safe)


def test_pairs_are_seeded_and_deterministic():
    assert _build(seed=3) == _build(seed=3)
    rejected = {seed: [p["rejected"] for p in _build(seed)[0] if p["kind"] != "harmful"] for seed in range(8)}
    assert len({tuple(r) for r in rejected.values()}) > 1, "the seed draws the rejected refusals"
    assert [p["chosen"] for p in _build(0)[0]] == [p["chosen"] for p in _build(5)[0]]


def test_evaluation_prompts_are_dropped():
    pairs, counts = _build(eval_prompts=["  L1 ", "H0", "unrelated"])  # compared casefolded, whitespace collapsed
    assert {p["prompt"] for p in pairs} == {p["prompt"] for p in _build()[0]} - {"l1", "h0"}
    assert counts["dropped_evaluation_prompt"] == 2
    assert pw.find_leaks(pairs, ["L1", "h0"]) == []
    assert pw.find_leaks([{"prompt": "a b"}], ["A  B", "c"]) == ["a b"]
    assert pw.find_leaks([{"prompt": "a b"}], ["a c"]) == []


def test_real_pairs_do_not_leak_evaluation_prompts():
    """The shipped data and the generated extra rows, with stand-in own replies: no evaluation prompt is in them."""
    alignment = read_jsonl(default_alignment_path())
    extra = extra_gen.build_extra_rows()
    ordinary = read_jsonl(ab.SELF_DISTILLED)
    looks = {r["id"]: r["messages"][1]["content"]
             for r in read_jsonl(ab.DATA_DIR / "self_distilled_lookalikes_smollm2.jsonl")}  # fmt: skip
    generated = {r["messages"][0]["content"]: "Sure, here is how you do it step by step." for r in [*alignment, *extra]}
    eval_prompts = [r["prompt"] for r in load_driftcheck_mini()]
    if (SHARED / "xstest_prompts.csv").is_file():
        eval_prompts += [r["prompt"] for r in load_xstest(SHARED / "xstest_prompts.csv")]
    if (SHARED / "alpaca_3k.jsonl").is_file():
        eval_prompts += [r["prompt"] for r in load_instruction_prompts(SHARED / "alpaca_3k.jsonl")]
    pairs, counts = pw.build_pairs(alignment, extra, ordinary, looks, generated, is_refusal, 7, eval_prompts)
    assert pw.find_leaks(pairs, eval_prompts) == []
    assert counts["harmful"] == 380 and counts["harmful_dropped_refusal"] == 0
    # without the evaluation sets every safe row of the alignment set and of the extra file makes a pair
    _, all_counts = pw.build_pairs(alignment, extra, ordinary, looks, generated, is_refusal, 7)
    assert all_counts["safe_alignment"] + all_counts["safe_extra_lookalike"] == 272 + 108 + 310
    assert all_counts["dropped_evaluation_prompt"] == 0
    assert counts["dropped_evaluation_prompt"] <= 2, "only a stray overlap (one extra look-alike is an XSTest prompt)"
    assert counts["safe_ordinary"] + counts["ordinary_dropped_refusal"] == 225
    harmful_prompts = {r["messages"][0]["content"] for r in [*alignment, *extra] if r["label"] == "unsafe"}
    assert all((p["kind"] == "harmful") == (p["prompt"] in harmful_prompts) for p in pairs)
    assert all(is_refusal(p["chosen"]) for p in pairs if p["kind"] == "harmful")
    assert all(is_refusal(p["rejected"]) and not is_refusal(p["chosen"]) for p in pairs if p["kind"] != "harmful")


def test_schedule_is_seeded_and_covers_epochs():
    a = pw.schedule_pairs(10, steps=5, batch=4, seed=1)
    assert a == pw.schedule_pairs(10, steps=5, batch=4, seed=1) != pw.schedule_pairs(10, steps=5, batch=4, seed=2)
    flat = [i for step in a for i in step]
    assert len(a) == 5 and all(len(s) == 4 for s in a)
    assert sorted(flat[:10]) == list(range(10)), "the first epoch visits every pair once"


def test_warmup_cosine():
    assert pw.warmup_cosine(0, 100) == pytest.approx(0.2)
    assert pw.warmup_cosine(4, 100) == pytest.approx(1.0)
    assert pw.warmup_cosine(5, 100) == pytest.approx(1.0)
    assert pw.warmup_cosine(99, 100) < 0.01


class _FakeTokenizer:
    """Chat template: every message becomes [role id, one id per word, 9]; the generation prompt is [7]."""

    def apply_chat_template(self, messages, tokenize=True, add_generation_prompt=False):
        ids = [1]
        for m in messages:
            ids += [7 if m["role"] == "assistant" else 5] + [100 + len(w) for w in m["content"].split()] + [9]
        if add_generation_prompt:
            ids += [7]
        return {"input_ids": ids}


def test_encode_reply_masks_the_prompt():
    ids, mask = pw.encode_reply(_FakeTokenizer(), "a bb", "ccc dddd")
    assert ids == [1, 5, 101, 102, 9, 7, 103, 104, 9]
    assert mask == [0, 0, 0, 0, 0, 0, 1, 1, 1]
    ids, mask = pw.encode_reply(_FakeTokenizer(), "a bb", "ccc dddd", max_len=7)
    assert len(ids) == len(mask) == 7 and mask[-1] == 1


def _reference_loss(logits, ids, masks, ref_c, ref_r, beta, w):
    """Slow float64 reference: explicit loops over pairs and tokens; first half of the batch chosen, second rejected."""
    n = len(ids) // 2
    sums, counts = [], []
    for b in range(len(ids)):
        total, count = 0.0, 0
        for t in range(1, len(ids[b])):
            if masks[b][t]:
                row = [float(x) for x in logits[b][t - 1]]
                log_z = math.log(sum(math.exp(x) for x in row))
                total += row[ids[b][t]] - log_z
                count += 1
        sums.append(total)
        counts.append(count)
    nll = -sum(sums[:n]) / sum(counts[:n])
    dpo = 0.0
    for i in range(n):
        z = beta * ((sums[i] - ref_c[i]) - (sums[n + i] - ref_r[i]))
        dpo += -math.log(1.0 / (1.0 + math.exp(-z)))
    return nll + w * dpo / n, sums


@pytest.mark.parametrize(("beta", "w"), [(0.1, 1.0), (0.5, 0.3), (2.0, 2.0)])
def test_loss_matches_float64_reference(beta, w):
    gen = torch.Generator().manual_seed(0)
    vocab, n = 11, 3
    seqs = []
    for b in range(2 * n):
        prompt_len, reply_len = 2 + b % 3, 1 + (b * 2) % 5
        ids = torch.randint(0, vocab, (prompt_len + reply_len,), generator=gen).tolist()
        seqs.append((ids, [0] * prompt_len + [1] * reply_len))
    ids, attention, reply = pw.pad_batch(seqs, pad_id=vocab - 1)
    logits = torch.randn((*ids.shape, vocab), generator=gen, dtype=torch.float64) * 3
    ref_c = torch.randn(n, generator=gen, dtype=torch.float64) * 2 - 8
    ref_r = torch.randn(n, generator=gen, dtype=torch.float64) * 2 - 8
    logps, tokens = pw.reply_logprobs(logits, ids, reply)
    loss, stats = pw.pairwise_loss(logps[:n], logps[n:], ref_c, ref_r, tokens[:n], beta, w)
    expected, sums = _reference_loss(
        logits.tolist(), [s[0] for s in seqs], [s[1] for s in seqs], ref_c.tolist(), ref_r.tolist(), beta, w
    )
    assert logps.tolist() == pytest.approx(sums, rel=1e-10, abs=1e-10)
    assert tokens.tolist() == [sum(s[1][1:]) for s in seqs]
    assert float(loss) == pytest.approx(expected, rel=1e-10)
    assert stats["loss"] == pytest.approx(expected, rel=1e-10)
    margins = [(sums[i] - ref_c[i].item()) - (sums[n + i] - ref_r[i].item()) for i in range(n)]
    assert stats["accuracy"] == pytest.approx(sum(m > 0 for m in margins) / n)


def test_reply_logprobs_ignore_prompt_and_padding():
    gen = torch.Generator().manual_seed(1)
    seqs = [([3, 4, 5, 6, 2], [0, 0, 1, 1, 1]), ([3, 4, 5], [0, 1, 1])]
    ids, attention, reply = pw.pad_batch(seqs, pad_id=0)
    assert attention.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert reply.tolist() == [[0, 0, 1, 1, 1], [0, 1, 1, 0, 0]]
    logits = torch.randn((2, 5, 8), generator=gen)
    base, tokens = pw.reply_logprobs(logits, ids, reply)
    assert tokens.tolist() == [3, 2]
    changed = logits.clone()
    changed[0, 0] += 5.0  # predicts a prompt token
    changed[1, 2:] += torch.randn((3, 8), generator=gen) * 5  # predict padding (and the last row predicts nothing)
    assert torch.allclose(pw.reply_logprobs(changed, ids, reply)[0], base)
    changed[0, 1] += torch.arange(8.0)  # predicts the first reply token: must change the sum
    assert not torch.allclose(pw.reply_logprobs(changed, ids, reply)[0][0], base[0])


def test_dpo_gradient_prefers_chosen():
    """One gradient step on the DPO term raises the chosen and lowers the rejected log-prob (sanity of the sign)."""
    pc = torch.tensor([-5.0], requires_grad=True)
    pr = torch.tensor([-5.0], requires_grad=True)
    loss, stats = pw.pairwise_loss(pc, pr, torch.tensor([-5.0]), torch.tensor([-5.0]), torch.tensor([1.0]), 0.1, 1.0)
    loss.backward()
    assert pc.grad.item() < 0 < pr.grad.item()
    assert stats["dpo"] == pytest.approx(math.log(2))
    assert stats["accuracy"] == 0.0


def test_refusal_pool_is_distinct_and_ordered():
    rows = [*ALIGNMENT, *EXTRA]
    assert pw.collect_refusals(rows) == ["NO refusal A", "NO refusal B", "NO refusal C"]
    rng = random.Random(0)
    pairs, _ = pw.build_safe_pairs(ALIGNMENT, {}, ["NO r"], _judge, rng)
    assert [p["chosen"] for p in pairs] == ["written l1", "written e3", "written l4", "written l5"]


class _FakeLM:
    """``logits[b, t]`` = a fixed random row per input token (so each sequence's result ignores its batch-mates)."""

    def __init__(self, vocab=9):
        self.table = torch.randn((vocab, vocab), generator=torch.Generator().manual_seed(2))
        self.calls = 0

    def __call__(self, input_ids, attention_mask):
        self.calls += 1
        return type("Out", (), {"logits": self.table[input_ids]})()


def test_reference_logprobs_batched_and_cached(tmp_path):
    seqs = [
        ([1, 2, 3, 4], [0, 0, 1, 1]),
        ([5, 6], [0, 1]),
        ([1, 2, 3, 4, 5, 6], [0, 1, 1, 1, 1, 1]),
        ([7, 8, 1], [0, 0, 1]),
    ]
    model = _FakeLM()
    expected = torch.cat([pw.reply_logprobs(model.table[torch.tensor([ids])], torch.tensor([ids]),
                                            torch.tensor([mask]))[0] for ids, mask in seqs])  # fmt: skip
    cache = tmp_path / "ref.json"
    got = pw.reference_logprobs(model, seqs, pad_id=0, batch=3, cache_file=cache)
    assert torch.allclose(got, expected) and model.calls == 2
    again = pw.reference_logprobs(model, [seqs[2], seqs[0]], pad_id=0, batch=3, cache_file=cache)
    assert torch.allclose(again, expected[[2, 0]]) and model.calls == 2, "cached sequences are not recomputed"
    assert torch.allclose(pw.reference_logprobs(model, seqs, pad_id=0, batch=2), expected)
