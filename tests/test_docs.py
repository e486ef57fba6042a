"""Every CLI command is documented in the README (datasette's habit)."""

from __future__ import annotations

from pathlib import Path

from embver.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_command_is_in_the_readme():
    missing = [name for name in cli.commands if name not in README]
    assert missing == []


def test_readme_has_the_two_quick_start_commands():
    assert "embver demo" in README
    assert "bash scripts/test.sh" in README
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci
