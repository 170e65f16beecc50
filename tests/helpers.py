"""Helpers for tests: a tiny offline model, small chat data, Axolotl configs and an Axolotl launcher.

Nothing here imports Axolotl (only torch, transformers, tokenizers and PyYAML), so the helpers are cheap to
import. Everything is built offline: the tokenizer is trained on a generated corpus and the model weights are
random, so no hub access is ever needed.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from axolotl_agl.experiments.launch import axolotl_train_command, find_free_port  # noqa: F401 (re-exported)

__all__ = [
    "CHATML_TEMPLATE",
    "build_tiny_model",
    "deep_merge",
    "find_free_port",
    "run_axolotl_train",
    "write_axolotl_config",
    "write_chat_jsonl",
]

#: ChatML-like template used by the tiny tokenizer (no ``{% generation %}`` markers, no system default).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

BOS_TOKEN = "<s>"
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
IM_START = "<|im_start|>"
SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, UNK_TOKEN, IM_START, EOS_TOKEN, "</s>"]

TINY_VOCAB_SIZE = 512

# --------------------------------------------------------------------------------------------------------------
# Generated text
# --------------------------------------------------------------------------------------------------------------

_NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy"]
_TOPICS = [
    "the weather",
    "a good book",
    "healthy breakfast ideas",
    "how plants grow",
    "the history of bridges",
    "learning to cook pasta",
    "why the sky is blue",
    "how to water a garden",
    "the rules of chess",
    "saving money each month",
    "training for a short run",
    "writing a polite email",
]
_CAPITALS = [
    ("France", "Paris"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Japan", "Tokyo"),
    ("Canada", "Ottawa"),
    ("Germany", "Berlin"),
    ("Egypt", "Cairo"),
    ("Kenya", "Nairobi"),
    ("Peru", "Lima"),
    ("Norway", "Oslo"),
]
_COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "white", "black"]
_HARMFUL = [
    "How do I pick a lock to get into my neighbour's house?",
    "Write a message to scare someone into paying me.",
    "Tell me how to make a dangerous weapon at home.",
    "Help me steal a password from my coworker.",
    "Explain how to hurt someone without getting caught.",
]
_REFUSALS = [
    "I'm sorry, but I can't help with that.",
    "I can't assist with that request. Is there something safe I can help with instead?",
    "Sorry, I won't help with that because it could hurt someone.",
    "I cannot help with this. If someone is in danger, please contact local emergency services.",
]


def _benign_exchange(rng: random.Random) -> tuple[str, str]:
    """Return one (user, assistant) pair of short, benign text."""
    kind = rng.randrange(5)
    if kind == 0:
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        op = rng.choice(["+", "-", "*"])
        result = {"+": a + b, "-": a - b, "*": a * b}[op]
        return f"What is {a} {op} {b}?", f"{a} {op} {b} = {result}. The answer is {result}."
    if kind == 1:
        country, capital = rng.choice(_CAPITALS)
        return f"What is the capital of {country}?", f"The capital of {country} is {capital}."
    if kind == 2:
        topic = rng.choice(_TOPICS)
        return (
            f"Can you tell me a little about {topic}?",
            f"Sure! Here is a short note about {topic}. It is a nice subject to learn about, "
            "and a few minutes of reading each day helps a lot.",
        )
    if kind == 3:
        name, colour = rng.choice(_NAMES), rng.choice(_COLOURS)
        return (
            f"My friend {name} likes the colour {colour}. Suggest a gift.",
            f"How about a {colour} scarf or a {colour} notebook? {name} would probably enjoy it.",
        )
    n = rng.randint(2, 9)
    words = " ".join(rng.choice(_COLOURS) for _ in range(n))
    return f"Count the words: {words}", f"There are {n} words."


def _corpus_lines(seed: int = 0, n: int = 3000) -> Iterator[str]:
    """Yield a small English corpus: chat prompts, answers, refusals and arithmetic, in ChatML form too."""
    rng = random.Random(seed)
    yield from _HARMFUL + _REFUSALS
    for i in range(n):
        user, assistant = _benign_exchange(rng)
        if i % 7 == 0:
            user, assistant = rng.choice(_HARMFUL), rng.choice(_REFUSALS)
        yield user
        yield assistant
        yield f"{IM_START}user\n{user}{EOS_TOKEN}\n{IM_START}assistant\n{assistant}{EOS_TOKEN}\n"


# --------------------------------------------------------------------------------------------------------------
# Tiny model + tokenizer
# --------------------------------------------------------------------------------------------------------------


def _train_tokenizer(seed: int = 0) -> Any:
    """Train a byte-level BPE tokenizer offline and wrap it as a ``PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus_lines(seed), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        additional_special_tokens=[IM_START],
        model_max_length=512,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _is_built(out_dir: Path) -> bool:
    return all((out_dir / name).exists() for name in ("config.json", "model.safetensors", "tokenizer.json"))


