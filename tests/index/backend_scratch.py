"""Scratch folders for engines that commit to SQLite once per row (Qdrant local mode, Chroma).

On a loaded CI disk each of those fsyncs costs tens of milliseconds, so their folders go on
the memory file system when there is one (``/dev/shm``): the same engine code, the same
files, only a faster disk. Elsewhere they stay under the test's ``tmp_path``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

_MEMORY = Path("/dev/shm")


def scratch_folder(tmp_path: Path, name: str) -> Path:
    """A fresh folder for one case's engine files (not created: the engine creates it)."""
    if _MEMORY.is_dir():
        return Path(tempfile.mkdtemp(prefix=f"embver-{name}-", dir=_MEMORY)) / name
    return tmp_path / name


def release_scratch(folder: Path) -> None:
    """Remove a folder :func:`scratch_folder` put on the memory file system."""
    if folder.parent.parent == _MEMORY:
        shutil.rmtree(folder.parent, ignore_errors=True)
