"""AlignGuard-LoRA as an Axolotl plugin.

``axolotl_agl.AlignGuardPlugin`` is imported lazily so that the maths modules (``penalty``,
``fisher``) can be used and tested without importing Axolotl (which takes several seconds).
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["AlignGuardPlugin", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "AlignGuardPlugin":
        from axolotl_agl.integration.plugin import AlignGuardPlugin

        return AlignGuardPlugin
    raise AttributeError(f"module 'axolotl_agl' has no attribute {name!r}")
