"""One way for a package to load its public names on first use.

Each subpackage maps its public names to the submodules that define them and lets
this module's ``__getattr__`` import a submodule only when one of its names is
asked for, so ``import embver.server`` loads no FastAPI and ``embver --help`` no
numpy. Type checkers see the names through the package's ``TYPE_CHECKING`` imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` on first use.

    Every name the submodule provides is bound into ``namespace`` (the package's
    ``globals()``) at once, so later look-ups skip this function, and a submodule
    named like one of its functions (``composite.impact``) yields the function.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(module)
        namespace.update({n: getattr(loaded, n) for n, m in exports.items() if m == module})
        return namespace[name]

    return __getattr__
