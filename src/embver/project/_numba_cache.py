"""Point numba's on-disk cache at a writable per-user folder before numba loads.

embver's layout optimiser (:mod:`embver.project.sgd`) and fast_hdbscan compile their
kernels with ``cache=True``; the cache lands beside the installed sources by default,
which is read-only in many installs, and then every new process pays the JIT again
(seconds). Calling :func:`ensure_numba_cache_dir` before numba loads makes the cache
land in ``$XDG_CACHE_HOME/embver/numba`` unless the user already chose a folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def ensure_numba_cache_dir() -> str:
    """Set ``NUMBA_CACHE_DIR`` if unset and return the folder in use.

    numba reads the variable as it is imported; when something imported numba first,
    its configuration is updated too, so kernels decorated from now on cache there.
    """
    if "NUMBA_CACHE_DIR" not in os.environ:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        folder = base / "embver" / "numba"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return ""
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        config = sys.modules.get("numba.core.config")
        if config is not None and not getattr(config, "CACHE_DIR", ""):
            config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
    return os.environ["NUMBA_CACHE_DIR"]
