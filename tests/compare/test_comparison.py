"""compare_arrays reports its steps as they start."""

from __future__ import annotations

import numpy as np

from embver.compare.comparison import compare_arrays


def test_progress_hears_each_step_as_it_starts(rng):
    old = rng.standard_normal((200, 8)).astype(np.float32)
    new = old + 0.01 * rng.standard_normal((200, 8)).astype(np.float32)
    heard: list[str] = []
    report = compare_arrays(old, new, k=5, progress=heard.append, clusters=False)
    assert heard == list(report.timings)
    assert heard[:3] == ["neighbours", "neighbourhood", "structure"] and "migration" in heard


def test_cli_announces_steps_only_on_a_terminal(monkeypatch, capsys):
    import sys

    from embver.cli import step_announcer

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert step_announcer("comparing") is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    announce = step_announcer("comparing")
    assert announce is not None
    announce("neighbours")
    assert capsys.readouterr().err.startswith("comparing: neighbours… (0 s)")
