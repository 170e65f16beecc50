"""Every test in ``tests/e2e/`` runs the real Axolotl CLI and is marked ``e2e`` (``pytest -m "not e2e"`` skips them)."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
