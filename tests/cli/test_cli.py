"""The embver command line, driven as a user would (click runner + one real process)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from embver.cli import cli

D = 8


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMBVER_STORE", raising=False)
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    invoke("init")
    return invoke


def _files(tmp_path, n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype(np.float32)
    ids = [f"doc-{i}" for i in range(n)]
    np.save(tmp_path / "v.npy", x)
    (tmp_path / "ids.txt").write_text("\n".join(ids))
    frame = pd.DataFrame(
        {"id": ids, "text": [f"text {i}" for i in range(n)], "label": ["a", "b"] * (n // 2)}
    )
    for j in range(D):
        frame[f"f{j}"] = x[:, j] + 1
    frame.to_csv(tmp_path / "v.csv", index=False)
    pd.DataFrame({"id": ids, "vector": list(x + 2)}).to_parquet(tmp_path / "v.parquet")
    return x, ids


def test_import_log_show_diff_alias_export_verify(run, tmp_path):
    _, ids = _files(tmp_path)
    out = run(
        "import",
        "docs",
        "v.npy",
        "--ids",
        "ids.txt",
        "--architecture",
        "a",
        "--extraction",
        "mean",
        "--weights",
        "w1",
    )
    assert "docs@1.0.0" in out.output
    out = run(
        "import", "docs", "v.csv", "--architecture", "a", "--extraction", "cls", "--weights", "w1"
    )
    assert "docs@1.1.0" in out.output and "extraction changed: mean → cls ⇒ MINOR" in out.output
    (tmp_path / "r.yaml").write_text(
        "architecture: a\nextraction: cls\nweights: w2\ncontext: {author: ana}\n"
    )
    out = run("import", "docs", "v.parquet", "--recipe", "r.yaml", "--json")
    data = json.loads(out.output)
    assert data["version"] == "1.1.1" and data["bump"] == "patch" and data["author"] == "ana"

    log = json.loads(run("log", "docs", "--json").output)
    assert [(r["version"], r["bump"], r["parent"]) for r in log] == [
        ("1.0.0", "major", None),
        ("1.1.0", "minor", "1.0.0"),
        ("1.1.1", "patch", "1.1.0"),
    ]
    assert "└── 1.1.1" in run("log", "docs").output

    shown = json.loads(run("show", "docs@1.1.0", "--json").output)
    assert shown["count"] == 40 and shown["recipe"]["extraction"] == "cls"
    diff = json.loads(run("diff", "docs@1.0.0", "docs@1.1.1", "--json").output)
    assert diff["bump"] == "minor" and {c["field"] for c in diff["changes"]} >= {
        "extraction",
        "weights",
    }

    run("alias", "set", "docs", "production", "1.1.0", "--reason", "launch")
    run("alias", "set", "docs", "production", "1.1.1")
    history = json.loads(run("alias", "history", "docs", "--json").output)
    assert [(h["from"], h["to"]) for h in history] == [(None, "1.1.0"), ("1.1.0", "1.1.1")]
    assert json.loads(run("alias", "list", "docs", "--json").output) == {"production": "1.1.1"}
    assert json.loads(run("spaces", "--json").output)[0]["versions"] == 3

    run("export", "docs@production", "-o", "out.parquet")
    assert pd.read_parquet(tmp_path / "out.parquet")["id"].tolist() == ids
    verify = json.loads(run("verify", "--json").output)
    assert verify == {"checked": 3, "corrupt": 0, "problems": []}


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (
            lambda p: (p / "bad.npy").write_bytes(b"not numpy"),
            ["import", "s", "bad.npy", "--ids", "ids.txt"],
            "not a readable .npy",
        ),
        (
            lambda p: (p / "bad.parquet").write_bytes(b"PAR1junk"),
            ["import", "s", "bad.parquet"],
            "not a readable Parquet",
        ),
        (
            lambda p: (p / "bad.csv").write_text("id,x\na,hello\n"),
            ["import", "s", "bad.csv"],
            "not numeric",
        ),
        (
            lambda p: (p / "noid.csv").write_text("x,y\n1,2\n"),
            ["import", "s", "noid.csv"],
            "no id column",
        ),
        (
            lambda p: (p / "r.yaml").write_text("a: [unclosed"),
            ["import", "s", "v.npy", "--ids", "ids.txt", "--recipe", "r.yaml"],
            "malformed",
        ),
        (lambda p: None, ["import", "s", "missing.npy"], "does not exist"),
        (lambda p: None, ["import", "s", "v.npy"], "--ids"),
        (lambda p: (p / "v.txt").write_text("x"), ["import", "s", "v.txt"], "unknown type"),
        (lambda p: None, ["show", "s@01.0.0"], "leading zeros"),
        (lambda p: None, ["show", "nosuch@1.0.0"], "space 'nosuch' does not exist"),
    ],
)
def test_bad_files_and_refs_give_one_line_errors(
    run, tmp_path, store_snapshot, setup, args, message
):
    import embver

    _files(tmp_path)
    setup(tmp_path)
    before = store_snapshot(embver.open())
    result = (
        run(*args, "--architecture", "a", "--extraction", "e", "--weights", "w", ok=False)
        if args[0] == "import"
        else run(*args, ok=False)
    )
    assert result.exit_code != 0
    assert message in str(result.exception) + result.output
    assert store_snapshot(embver.open()) == before


def test_entry_point_in_a_real_process(tmp_path):
    env_run = [sys.executable, "-m", "embver.cli"]
    subprocess.run([*env_run, "init", str(tmp_path)], check=True, capture_output=True)
    result = subprocess.run(
        [*env_run, "--store", str(tmp_path), "show", "s@1.2"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: space 's' does not exist")
    result = subprocess.run(
        [*env_run, "--store", str(tmp_path / "nope"), "spaces"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "no embver store" in result.stderr


def test_demo_tells_the_story(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "embver.cli", "demo", "--synthetic", str(tmp_path / "d")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "1.0.0" in result.stdout and "best" in result.stdout


def test_demo_then_serves_the_ui_on_its_store(tmp_path, monkeypatch):
    """`embver demo --ui`: the story, then the UI's app on the demo store, opened."""
    import webbrowser

    import uvicorn
    from fastapi.testclient import TestClient

    served, opened = [], []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append((app, options)))
    monkeypatch.setattr(webbrowser, "open", opened.append)
    result = CliRunner().invoke(cli, ["demo", "--synthetic", "--ui", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "serving http://127.0.0.1:8765" in result.output
    ((app, options),) = served
    assert options["host"] == "127.0.0.1" and opened == ["http://127.0.0.1:8765/"]
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        spaces = client.get("/api/spaces").json()
    assert "stop-signs" in str(spaces)


def test_every_command_has_help():
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help or command.short_help, f"command {name!r} has no help text"
