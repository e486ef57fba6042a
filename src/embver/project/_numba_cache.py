"""Point numba's on-disk cache at a writable per-user folder before numba loads.

umap-learn and pynndescent compile their kernels with ``cache=True``; the cache
lands beside the installed sources by default, which is read-only in many
installs, and then every new process pays the JIT again (several seconds).
Importing this module before ``umap`` makes the cache land in
``$XDG_CACHE_HOME/embver/numba`` unless the user already chose a folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def ensure_numba_cache_dir() -> str:
    """Set ``NUMBA_CACHE_DIR`` if unset and return the folder in use."""
    if "NUMBA_CACHE_DIR" not in os.environ:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        folder = base / "embver" / "numba"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return ""
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
    return os.environ["NUMBA_CACHE_DIR"]


#: modules whose numba kernels embver runs; several are compiled without ``cache=True``
_JIT_MODULES = (
    "umap.umap_",
    "umap.layouts",
    "umap.spectral",
    "umap.utils",
    "umap.distances",
    "umap.sparse",
)


_CACHING_ENABLED = False


def enable_kernel_caching(module_names: tuple[str, ...] = _JIT_MODULES) -> int:
    """Turn on numba's on-disk cache for kernels compiled without ``cache=True``.

    Call after importing the modules and before their first use. Kernels that
    cannot be cached (closures, dynamic globals) are left as they are. Returns
    how many kernels now cache.
    """
    import importlib
    import sys

    from numba.core.registry import CPUDispatcher

    global _CACHING_ENABLED
    if _CACHING_ENABLED:
        return 0
    _CACHING_ENABLED = True
    enabled = 0
    for name in module_names:
        module = sys.modules.get(name) or importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, CPUDispatcher)
                and type(getattr(value, "_cache", None)).__name__ == "NullCache"
            ):
                try:
                    value.enable_caching()
                    enabled += 1
                except Exception:
                    continue
    return enabled
