"""Lineage as a tree: render a space's versions with their parents, like ``git log --graph``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    """One version in a lineage tree."""

    id: int
    parent_id: int | None
    label: str


def render_tree(nodes: Sequence[Node]) -> list[str]:
    """Lines drawing ``nodes`` as a tree (children under parents, in the given order)."""
    return [f"{prefix}{node.label}" for prefix, node in tree_rows(nodes)]


def tree_rows(nodes: Sequence[Node]) -> list[tuple[str, Node]]:
    """``nodes`` in tree order, each with the branch drawing before it (``"│   ├── "``)."""
    by_id = {node.id: node for node in nodes}
    children: dict[int | None, list[Node]] = {}
    for node in nodes:
        parent = node.parent_id if node.parent_id in by_id else None
        children.setdefault(parent, []).append(node)
    rows: list[tuple[str, Node]] = []

    def walk(node: Node, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└── " if last else "├── ")
        rows.append((prefix + branch, node))
        kids = children.get(node.id, [])
        extension = "" if root else ("    " if last else "│   ")
        for index, kid in enumerate(kids):
            walk(kid, prefix + extension, index == len(kids) - 1, False)

    for root in children.get(None, []):
        walk(root, "", True, True)
    return rows
