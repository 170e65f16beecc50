"""Session fixtures shared by the test suite: a tiny offline model, small chat data and the shared data dir."""

import os

# Set before anything imports transformers/datasets/axolotl: no hub access, no telemetry (with telemetry on,
# an Axolotl exception can hang the process).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["AXOLOTL_DO_NOT_TRACK"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.helpers import build_tiny_model, write_chat_jsonl  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama causal LM + ChatML tokenizer, built once per session."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama", family="llama", seed=0)


@pytest.fixture(scope="session")
def tiny_mistral_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Mistral causal LM + ChatML tokenizer, built once per session."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-mistral", family="mistral", seed=0)


@pytest.fixture(scope="session")
def chat_data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 short benign chats in ``messages`` format (JSONL)."""
    return write_chat_jsonl(tmp_path_factory.mktemp("data") / "chat.jsonl", n=64, seed=0)


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The project's ``shared/data`` directory beside the repository; tests using it skip when it is absent."""
    path = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data directory not found: {path}")
    return path


@pytest.fixture
def fresh_plugin_manager():
    """Axolotl's PluginManager is a process-wide singleton: give each case an empty one, then restore it."""
    import collections

    from axolotl.integrations.base import PluginManager

    manager = PluginManager.get_instance()
    saved = manager.plugins
    manager.plugins = collections.OrderedDict()
    yield manager
    manager.plugins = saved
