"""Rich display for result objects in Jupyter, VS Code and Colab, from one small mixin.

A result class describes itself once, as a title and a list of parts (:class:`Table`,
:class:`Text`, :class:`Image`); :class:`RichDisplay` turns that description into HTML
(``_repr_html_``), Markdown (``_repr_markdown_``) and plain text (``_repr_pretty_``,
``to_text``). Every value is escaped here and only here, so an item text such as
``<script>`` reaches a notebook as text. Pure standard library: any layer may use it.

>>> class Pair(RichDisplay):
...     def _display_title(self) -> str:
...         return "pair"
...     def _display_parts(self) -> list[Part]:
...         return [Table(("name", "value"), [("a <b>", 0.5)])]
>>> "a &lt;b&gt;" in Pair()._repr_html_()
True
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: how many rows a table shows before it says how many it left out
MAX_ROWS = 50


@dataclass(frozen=True)
class Table:
    """A table: column names and rows of cells (numbers, strings, None)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    title: str = ""


@dataclass(frozen=True)
class Text:
    """A line of text; ``mono`` keeps its spacing (a tree, aligned figures)."""

    text: str
    mono: bool = False


@dataclass(frozen=True)
class Image:
    """A PNG image shown inline (a data URL: no JavaScript, survives nbconvert)."""

    png: bytes
    alt: str
    width: int | None = None


Part = Table | Text | Image


def cell(value: object) -> str:
    """One cell's text: floats to 3 decimals, None/NaN as an em dash, lists joined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value)
    return str(value)


def _shown_rows(table: Table) -> tuple[Sequence[Sequence[object]], int]:
    return table.rows[:MAX_ROWS], max(len(table.rows) - MAX_ROWS, 0)


def _html_table(table: Table) -> str:
    rows, hidden = _shown_rows(table)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    caption = f"<caption>{html.escape(table.title)}</caption>" if table.title else ""
    more = f"<p><em>… {hidden} more rows</em></p>" if hidden else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _html_part(part: Part) -> str:
    if isinstance(part, Table):
        return _html_table(part)
    if isinstance(part, Image):
        data = base64.b64encode(part.png).decode("ascii")
        width = f' width="{part.width}"' if part.width else ""
        return f'<img src="data:image/png;base64,{data}" alt="{html.escape(part.alt)}"{width}>'
    if part.mono:
        return f"<pre>{html.escape(part.text)}</pre>"
    return f"<p>{html.escape(part.text)}</p>"


def _markdown_escape(text: str) -> str:
    """Markdown renders inline HTML: escape it, and the pipes that would split a cell."""
    return html.escape(text).replace("|", "\\|")


def _markdown_part(part: Part) -> str:
    if isinstance(part, Table):
        rows, hidden = _shown_rows(part)
        lines = [f"**{_markdown_escape(part.title)}**", ""] if part.title else []
        lines.append("| " + " | ".join(_markdown_escape(c) for c in part.columns) + " |")
        lines.append("|" + "---|" * len(part.columns))
        lines += ["| " + " | ".join(_markdown_escape(cell(v)) for v in r) + " |" for r in rows]
        return "\n".join(lines + ([f"\n… {hidden} more rows"] if hidden else []))
    if isinstance(part, Image):
        data = base64.b64encode(part.png).decode("ascii")
        return f"![{_markdown_escape(part.alt)}](data:image/png;base64,{data})"
    if part.mono:
        return "```\n" + part.text + "\n```"
    return _markdown_escape(part.text)


def _text_part(part: Part) -> str:
    if isinstance(part, Image):
        return f"[image: {part.alt}]"
    if isinstance(part, Text):
        return part.text
    rows, hidden = _shown_rows(part)
    cells = [list(part.columns)] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(part.columns))]
    lines = [part.title] if part.title else []
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines + ([f"… {hidden} more rows"] if hidden else []))


class _Printer(Protocol):
    def text(self, text: str) -> Any: ...


#: a little CSS so tables read as tables in every front end (scoped to the block)
_STYLE = (
    "<style>.embver-display table{border-collapse:collapse;margin:4px 0 10px}"
    ".embver-display th,.embver-display td{padding:2px 8px;text-align:left;"
    "border-bottom:1px solid #ddd}.embver-display caption{text-align:left;font-weight:600}"
    "</style>"
)


class RichDisplay:
    """Mixin: implement ``_display_title`` and ``_display_parts``; get every rendering."""

    def _display_title(self) -> str:
        raise NotImplementedError

    def _display_parts(self) -> list[Part]:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        title = f"<h4>{html.escape(self._display_title())}</h4>"
        body = "".join(_html_part(p) for p in self._display_parts())
        return f'<div class="embver-display">{_STYLE}{title}{body}</div>'

    def _repr_markdown_(self) -> str:
        parts = [f"#### {_markdown_escape(self._display_title())}"]
        return "\n\n".join(parts + [_markdown_part(p) for p in self._display_parts()])

    def to_text(self) -> str:
        """Plain text: the title, then each table with aligned columns."""
        parts = [self._display_title()] + [_text_part(p) for p in self._display_parts()]
        return "\n\n".join(parts)

    def _repr_pretty_(self, printer: _Printer, cycle: bool) -> None:
        printer.text(repr(self) if cycle else self.to_text())


__all__ = ["MAX_ROWS", "Image", "Part", "RichDisplay", "Table", "Text", "cell"]