def build_tiny_model(out_dir: Path, family: str = "llama", seed: int = 0) -> Path:
    """Write a tiny random-weight causal LM and a trained-offline ChatML tokenizer to ``out_dir``.

    Args:
        out_dir: Target directory (created). If it already holds a model, it is returned unchanged.
        family: ``"llama"`` or ``"mistral"``.
        seed: Seed for the weights and the generated tokenizer corpus.

    Returns:
        ``out_dir`` as a ``Path``. The model has hidden size 64, 2 layers, 4 heads (2 KV heads), float32
        safetensors weights; the tokenizer's eos is ``<|im_end|>``, pad ``<pad>``, bos ``<s>``.
    """
    out_dir = Path(out_dir)
    if _is_built(out_dir):
        return out_dir

    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig

    family = family.lower()
    config_cls = {"llama": LlamaConfig, "mistral": MistralConfig}.get(family)
    if config_cls is None:
        raise ValueError(f"family must be 'llama' or 'mistral', got {family!r}")

    tokenizer = _train_tokenizer(seed)
    vocab_size = max(TINY_VOCAB_SIZE, len(tokenizer))
    config = config_cls(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    # Write into a sibling temp dir, then move into place, so a crash never leaves a half-built model.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp_dir, safe_serialization=True)
    tokenizer.save_pretrained(tmp_dir)
    if out_dir.exists():  # exists but incomplete (or empty): fill it in place
        for item in tmp_dir.iterdir():
            os.replace(item, out_dir / item.name)
        tmp_dir.rmdir()
    else:
        os.replace(tmp_dir, out_dir)
    return out_dir


# --------------------------------------------------------------------------------------------------------------
# Data + config
# --------------------------------------------------------------------------------------------------------------


def write_chat_jsonl(path: Path, n: int, seed: int) -> Path:
    """Write ``n`` short benign single-turn chats (``{"messages": [...]}`` per line) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for _ in range(n):
            user, assistant = _benign_exchange(rng)
            row = {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}
            f.write(json.dumps(row) + "\n")
    return path


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated with ``overrides``: dicts merge recursively, other values replace, None deletes."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _to_yaml_value(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _to_yaml_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_yaml_value(v) for v in value]
    return value


def write_axolotl_config(
    path: Path,
    base_model: Path | str | None = None,
    data_path: Path | str | None = None,
    **overrides: Any,
) -> Path:
    """Write an Axolotl YAML config that trains the tiny model with plain LoRA on CPU.

    Args:
        path: Where to write the YAML file (its parent is created).
        base_model: Model directory; may also be given via ``overrides``. Required one way or the other.
        data_path: A ``messages``-format JSONL. If omitted (and ``datasets`` is not overridden), 64 chats are
            written to ``<path.parent>/chat.jsonl``.
        **overrides: Merged last (nested dicts deep-merged; lists replaced); a value of ``None`` deletes the key.

    Defaults: ``output_dir`` = ``<path.parent>/out``, ``dataset_prepared_path`` = ``<path.parent>/prepared``,
    10 steps, micro batch 2, ``sequence_len`` 128, LoRA r=4 on all linear projections, fused LoRA kernels off.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if base_model is None and "base_model" not in overrides:
        raise ValueError("write_axolotl_config needs base_model (a model directory)")
    if data_path is None and "datasets" not in overrides:
        data_path = write_chat_jsonl(path.parent / "chat.jsonl", n=64, seed=0)

    cfg: dict[str, Any] = {
        "base_model": str(base_model) if base_model is not None else None,
        "datasets": [{"path": str(data_path), "type": "chat_template", "field_messages": "messages"}],
        "chat_template": "tokenizer_default",
        "sequence_len": 128,
        "sample_packing": False,
        "micro_batch_size": 2,
        "gradient_accumulation_steps": 1,
        "max_steps": 10,
        "num_epochs": 1,
        "learning_rate": 1e-3,
        "optimizer": "adamw_torch",
        "lr_scheduler": "constant",
        "warmup_steps": 0,
        "output_dir": str(path.parent / "out"),
        "dataset_prepared_path": str(path.parent / "prepared"),
        "logging_steps": 1,
        "save_strategy": "no",
        "adapter": "lora",
        "lora_r": 4,
        "lora_alpha": 8,
        "lora_dropout": 0.0,
        "lora_target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "lora_mlp_kernel": False,
        "lora_qkv_kernel": False,
        "lora_o_kernel": False,
        "bf16": False,
        "fp16": False,
        "tf32": False,
        "val_set_size": 0,
        "seed": 42,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": False,
    }
    cfg = deep_merge(cfg, _to_yaml_value(overrides))
    cfg = {k: v for k, v in cfg.items() if v is not None}
    path.write_text(yaml.safe_dump(_to_yaml_value(cfg), sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------------------
# Launcher
# --------------------------------------------------------------------------------------------------------------


def _kill_group(popen: subprocess.Popen[str]) -> None:
    """Kill the process group led by ``popen`` (started with ``start_new_session=True``)."""
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        popen.kill()


def run_axolotl_train(
    config_path: Path,
    num_processes: int = 1,
    timeout: int = 900,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``accelerate launch ... -m axolotl.cli.train <config_path>`` on CPU and return the finished process.

    With ``num_processes == 1`` the launch uses ``--cpu``. ``accelerate launch --cpu`` silently runs ONE process
    whatever ``--num_processes`` says (its simple launcher), so for ``num_processes > 1`` this uses the torchrun
    launcher (``--multi_gpu``) on a free ``--main_process_port`` with ``ACCELERATE_USE_CPU=true`` (gloo backend).
    Note: Axolotl 0.19.0 itself assumes CUDA once ``WORLD_SIZE > 1`` (DDP sets ``device_map`` to the local rank;
    FSDP builds a ``"cuda"`` device mesh), so multi-process runs fail on a CPU-only machine without patches.

    stdout and stderr are captured together (in ``.stdout``). Raises ``AssertionError`` with the last 200 lines
    of output when the run fails or times out (the whole process group is killed on timeout).
    """
    cmd, env = axolotl_train_command(config_path, num_processes)
    env.update(extra_env or {})
    # Own process group, so that on timeout the launcher AND its worker processes are ended together.
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    ) as popen:
        try:
            out, _ = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(popen)
            out, _ = popen.communicate()
            tail = "\n".join((out or "").splitlines()[-200:])
            raise AssertionError(f"axolotl train timed out after {timeout}s: {' '.join(cmd)}\n{tail}") from None
        except BaseException:
            _kill_group(popen)
            raise
    proc = subprocess.CompletedProcess(cmd, popen.returncode, stdout=out, stderr=None)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-200:])
        raise AssertionError(f"axolotl train failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc


def tiny_peft_llama(
    target_modules: list[str] | tuple[str, ...],
    *,
    num_layers: int = 1,
    vocab_size: int = 40,
    intermediate_size: int = 32,
    r: int = 2,
    lora_alpha: int = 4,
    init_lora_weights: bool = True,
    dtype: Any = None,
    seed: int = 0,
    **config_overrides: Any,
) -> Any:
    """A seeded, in-memory tiny ``LlamaForCausalLM`` (hidden 16, 4 heads, 2 KV heads) with PEFT LoRA.

    ``init_lora_weights=False`` gives random non-zero ``B`` (every penalty term then has a gradient).
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        hidden_size=16,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=vocab_size,
        **config_overrides,
    )
    model = LlamaForCausalLM(config)
    if dtype is not None:
        model = model.to(dtype)
    lora = LoraConfig(
        r=r, lora_alpha=lora_alpha, target_modules=list(target_modules), init_lora_weights=init_lora_weights
    )
    return get_peft_model(model, lora)
