"""Reaching the data root with pyarrow: local disk, or object storage configured as Lance is.

Lance (Rust ``object_store``) reads an S3-compatible server's endpoint, region and
credentials from ``AWS_*`` environment variables. embver hashes, lists and deletes
files of the data root with pyarrow, whose ``S3FileSystem`` does not read all of
those variables (``AWS_ENDPOINT``; ``AWS_ENDPOINT_URL`` only in recent versions),
so this module maps the same variables onto it: one configuration serves both.
Credentials (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``)
are read by both libraries' own credential chains.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from embver.errors import InvalidInputError, StoreError

#: the endpoint variables Lance reads, first found wins
ENDPOINT_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
ALLOW_HTTP_VAR = "AWS_ALLOW_HTTP"
#: the values Lance takes as true (any case)
_TRUTHY = frozenset({"1", "true", "yes", "y", "on"})


#: URL schemes of a data root that both Lance and pyarrow can reach (a plain path is local)
DATA_SCHEMES = ("file", "s3", "gs")


def check_data_uri(uri: str) -> None:
    """Refuse a data root that Lance or pyarrow cannot reach, before anything is written."""
    scheme, separator, _ = uri.partition("://")
    if not uri.strip() or (separator and scheme not in DATA_SCHEMES):
        accepted = ", ".join(f"{name}://" for name in DATA_SCHEMES)
        raise InvalidInputError(
            f"data root {uri!r} is not a place embver can store vectors; "
            f"use a local folder or a URL starting with {accepted}"
        )


def is_local(uri: str) -> bool:
    """Whether ``uri`` is a path on local disk (a plain path or ``file://``)."""
    return "://" not in uri or uri.startswith("file://")


def local_path(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def filesystem(uri: str) -> tuple[Any, str]:
    """A pyarrow filesystem holding ``uri``, and the path of ``uri`` inside it."""
    import pyarrow.fs as pafs

    if is_local(uri):
        return pafs.LocalFileSystem(), os.path.abspath(local_path(uri))
    if uri.startswith("s3://"):
        options = s3_options(os.environ)
        if options:
            return _s3_filesystem(tuple(sorted(options.items()))), uri[len("s3://") :].rstrip("/")
    # Real AWS with neither endpoint nor region: pyarrow looks up the bucket's region.
    return pafs.FileSystem.from_uri(uri)


def s3_options(env: Mapping[str, str]) -> dict[str, str]:
    """``pyarrow.fs.S3FileSystem`` options from the environment variables Lance reads."""
    options = {}
    endpoint = next((env[name] for name in ENDPOINT_VARS if env.get(name)), None)
    if endpoint:
        scheme, separator, host = endpoint.partition("://")
        if not separator:
            scheme, host = "https", endpoint
        options["endpoint_override"] = host.rstrip("/")
        options["scheme"] = scheme
    region = next((env[name] for name in REGION_VARS if env.get(name)), None)
    if region:
        options["region"] = region
    return options


def check_environment(uri: str, env: Mapping[str, str]) -> None:
    """Refuse a plain-HTTP S3 endpoint that Lance would refuse later with a vaguer error."""
    if not uri.startswith("s3://"):
        return
    name = next((name for name in ENDPOINT_VARS if env.get(name)), None)
    allowed = env.get(ALLOW_HTTP_VAR, "").strip().lower() in _TRUTHY
    if name is not None and env[name].startswith("http://") and not allowed:
        raise StoreError(
            f"{name}={env[name]!r} is plain HTTP, which Lance refuses unless "
            f"{ALLOW_HTTP_VAR}=true; set it (or use an https:// endpoint) to reach {uri}"
        )


@functools.lru_cache(maxsize=8)
def _s3_filesystem(options: tuple[tuple[str, str], ...]) -> Any:
    import pyarrow.fs as pafs

    return pafs.S3FileSystem(**dict(options))
