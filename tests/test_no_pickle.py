"""Nothing in the package unpickles, evaluates code, or opts into remote code on its own.

Caches and outputs are read only as safetensors and JSON; prompt and data files are parsed (JSON, CSV,
YAML with the safe loader), never executed; ``trust_remote_code`` is only ever passed through from the
user's settings. The scan is over the AST of every module of ``axolotl_agl`` (imports are resolved, so
``from torch import load as l; l(f)`` is caught too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import axolotl_agl

PACKAGE = Path(axolotl_agl.__file__).resolve().parent

#: Modules whose import alone means pickle-based (de)serialisation.
BANNED_MODULES = {"pickle", "_pickle", "cPickle", "dill", "joblib", "cloudpickle", "shelve", "marshal"}
#: Fully qualified callables that unpickle or execute code.
BANNED_CALLS = {
    "torch.load",
    "torch.serialization.load",
    "pandas.read_pickle",
    "numpy.load",  # only with allow_pickle=True, see _violations
    "yaml.load",  # only without SafeLoader/CSafeLoader
    "yaml.unsafe_load",
    "yaml.full_load",
    "eval",
    "exec",
    "compile",
    "builtins.eval",
    "builtins.exec",
}
_SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader"}


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Aliases(ast.NodeVisitor):
    """Local name -> fully qualified name, from the module's imports (e.g. ``np`` -> ``numpy``)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {"np": "numpy", "pd": "pandas"}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.names[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}" if node.module else alias.name


def _qualified(node: ast.AST, aliases: dict[str, str]) -> str | None:
    dotted = _dotted(node)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    head = aliases.get(head, head)
    return f"{head}.{rest}" if rest else head


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _call_violation(call: ast.Call, aliases: dict[str, str]) -> str | None:
    name = _qualified(call.func, aliases)
    if _is_true(_keyword(call, "trust_remote_code")):
        return f"{name}(trust_remote_code=True)"
    if name not in BANNED_CALLS:
        return None
    if name == "numpy.load":
        return "numpy.load(allow_pickle=True)" if _is_true(_keyword(call, "allow_pickle")) else None
    if name == "yaml.load":
        loader = _keyword(call, "Loader") or (call.args[1] if len(call.args) > 1 else None)
        loader_name = (_dotted(loader) or "").rsplit(".", 1)[-1] if loader is not None else ""
        return None if loader_name in _SAFE_YAML_LOADERS else "yaml.load without SafeLoader"
    return name


def violations(source: str, filename: str = "<string>") -> list[str]:
    """Every pickle-based load, code evaluation or hard-coded remote-code opt-in in ``source``."""
    tree = ast.parse(source, filename=filename)
    visitor = _Aliases()
    visitor.visit(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in BANNED_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in BANNED_MODULES:
            found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            problem = _call_violation(node, visitor.names)
            if problem:
                found.append(f"{where}: {problem}")
    return found


def test_package_has_no_pickle_loads_eval_or_remote_code():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10, files
    found = [v for path in files for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))]
    assert not found, "unsafe loading or code execution:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load('x.pt')",
        "import torch\ntorch.load('x.pt', weights_only=True)",
        "from torch import load as l\nl('x')",
        "import pickle",
        "from pickle import loads",
        "import dill",
        "import joblib",
        "import cloudpickle",
        "import numpy as np\nnp.load('x.npy', allow_pickle=True)",
        "import numpy\nnumpy.load('x.npy', allow_pickle=True)",
        "import pandas as pd\npd.read_pickle('x')",
        "import yaml\nyaml.load(open('x'))",
        "import yaml\nyaml.load(open('x'), Loader=yaml.FullLoader)",
        "import yaml\nyaml.unsafe_load(open('x'))",
        "eval('1 + 1')",
        "exec('x = 1')",
        "compile('x', 'f', 'exec')",
        "from transformers import AutoModel\nAutoModel.from_pretrained('m', trust_remote_code=True)",
        "import datasets\ndatasets.load_dataset('x', trust_remote_code=True)",
    ],
)
def test_scanner_catches(source):
    assert violations(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import ast\nast.literal_eval('{}')",
        "import yaml\nyaml.safe_load(open('x'))",
        "import yaml\nyaml.load(open('x'), Loader=yaml.SafeLoader)",
        "import numpy as np\nnp.load('x.npy')",
        "import re\nre.compile('a+')",
        "model.eval()",
        "from safetensors.torch import load_file\nload_file('x.safetensors')",
        "import json\njson.loads('{}')",
        "f(trust_remote_code=cfg.trust_remote_code is True)",
    ],
)
def test_scanner_allows(source):
    assert not violations(source), source


def test_meta_model_passes_trust_remote_code_only_from_the_yaml(monkeypatch):
    pytest.importorskip("axolotl")
    import axolotl.loaders.utils as loader_utils
    import transformers

    from axolotl_agl.integration.plugin import _meta_model

    seen = []
    monkeypatch.setattr(loader_utils, "load_model_config", lambda cfg: object())
    monkeypatch.setattr(
        transformers.AutoModelForCausalLM, "from_config", lambda config, **kw: seen.append(kw) or torch_module()
    )
    _meta_model({"base_model": "m"})
    _meta_model({"base_model": "m", "trust_remote_code": "yes"})  # only a real `true` counts
    _meta_model({"base_model": "m", "trust_remote_code": True})
    assert [kw["trust_remote_code"] for kw in seen] == [False, False, True]


def torch_module():
    import torch

    return torch.nn.Linear(1, 1)
