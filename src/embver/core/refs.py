"""Names and references: ``space``, ``space@1.2.3``, ``space@alias``, ``space@latest``,
``space@1.2`` (newest 1.2.x) and ``space@1`` (newest 1.x.y)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from embver.core.semver import SemVer, looks_numeric, parse_prefix, parse_version
from embver.errors import InvalidInputError, VersionStringError

_SPACE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
RESERVED_ALIASES = frozenset({"latest"})

SelectorKind = Literal["version", "prefix", "alias", "latest"]


def validate_space_name(name: object) -> str:
    """Return ``name`` if it is a valid space name, else raise naming the rule."""
    if not isinstance(name, str) or not _SPACE_RE.match(name):
        raise InvalidInputError(
            f"space name {name!r} is invalid: use 1-64 characters of lowercase letters, "
            "digits, '-' and '_', starting with a letter or digit (for example 'stop-signs')"
        )
    return name


def validate_alias_name(name: object) -> str:
    """Return ``name`` if it is a valid alias name, else raise naming the rule."""
    if not isinstance(name, str) or not _ALIAS_RE.match(name):
        raise InvalidInputError(
            f"alias name {name!r} is invalid: use 1-64 characters of lowercase letters, "
            "digits, '-' and '_', starting with a letter (for example 'production')"
        )
    if name in RESERVED_ALIASES:
        raise InvalidInputError(f"alias name {name!r} is reserved; choose another name")
    return name


@dataclass(frozen=True)
class Ref:
    """A parsed reference to one version of a space."""

    space: str
    kind: SelectorKind
    version: SemVer | None = None
    prefix: tuple[int, ...] = ()
    alias: str | None = None

    def __str__(self) -> str:
        if self.kind == "version":
            return f"{self.space}@{self.version}"
        if self.kind == "prefix":
            return f"{self.space}@{'.'.join(map(str, self.prefix))}"
        if self.kind == "alias":
            return f"{self.space}@{self.alias}"
        return f"{self.space}@latest"


def parse_ref(text: str, default_space: str | None = None) -> Ref:
    """Parse a reference; a bare ``space`` means ``space@latest``.

    With ``default_space``, a bare selector (``"1.2.3"``, ``"best"``) is taken
    as belonging to that space.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"reference {text!r} is empty; use 'space@1.2.3' or 'space@alias'")
    text = text.strip()
    if "@" in text:
        space, _, selector = text.partition("@")
    elif default_space is not None:
        space, selector = default_space, text
    else:
        space, selector = text, "latest"
    validate_space_name(space)
    return Ref(space=space, **_parse_selector(selector, text))  # type: ignore[arg-type]


def _parse_selector(selector: str, whole: str) -> dict[str, object]:
    if selector == "latest":
        return {"kind": "latest"}
    if looks_numeric(selector):
        prefix = parse_prefix(selector)
        if prefix is not None:
            return {"kind": "prefix", "prefix": prefix}
        try:
            return {"kind": "version", "version": parse_version(selector)}
        except VersionStringError as exc:
            raise VersionStringError(f"in reference {whole!r}: {exc}") from None
    if not _ALIAS_RE.match(selector):
        raise InvalidInputError(
            f"in reference {whole!r}: {selector!r} is neither a version (1.2.3, 1.2), "
            "'latest', nor a valid alias name"
        )
    return {"kind": "alias", "alias": selector}
