"""The backend interface of embver's downstream indexes: a URL, a Target, a registry.

A downstream index is reached by a URL whose scheme names the backend
(``postgresql+psycopg://…?table=docs``, ``faiss:///abs/dir/docs``, ``lancedb:///abs/db/docs``,
``qdrant://host:port/docs``, ``chroma:///abs/dir/docs``, ``milvus:///abs/file.db/docs``).
The last path segment (or ``?table=``) is the *reader name*: what downstream readers
query. Behind it sit *physical* tables ``f"{reader}__embver_{n}"``; the reader name is a
view, alias or pointer to one of them, so a migration can build a shadow table and move
readers to it in one step (:meth:`Target.switch`).

Every row carries ``id`` (str), ``vector`` (float32, fixed size ``dim``), ``embver_space``,
``embver_version``, ``embver_content_hash`` (:func:`row_hash` of the vector) and the chosen
item fields as str columns. Batches are Arrow record batches of :func:`row_schema`.

Backend modules are imported by scheme on first use (:func:`open_target`), so importing
this module loads no database client.
"""

from __future__ import annotations

import importlib
import re
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, TypeVar

from embver.errors import DependencyError, IndexTargetError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: the columns every row has, besides the chosen item fields
ID, VECTOR, SPACE, VERSION, HASH = (
    "id",
    "vector",
    "embver_space",
    "embver_version",
    "embver_content_hash",
)
FIXED_COLUMNS: tuple[str, ...] = (ID, VECTOR, SPACE, VERSION, HASH)
#: item fields a publish may copy (``--with text,label``)
ITEM_FIELDS: tuple[str, ...] = ("text", "label", "uri")
#: distance metrics a version may have (the recipe's context); backends map them to theirs
METRICS: tuple[str, ...] = ("cosine", "dot", "l2")

_PHYSICAL = re.compile(r"^(?P<reader>.+)__embver_(?P<n>[0-9]+)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")

#: scheme -> module that registers it (imported lazily by open_target)
BACKEND_MODULES: dict[str, str] = {
    "postgresql+psycopg": "embver.index.pgvector",
    "postgresql": "embver.index.pgvector",
    "faiss": "embver.index.faiss",
    "lancedb": "embver.index.lancedb",
    "qdrant": "embver.index.qdrant",
    "chroma": "embver.index.chroma",
    "milvus": "embver.index.milvus",
}


@dataclass(frozen=True)
class IndexURL:
    """A parsed index URL.

    ``location`` is the path before the reader name (``/abs/dir`` of ``faiss:///abs/dir/docs``,
    ``/db`` of a PostgreSQL URL); ``name`` the reader name; ``params`` the query string
    (first value of each key). ``host``/``port``/``username``/``password`` come from the
    authority part when there is one.
    """

    raw: str
    scheme: str
    name: str
    location: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> IndexURL:
        """Parse ``url``; raises IndexTargetError naming what is wrong with it."""
        parts = urllib.parse.urlsplit(url)
        if not parts.scheme or "://" not in url:
            raise IndexTargetError(
                f"{url!r} is not an index URL: write scheme://…/NAME, "
                f"e.g. faiss:///abs/dir/docs (schemes: {', '.join(sorted(BACKEND_MODULES))})"
            )
        params = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
        path = urllib.parse.unquote(parts.path)
        name = params.get("table")
        if name is None:
            location, _, name = path.rpartition("/")
        else:
            location = path
        if not name or not _NAME.match(name):
            raise IndexTargetError(
                f"{redact(url)}: reader name {name!r} is not a table name: end the URL with "
                "/NAME or ?table=NAME (letters, digits, _ and -, starting with a letter or _)"
            )
        try:
            port = parts.port
        except ValueError as error:
            raise IndexTargetError(f"{redact(url)}: bad port ({error})") from None
        return cls(
            raw=url,
            scheme=parts.scheme.lower(),
            name=name,
            location=location,
            host=parts.hostname,
            port=port,
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None,
            params=params,
        )

    def __str__(self) -> str:
        return redact(self.raw)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and the journal)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def physical_name(reader: str, n: int) -> str:
    """The name of the ``n``-th physical table behind ``reader``."""
    return f"{reader}__embver_{n}"


def physical_number(reader: str, table: str) -> int | None:
    """``n`` of a physical table name ``f"{reader}__embver_{n}"``; None for any other name."""
    match = _PHYSICAL.match(table)
    if match is None or match["reader"] != reader:
        return None
    return int(match["n"])


