"""Where a store lives: its folder, its config, and how one is discovered."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from embver.errors import StoreError, StoreNotFoundError
from embver.store.objectstore import check_data_uri

STORE_DIR = ".embver"
CONFIG_FILE = "config.json"
CONFIG_FORMAT = 1
ENV_VAR = "EMBVER_STORE"


@dataclass(frozen=True)
class StoreLocation:
    """A store folder and the catalog URL and data root URI it points at."""

    root: Path
    catalog_url: str
    data_uri: str

    @classmethod
    def read(cls, root: Path) -> StoreLocation:
        config_path = root / CONFIG_FILE
        try:
            config = json.loads(config_path.read_text())
        except FileNotFoundError:
            raise StoreNotFoundError(
                f"{root} has no {CONFIG_FILE}: it is not an embver store"
            ) from None
        except json.JSONDecodeError as exc:
            raise StoreError(f"{config_path} is not valid JSON: {exc}") from None
        if config.get("format", 0) > CONFIG_FORMAT:
            from embver.errors import StoreVersionError

            raise StoreVersionError(
                f"{config_path} has format {config.get('format')}, newer than this embver "
                f"understands ({CONFIG_FORMAT}); upgrade embver"
            )
        check_data_uri(config["data"])
        return cls(
            root=root,
            catalog_url=_resolve_catalog(config["catalog"], root),
            data_uri=_resolve_data(config["data"], root),
        )


def _resolve_catalog(url: str, root: Path) -> str:
    return f"sqlite:///{root / url}" if "://" not in url else url


def _resolve_data(uri: str, root: Path) -> str:
    return str(root / uri) if "://" not in uri and not os.path.isabs(uri) else uri


@contextlib.contextmanager
def new_location(
    path: str | os.PathLike[str], catalog: str | None, data: str | None
) -> Iterator[StoreLocation]:
    """A new store's location, ``path/.embver/config.json`` written; the block opens it.

    An existing store is refused. When the block raises (an unreachable catalog, say)
    every file and folder made since is removed again, so a retry does not meet
    "a store already exists" and no half-made store is left to be mistaken for one.
    """
    root = Path(path).expanduser().resolve()
    if root.name != STORE_DIR:
        root = root / STORE_DIR
    if (root / CONFIG_FILE).exists():
        raise StoreError(
            f"a store already exists at {root}; open it with embver.open({str(root.parent)!r})"
        )
    if data:
        check_data_uri(data)
    undo = _undo_creating(root)
    try:
        _write_config(root, catalog or "catalog.db", data or "data")
        yield StoreLocation.read(root)
    except BaseException:
        undo()
        raise


def _write_config(root: Path, catalog: str, data: str) -> None:
    config = {"format": CONFIG_FORMAT, "catalog": catalog, "data": data}
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    except OSError as exc:
        # e.g. a file where a folder of the path should be, or no permission to write there
        raise StoreError(
            f"cannot create a store in {root}: {exc.strerror or exc}; choose a folder you can "
            "write in"
        ) from None


def _undo_creating(root: Path) -> Callable[[], None]:
    """A function removing what will be made in and above ``root`` from now on: the
    highest folder that does not exist yet, or the new entries of an existing ``root``."""
    missing = [folder for folder in (root, *root.parents) if not folder.exists()]
    if missing:
        return lambda: shutil.rmtree(missing[-1], ignore_errors=True)
    if not root.is_dir():  # a file in the way: nothing will be made
        return lambda: None
    kept = {entry.name for entry in root.iterdir()}

    def remove_new_entries() -> None:
        for entry in root.iterdir():
            if entry.name in kept:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    return remove_new_entries


def discover(path: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """The store folder: ``path``, else ``$EMBVER_STORE``, else the nearest ``.embver/`` upward."""
    explicit = path if path is not None else os.environ.get(ENV_VAR) or None
    if explicit is not None:
        candidate = Path(explicit).expanduser().resolve()
        for root in (candidate, candidate / STORE_DIR):
            if (root / CONFIG_FILE).is_file():
                return root
        source = "--store/path" if path is not None else f"${ENV_VAR}"
        raise StoreNotFoundError(
            f"no embver store at {candidate} (from {source}); "
            f"create one with `embver init {explicit}`"
        )
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / STORE_DIR / CONFIG_FILE).is_file():
            return folder / STORE_DIR
    raise StoreNotFoundError(
        f"no embver store found in {start} or any parent folder; create one with `embver init`, "
        f"or point at one with --store PATH or ${ENV_VAR}"
    )
