"""Item images: resolve a *registered* item URI to a file under the allowed roots.

No client ever names a file. The client names an item (space + item id); its URI
comes from the store's item table, and is served only when it resolves — after
following every symlink — to an image file inside one of the allowed roots.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from embver.errors import InvalidInputError, NotFoundError

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}


def uri_to_path(uri: str) -> Path:
    """The local path a registered item URI names (``file://`` or a plain path)."""
    if "\x00" in uri:
        raise InvalidInputError(f"item uri {uri!r} contains a NUL byte")
    parts = urlsplit(uri)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInputError(f"item uri {uri!r} names a remote host; only local files")
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # "C:" drive letters are not schemes
        raise InvalidInputError(f"item uri {uri!r} is not a local file (scheme {parts.scheme!r})")
    return Path(uri)


def resolve_media(uri: str, roots: Sequence[Path]) -> Path:
    """Resolve ``uri`` to an existing image file inside one of ``roots``.

    Relative URIs are taken relative to each root in turn. The result is the
    fully resolved path (symlinks followed), which must lie inside the resolved
    root: ``..``, absolute paths elsewhere and symlinks pointing outside are
    refused with :class:`~embver.errors.NotFoundError` (nothing about the file
    system is revealed to the client).
    """
    try:
        path = uri_to_path(uri)
    except InvalidInputError:
        raise NotFoundError(f"item uri {uri!r} is not a local image") from None
    if path.suffix.lower() not in IMAGE_TYPES:
        raise NotFoundError(f"item uri {uri!r} is not an image this UI serves")
    for root in roots:
        real_root = root.resolve()
        candidate = path if path.is_absolute() else real_root / path
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if real.is_file() and real.is_relative_to(real_root):
            if real.suffix.lower() not in IMAGE_TYPES:
                break  # a symlink that dresses a non-image as one
            return real
    raise NotFoundError(f"item uri {uri!r} is not an image under the allowed roots")
