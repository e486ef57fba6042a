"""Where a store lives: its folder, its config, and how one is discovered."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from embver.errors import StoreError, StoreNotFoundError

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
        return cls(
            root=root,
            catalog_url=_resolve_catalog(config["catalog"], root),
            data_uri=_resolve_data(config["data"], root),
        )


def _resolve_catalog(url: str, root: Path) -> str:
    return f"sqlite:///{root / url}" if "://" not in url else url


def _resolve_data(uri: str, root: Path) -> str:
    return str(root / uri) if "://" not in uri and not os.path.isabs(uri) else uri


def create_location(path: str | os.PathLike[str], catalog: str | None, data: str | None) -> Path:
    """Create ``path/.embver/config.json``; refuse to overwrite an existing store."""
    root = Path(path).expanduser().resolve()
    if root.name != STORE_DIR:
        root = root / STORE_DIR
    if (root / CONFIG_FILE).exists():
        raise StoreError(
            f"a store already exists at {root}; open it with embver.open({str(root.parent)!r})"
        )
    root.mkdir(parents=True, exist_ok=True)
    config = {"format": CONFIG_FORMAT, "catalog": catalog or "catalog.db", "data": data or "data"}
    (root / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return root


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
