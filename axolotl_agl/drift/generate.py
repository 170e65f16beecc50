"""Load a model to evaluate (base, base + PEFT adapter, or an Axolotl run) and generate replies greedily.

Generation uses the tokenizer's chat template (one user turn, generation prompt added), LEFT padding, greedy
decoding, ``torch.inference_mode`` and a tqdm progress bar. Prompts are processed in order of length so batches
carry little padding; replies come back in the input order.

Axolotl runs are read from their YAML with PyYAML only (``base_model``, ``output_dir``); Axolotl is not imported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "AXOLOTL_DEFAULT_OUTPUT_DIR",
    "ModelSpec",
    "generate_from_texts",
    "generate_replies",
    "greedy_generation_config",
    "load_model_and_tokenizer",
    "read_axolotl_config",
    "render_chat_prompts",
    "resolve_model_spec",
]

LOG = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: Axolotl's default ``output_dir`` when the YAML does not set one.
AXOLOTL_DEFAULT_OUTPUT_DIR = "./model-out"

_FALLBACK_TEMPLATE = "User: {prompt}\nAssistant:"


@dataclass(frozen=True)
class ModelSpec:
    """One model to evaluate.

    Attributes:
        name: Report label.
        model_path: Base model (directory or hub id), or the directory of a fully fine-tuned model.
        adapter_path: PEFT adapter directory loaded on top of ``model_path``, or None.
    """

    name: str
    model_path: str
    adapter_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "model_path": self.model_path, "adapter_path": self.adapter_path}


def resolve_model_spec(name: str, base_model: str, path: PathLike | None) -> ModelSpec:
    """Decide how to load ``path`` relative to ``base_model``.

    Args:
        name: Report label.
        base_model: The base model (directory or hub id).
        path: None (the base model itself), a PEFT adapter directory (has ``adapter_config.json``) or a full model
            directory (has ``config.json``).

    Raises:
        FileNotFoundError: if ``path`` is neither an adapter nor a model directory.
    """
    if path is None:
        return ModelSpec(name, str(base_model), None)
    directory = Path(path)
    if (directory / "adapter_config.json").is_file():
        return ModelSpec(name, str(base_model), str(directory))
    if (directory / "config.json").is_file():
        return ModelSpec(name, str(directory), None)
    raise FileNotFoundError(
        f"{name}: {directory} holds neither a PEFT adapter (adapter_config.json) nor a model (config.json); "
        "has the run finished? For a checkpoint, pass its directory (e.g. .../checkpoint-100)."
    )


def read_axolotl_config(path: PathLike, name: str | None = None) -> tuple[str, ModelSpec]:
    """Read an Axolotl YAML and return ``(base_model, spec of the trained model in output_dir)``.

    ``output_dir`` (default ``./model-out``) is resolved like Axolotl does, relative to the working directory; if it
    does not exist there, relative to the YAML's folder. ``name`` defaults to the YAML file's stem.

    Raises:
        ValueError: if the YAML has no ``base_model``.
        FileNotFoundError: if ``output_dir`` holds no adapter or model.
    """
    config_path = Path(path)
    with open(config_path, encoding="utf-8") as handle:
        cfg = yaml.safe_load(handle) or {}
    if not isinstance(cfg, dict) or not cfg.get("base_model"):
        raise ValueError(f"{config_path}: no base_model in the Axolotl config")
    base_model = str(cfg["base_model"])
    output_dir = Path(str(cfg.get("output_dir") or AXOLOTL_DEFAULT_OUTPUT_DIR)).expanduser()
    if not output_dir.is_absolute() and not output_dir.exists():
        beside = config_path.resolve().parent / output_dir
        if beside.exists():
            output_dir = beside
    return base_model, resolve_model_spec(name or config_path.stem, base_model, output_dir)


def _torch_dtype(dtype: str | None) -> Any:
    import torch

    if dtype in (None, "", "float32", "fp32"):
        return torch.float32
    if dtype == "auto":
        return "auto"
    table = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if dtype not in table:
        raise ValueError(f"unknown dtype {dtype!r}")
    return table[dtype]


def load_model_and_tokenizer(
    spec: ModelSpec,
    device: str = "cpu",
    dtype: str | None = None,
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    """Load the causal LM (plus its PEFT adapter if any) and its tokenizer, in eval mode on ``device``.

    The tokenizer comes from the adapter directory when it holds one (Axolotl saves the tokenizer, with any chat
    template it set, into ``output_dir``), else from ``model_path``. ``dtype`` defaults to float32.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer_source = spec.model_path
    if spec.adapter_path and (Path(spec.adapter_path) / "tokenizer_config.json").is_file():
        tokenizer_source = spec.adapter_path
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, trust_remote_code=trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        spec.model_path, dtype=_torch_dtype(dtype), trust_remote_code=trust_remote_code
    )
    if spec.adapter_path:
        from peft import PeftModel

        embeddings = model.get_input_embeddings()
        if embeddings is not None and len(tokenizer) > embeddings.num_embeddings:
            model.resize_token_embeddings(len(tokenizer))
        model = PeftModel.from_pretrained(model, spec.adapter_path)
    model.to(device)
    model.eval()
    return model, tokenizer