def row_hash(vector: np.ndarray) -> str:
    """A row's content hash: blake3 hex of the vector as float32 bytes (little-endian, C order)."""
    import blake3
    import numpy as np

    data = np.ascontiguousarray(vector, dtype="<f4")
    return blake3.blake3(data.tobytes()).hexdigest()


def row_hashes(vectors: np.ndarray) -> list[str]:
    """:func:`row_hash` of each row of ``vectors`` (array of shape (n, d))."""
    import blake3
    import numpy as np

    data = np.ascontiguousarray(vectors, dtype="<f4")
    return [blake3.blake3(row.tobytes()).hexdigest() for row in data]


def row_schema(dim: int, fields: Sequence[str] = ()) -> pa.Schema:
    """The Arrow schema of a batch: the fixed columns, then each item field as a str column."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field(ID, pa.string(), nullable=False),
            pa.field(VECTOR, pa.list_(pa.float32(), dim), nullable=False),
            pa.field(SPACE, pa.string(), nullable=False),
            pa.field(VERSION, pa.string(), nullable=False),
            pa.field(HASH, pa.string(), nullable=False),
            *(pa.field(name, pa.string()) for name in fields),
        ]
    )


def field_names(schema: pa.Schema) -> list[str]:
    """The item-field columns of a batch schema (every column that is not a fixed one)."""
    return [name for name in schema.names if name not in FIXED_COLUMNS]


def batch_vectors(batch: pa.RecordBatch) -> np.ndarray:
    """The ``vector`` column of ``batch`` as an array of shape (n, d) float32."""
    import numpy as np
    import pyarrow as pa

    column = batch.column(VECTOR)
    width = column.type.list_size if pa.types.is_fixed_size_list(column.type) else None
    if width is None:
        return np.asarray(column.to_pylist(), dtype=np.float32)
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return flat.astype(np.float32, copy=False).reshape(len(batch), width)


class Target(ABC):
    """One downstream index (a reader name and its physical tables) in one backend.

    Subclasses set the class variables and implement every method; the orchestration
    (publish, status, migrate, import) uses nothing else. Errors a user can cause
    (unreachable, wrong credentials, a different dimension, a table made by something
    else) raise :class:`~embver.errors.IndexTargetError` with a one-line message.
    """

    scheme: ClassVar[str]
    #: can readers be moved from one physical table to another atomically?
    atomic_switch: ClassVar[bool]
    #: how the switch is done, or (when not atomic) what readers see and for how long
    switch_note: ClassVar[str]

    def __init__(self, url: IndexURL) -> None:
        self.url = url

    @property
    def reader(self) -> str:
        """The reader name downstream readers query."""
        return self.url.name

    @abstractmethod
    def reader_table(self) -> str | None:
        """The physical table readers see now; None when nothing has been published."""

    @abstractmethod
    def tables(self) -> list[str]:
        """The physical tables of this reader name that exist, by ``n``."""

    @abstractmethod
    def foreign(self) -> str | None:
        """Why the reader name is not embver's (it exists, made by something else), else None."""

    @abstractmethod
    def create(self, table: str, dim: int, fields: Sequence[str], metric: str = "cosine") -> None:
        """Create physical ``table``; no-op if it exists with ``dim``; raises on another dim."""

    @abstractmethod
    def dimension(self, table: str) -> int | None:
        """The vector dimension of ``table``; None when it does not exist."""

    @abstractmethod
    def upsert(self, table: str, batch: pa.RecordBatch) -> None:
        """Insert or replace the rows of ``batch`` (:func:`row_schema`) by id."""

    def insert(self, table: str, batch: pa.RecordBatch) -> None:
        """Add the rows of ``batch``, none of whose ids ``table`` holds (the caller knows: it
        fills an empty table with unique ids). The default upserts; a backend whose append
        is faster than its upsert overrides it."""
        self.upsert(table, batch)

    @abstractmethod
    def delete(self, table: str, ids: Sequence[str]) -> None:
        """Delete the rows with these ids (ids not there are ignored)."""

    @abstractmethod
    def count(self, table: str) -> int:
        """The number of rows of ``table``."""

    @abstractmethod
    def scan(self, table: str, columns: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        """Every row of ``table``, ``columns`` only, in batches of at most ``batch_size`` rows."""

    @abstractmethod
    def switch(self, table: str) -> None:
        """Make readers see ``table`` (atomically when ``atomic_switch``)."""

    @abstractmethod
    def drop(self, table: str) -> None:
        """Remove physical ``table`` (never the one readers see)."""

    @abstractmethod
    def search(self, table: str | None, vector: np.ndarray, k: int) -> list[str]:
        """Ids of the ``k`` rows nearest ``vector`` (shape (d,)), nearest first.

        ``table`` None: the table readers see.
        """

    def flush(self) -> None:  # noqa: B027 - most backends write through at once
        """Make every write so far durable and visible to readers (buffering backends write files).

        The orchestration calls it at its checkpoints and before a switch; ``close`` flushes too.
        """

    def close(self) -> None:  # noqa: B027 - a backend without connections has nothing to close
        """Release connections; the target is unusable afterwards."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # helpers shared by every backend, built on the methods above

    def next_table(self) -> str:
        """The name of a new physical table: one past the highest ``n`` that exists."""
        numbers = [physical_number(self.reader, t) or 0 for t in self.tables()]
        return physical_name(self.reader, max(numbers, default=0) + 1)

    def physical_tables(self, names: Iterable[str]) -> list[str]:
        """The physical tables of this reader name among ``names``, oldest first."""
        found = {name for name in names if physical_number(self.reader, name) is not None}
        return sorted(found, key=lambda name: physical_number(self.reader, name) or 0)

    def check_physical(self, table: str, kind: str = "collection") -> None:
        """Raise IndexTargetError unless ``table`` is a physical name of this reader."""
        if physical_number(self.reader, table) is None:
            raise IndexTargetError(f"{self.url}: {table!r} is not a physical {kind} name")

    def refuse_dropping_the_readers(self, table: str, kind: str = "collection") -> None:
        """Raise IndexTargetError when ``table`` is the one readers see now."""
        if table == self.reader_table():
            raise IndexTargetError(
                f"{self.url}: {kind} {table!r} is the one readers see — switch to another first"
            )

    def alias_foreign(self, collections: Sequence[str]) -> str | None:
        """:meth:`foreign` of a backend whose reader name is an alias over ``collections``."""
        if self.reader in collections:
            return f"collection {self.reader!r} is a collection, not an embver alias"
        target = self.reader_table()
        if target is not None and physical_number(self.reader, target) is None:
            return f"alias {self.reader!r} points at {target!r}, a collection embver did not make"
        return None

    def check_dimension(self, table: str, dim: int) -> None:
        """Raise IndexTargetError when ``table`` exists with a dimension other than ``dim``."""
        held = self.dimension(table)
        if held is not None and held != dim:
            raise IndexTargetError(
                f"{self.url}: table {table!r} has dimension {held}, the version has {dim} — "
                "publish to another name or pass --replace"
            )


T = TypeVar("T", bound=type[Target])
_REGISTRY: dict[str, type[Target]] = {}


def register_target(scheme: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` the Target of URLs with this scheme."""

    def decorate(cls: T) -> T:
        cls.scheme = scheme
        _REGISTRY[scheme] = cls
        return cls

    return decorate


def target_class(scheme: str) -> type[Target]:
    """The Target class of ``scheme``, importing its backend module on first use."""
    if scheme not in _REGISTRY:
        module = BACKEND_MODULES.get(scheme)
        if module is None:
            raise IndexTargetError(
                f"unknown index scheme {scheme!r}: use one of {', '.join(sorted(BACKEND_MODULES))}"
            )
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name == module:
                raise IndexTargetError(
                    f"index scheme {scheme!r} is not available in this embver ({module} is missing)"
                ) from None
            raise DependencyError(
                f"index scheme {scheme!r} needs the package {error.name!r}: "
                f"pip install {error.name}"
            ) from None
    if scheme not in _REGISTRY:
        raise IndexTargetError(f"{module} registers no Target for scheme {scheme!r}")
    return _REGISTRY[scheme]


def registered_schemes() -> list[str]:
    """Schemes with a Target registered so far (modules imported), sorted."""
    return sorted(_REGISTRY)


def open_target(url: str | IndexURL) -> Target:
    """The Target for ``url``; it connects lazily and raises IndexTargetError when unreachable."""
    parsed = url if isinstance(url, IndexURL) else IndexURL.parse(url)
    return target_class(parsed.scheme)(parsed)
