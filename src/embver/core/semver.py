"""Strict semantic version numbers: ``MAJOR.MINOR.PATCH``, no leading zeros."""

from __future__ import annotations

import re
from dataclasses import dataclass

from embver.errors import VersionStringError

_NUMBER = r"(0|[1-9][0-9]*)"
_VERSION_RE = re.compile(rf"^{_NUMBER}\.{_NUMBER}\.{_NUMBER}$")
_PREFIX_RE = re.compile(rf"^{_NUMBER}(?:\.{_NUMBER})?$")


@dataclass(frozen=True, order=True)
class SemVer:
    """A version number; ordered numerically, formatted as ``1.2.3``."""

    major: int
    minor: int
    patch: int

    def __post_init__(self) -> None:
        for part in (self.major, self.minor, self.patch):
            if not isinstance(part, int) or isinstance(part, bool) or part < 0:
                raise VersionStringError(
                    f"version parts must be non-negative integers, got {self.as_tuple()!r}"
                )

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)


def parse_version(text: str) -> SemVer:
    """Parse ``"1.2.3"``; refuse ``"01.2.3"``, ``"1.2"``, ``"1.2.3.4"``, ``"latest"``."""
    if not isinstance(text, str):
        raise VersionStringError(f"version must be a string like '1.2.3', got {text!r}")
    match = _VERSION_RE.match(text.strip())
    if match is None:
        raise VersionStringError(
            f"version {text!r} is not MAJOR.MINOR.PATCH with non-negative integers "
            "and no leading zeros (for example '1.2.3')"
        )
    return SemVer(*(int(g) for g in match.groups()))


def parse_prefix(text: str) -> tuple[int, ...] | None:
    """Parse a version prefix (``"1"`` or ``"1.2"``) or return None if it is not one."""
    match = _PREFIX_RE.match(text)
    if match is None:
        return None
    return tuple(int(g) for g in match.groups() if g is not None)


def looks_numeric(text: str) -> bool:
    """True when a reference part starts like a number (so it cannot be an alias)."""
    return bool(text) and (text[0].isdigit() or text[0] in ".-+")
