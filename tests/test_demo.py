"""`embver demo` on generated vectors: its verdicts, and what a second run tells a CLI user."""

from __future__ import annotations

import pytest

from embver.cli import main
from embver.demo import run_demo


def test_a_second_demo_run_gives_cli_next_steps(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMBVER_STORE", raising=False)
    main(["demo", "--synthetic"])  # returns: no exit code but 0
    assert (tmp_path / "embver-demo" / ".embver" / "config.json").is_file()
    capsys.readouterr()
    with pytest.raises(SystemExit) as again:
        main(["demo", "--synthetic"])
    assert again.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line
    assert "a demo store already exists in embver-demo" in err
    assert "`cd embver-demo && embver log stop-signs`" in err
    assert "embver demo OTHER_FOLDER" in err
    assert "embver.open" not in err  # the Python API's hint is for Python users


def test_the_synthetic_breaking_verdict_lists_only_failed_checks(tmp_path):
    store = run_demo(tmp_path / "demo", echo=lambda _: None, synthetic=True)
    verdict = store.get("stop-signs@1.0.1").verdict
    assert verdict["label"] == "breaking"
    figures = verdict["figures"]
    # the median cosine passed (the noise is small) and CR@10 failed: only the failure is a reason
    assert figures["median_cosine"] >= verdict["thresholds"]["drop_in_median_cosine"]
    assert figures["cr_at_k_ci"][0] < verdict["thresholds"]["drop_in_cr10_lower"]
    reasons = verdict["reasons"]
    assert not any("median per-item cosine" in reason for reason in reasons), reasons
    assert any(reason.startswith("CR@10 lower 95% bound") for reason in reasons), reasons
    assert all("≥" not in reason for reason in reasons), reasons
