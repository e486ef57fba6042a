"""What every command shares (embver.cli._common)."""

from __future__ import annotations


def test_cli_announces_steps_only_on_a_terminal(monkeypatch, capsys):
    import sys

    from embver.cli._common import step_announcer

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert step_announcer("comparing") is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    announce = step_announcer("comparing")
    assert announce is not None
    announce("neighbours")
    assert capsys.readouterr().err.startswith("comparing: neighbours… (0 s)")
