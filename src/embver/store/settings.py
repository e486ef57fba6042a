"""Store settings, declared once in :data:`SETTINGS`: name, type, default and help.

A new setting is one more :class:`Setting` in the table; ``embver config`` lists,
reads and checks it from there, and :meth:`Setting.parse` turns the text a user
types (or a value an API caller passes) into the declared type or refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from embver.errors import InvalidInputError

#: the value of a setting: a flag, a number or a word
Value: TypeAlias = bool | int | float | str | None

_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class Setting:
    """One store setting: its value is of ``type`` (bool, int, float or str), and one
    of ``choices`` when they are given."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()

    def parse(self, value: Any) -> Any:
        """``value`` (text from the command line, or a Python value) as this setting's
        type; InvalidInputError naming the setting and the accepted values otherwise."""
        parsed: Any
        if self.type is bool:
            parsed = _parse_bool(value)
        elif self.type in (int, float):
            parsed = _parse_number(value, self.type)
        else:
            parsed = value if isinstance(value, str) else None
        if parsed is None or (self.choices and parsed not in self.choices):
            raise InvalidInputError(
                f"setting {self.name!r} takes {self.accepts()}, not {value!r}; "
                f"e.g. `embver config {self.name} {self.example()}`"
            )
        return parsed

    def accepts(self) -> str:
        """The accepted values, in words."""
        if self.type is bool:
            return "a boolean (true/false, 1/0, yes/no)"
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        return {int: "an integer", float: "a number"}.get(self.type, "a string")

    def example(self) -> str:
        if self.type is bool:
            return "true"
        return self.choices[0] if self.choices else str(self.default)


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def _parse_number(value: Any, kind: type) -> Any:
    if isinstance(value, bool):  # a bool is an int to Python, never a count to a user
        return None
    if isinstance(value, (int, float)) and (kind is float or isinstance(value, int)):
        return kind(value)
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return None
    return None


#: every setting a store has; add new ones here
SETTINGS: Final = (
    Setting(
        "strict",
        bool,
        False,
        "refuse a PATCH whose measured verdict is breaking (instead of recording it)",
    ),
    Setting(
        "eval.default",
        str,
        "",
        "the task (e.g. knn-accuracy) measured on parent and child when a PATCH is "
        "registered, so its verdict says whether it is also better; empty: none",
    ),
    Setting(
        "eval.max_loss",
        float,
        None,
        "with strict on, refuse a PATCH that loses more than this on eval.default's main "
        "figure (e.g. 0.02); unset: no limit",
    ),
)
_BY_NAME: Final = {setting.name: setting for setting in SETTINGS}


def setting(name: str) -> Setting:
    """The declared setting ``name``; InvalidInputError listing the known ones."""
    found = _BY_NAME.get(name)
    if found is None:
        raise InvalidInputError(
            f"unknown setting {name!r}; known settings: {', '.join(sorted(_BY_NAME))} "
            "(`embver config` lists them)"
        )
    return found


def resolve(stored: Mapping[str, Any]) -> dict[str, Value]:
    """Every declared setting's value: the stored one, parsed (values stored as text
    by older embvers included), else the default. Unknown stored keys are left out."""
    return {
        item.name: item.parse(stored[item.name]) if item.name in stored else item.default
        for item in SETTINGS
    }
