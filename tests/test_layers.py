"""The package's layers import only the layers below them (``docs/architecture.md``).

Read from the source (every ``import`` statement, including those inside functions), so a lazy import that
crosses a layer boundary fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "axolotl_agl"

#: Layer of each top-level subpackage, bottom first; a module may import its own layer and the ones below.
LAYERS = {
    "utils": 0,
    "core": 1,
    "data": 1,
    "drift": 2,
    "forgetting": 2,
    "integration": 3,
    "experiments": 4,
}
#: Third-party packages a layer may not import.
FORBIDDEN = {
    "core": {"axolotl", "pydantic", "transformers", "datasets", "click"},
    "utils": {"axolotl", "pydantic", "transformers"},
    "data": {"axolotl", "pydantic", "torch"},
    "drift": {"axolotl"},
    "forgetting": {"axolotl"},
}
#: Runtime modules may not be longer than this (issue 10's "no runtime module over ~400 lines").
MAX_RUNTIME_LINES = 420


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _layer_of(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path: Path):
    layer = _layer_of(path)
    own = LAYERS.get(layer, 5) if layer else 5  # top-level modules (the lazy __init__) sit above everything
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "axolotl_agl" and len(parts) > 1 and parts[1] in LAYERS:
            assert LAYERS[parts[1]] <= own, f"{path.relative_to(PACKAGE)} (layer {layer}) imports {name}"
        if layer in FORBIDDEN:
            assert parts[0] not in FORBIDDEN[layer], f"{path.relative_to(PACKAGE)} must not import {name}"


def test_runtime_package_never_imports_experiments():
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in _modules()
        if _layer_of(p) != "experiments" and any(n.startswith("axolotl_agl.experiments") for n in _imports(p))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "path", [p for p in _modules() if _layer_of(p) != "experiments"], ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_runtime_modules_are_small(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_RUNTIME_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines; split it"
