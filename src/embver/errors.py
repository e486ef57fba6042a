"""The one exception tree of embver.

Every error a user can cause derives from :class:`EmbverError`; its message
names the field and the value at fault and says what to do.

::

    EmbverError
    ├── InvalidInputError           bad vectors, ids, names, files, parameters
    │   ├── VersionStringError      "01.2.3", "1.2.3.4", "latest" as a number
    │   ├── RecipeError             malformed or contradictory recipe
    │   └── BumpConflictError       declared bump contradicts the recipe
    ├── NotFoundError               a space, version, alias or item that is not there
    │   └── StoreNotFoundError      no store at the given place / none discovered
    ├── ImmutabilityError           an existing id with different vectors
    ├── StoreError                  the store itself is unusable
    │   ├── StoreVersionError       written by a newer embver, or not migrated
    │   └── IntegrityError          content hash mismatch, missing or truncated data
    ├── DependencyError             an optional dependency or local model is missing
    ├── ClusterError                a Ray cluster that cannot be reached or fails the work
    ├── VerdictError                strict mode refused a breaking PATCH
    └── IndexTargetError            a downstream index that is unreachable, refused or not embver's
"""

from __future__ import annotations


class EmbverError(Exception):
    """Base of every error embver raises on purpose."""


class InvalidInputError(EmbverError, ValueError):
    """Input that embver refuses: vectors, ids, names, files or parameters."""


class VersionStringError(InvalidInputError):
    """A version string or reference that is not strict MAJOR.MINOR.PATCH."""


class RecipeError(InvalidInputError):
    """A recipe that is malformed or inconsistent with the vectors."""


class BumpConflictError(InvalidInputError):
    """A declared bump that contradicts what the recipe says changed."""


class NotFoundError(EmbverError, LookupError):
    """A space, version, alias, item or artefact that does not exist."""


class StoreNotFoundError(NotFoundError):
    """No store at the given place, or none discovered from the working directory."""


class ImmutabilityError(EmbverError):
    """An attempt to change vectors that are already registered."""


class StoreError(EmbverError):
    """The store cannot be used as it is."""


class StoreVersionError(StoreError):
    """The store's schema is newer than this embver, or otherwise unknown."""


class IntegrityError(StoreError):
    """Stored data does not match its content hash, or is missing or truncated."""


class DependencyError(EmbverError, ImportError):
    """An optional dependency, or a local model, is not available."""


class ClusterError(EmbverError):
    """A compute cluster (Ray) that cannot be reached, or that failed the work sent to it."""


class VerdictError(EmbverError):
    """A PATCH whose measured verdict is ``breaking`` was refused (strict mode)."""


class IndexTargetError(EmbverError):
    """A downstream index (vector database, FAISS file) that cannot be used as asked:
    unreachable, wrong credentials, another dimension, made by something else, or
    holding another version of the space."""


__all__ = [
    "BumpConflictError",
    "ClusterError",
    "DependencyError",
    "EmbverError",
    "ImmutabilityError",
    "IndexTargetError",
    "IntegrityError",
    "InvalidInputError",
    "NotFoundError",
    "RecipeError",
    "StoreError",
    "StoreNotFoundError",
    "StoreVersionError",
    "VerdictError",
    "VersionStringError",
]