def render_chat_prompts(tokenizer: Any, prompts: Sequence[str], system_prompt: str | None = None) -> list[str]:
    """Render each prompt as one user turn with the tokenizer's chat template and the generation prompt.

    Without a chat template, ``"User: {prompt}\\nAssistant:"`` is used (and a warning logged).
    """
    if not getattr(tokenizer, "chat_template", None):
        LOG.warning("tokenizer has no chat template; using the plain %r format", _FALLBACK_TEMPLATE)
        return [_FALLBACK_TEMPLATE.format(prompt=p) for p in prompts]
    rendered = []
    for prompt in prompts:
        messages = [{"role": "user", "content": prompt}]
        if system_prompt:
            messages.insert(0, {"role": "system", "content": system_prompt})
        rendered.append(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    return rendered


def greedy_generation_config(model: Any, tokenizer: Any, max_new_tokens: int) -> Any:
    """A copy of ``model``'s generation config set to greedy decoding of ``max_new_tokens`` tokens."""
    import copy

    from transformers import GenerationConfig

    base = getattr(model, "generation_config", None)
    config = copy.deepcopy(base) if base is not None else GenerationConfig()
    config.do_sample = False
    config.num_beams = 1
    config.temperature = None
    config.top_p = None
    config.top_k = None
    config.max_new_tokens = max_new_tokens
    config.max_length = None
    if config.pad_token_id is None:
        config.pad_token_id = tokenizer.pad_token_id
    if config.eos_token_id is None:
        config.eos_token_id = tokenizer.eos_token_id
    return config


def generate_from_texts(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    max_new_tokens: int = 48,
    batch_size: int = 8,
    add_special_tokens: bool = False,
    progress: bool = True,
    desc: str = "generate",
) -> list[str]:
    """Greedy continuations of already-rendered ``texts`` (left padding, batches sorted by length).

    Args:
        add_special_tokens: Passed to the tokenizer; False for chat-template output (which carries its own BOS).

    Returns:
        The decoded new tokens of each text (special tokens skipped, whitespace stripped), in input order.
    """
    import torch
    from tqdm.auto import tqdm

    if not texts:
        return []
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = greedy_generation_config(model, tokenizer, max_new_tokens)
    device = next(model.parameters()).device
    lengths = [len(tokenizer(t, add_special_tokens=add_special_tokens)["input_ids"]) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
    replies: list[str] = [""] * len(texts)
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        with torch.inference_mode(), tqdm(total=len(texts), desc=desc, disable=not progress, leave=False) as bar:
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                enc = tokenizer(
                    [texts[i] for i in batch],
                    return_tensors="pt",
                    padding=True,
                    add_special_tokens=add_special_tokens,
                ).to(device)
                output = model.generate(**enc, generation_config=config)
                new_tokens = output[:, enc["input_ids"].shape[1] :]
                for i, text in zip(batch, tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True):
                    replies[i] = text.strip()
                bar.update(len(batch))
    finally:
        tokenizer.padding_side = previous_side
    return replies


def generate_replies(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int = 48,
    batch_size: int = 8,
    system_prompt: str | None = None,
    progress: bool = True,
    desc: str = "generate",
) -> list[str]:
    """Greedy chat replies to ``prompts`` (one user turn each), in input order. See :func:`generate_from_texts`."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    texts = render_chat_prompts(tokenizer, prompts, system_prompt)
    return generate_from_texts(
        model,
        tokenizer,
        texts,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        add_special_tokens=not has_template,
        progress=progress,
        desc=desc,
    )
