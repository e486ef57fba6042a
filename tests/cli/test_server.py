"""`embver ui` (embver.cli.server): the command line, its safe defaults and what it prints."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from embver.cli import cli


@pytest.fixture
def served(monkeypatch):
    """Capture what `embver ui` would serve instead of starting uvicorn."""
    import uvicorn

    calls = {}

    def fake_run(app, **options):
        calls["app"], calls["options"] = app, options

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_help_says_it_binds_loopback_by_default():
    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output and "requires a token" in result.output


def test_default_binds_loopback_without_token(store, served):
    result = CliRunner().invoke(cli, ["ui", "--store", str(store.location.root.parent)])
    assert result.exit_code == 0, result.output
    assert served["options"]["host"] == "127.0.0.1" and served["options"]["port"] == 8765
    assert "http://127.0.0.1:8765/" in result.output and "token" not in result.output


def test_exposed_host_generates_and_prints_a_token(store, served):
    from fastapi.testclient import TestClient

    root = str(store.location.root.parent)
    result = CliRunner().invoke(cli, ["--store", root, "ui", "--host", "0.0.0.0", "--port", "9001"])
    assert result.exit_code == 0, result.output
    token = result.output.split("?token=")[1].split()[0]
    assert len(token) >= 24
    with TestClient(served["app"], base_url="http://192.168.7.7:9001") as client:
        assert client.get("/api/spaces").status_code == 401
        assert (
            client.get("/api/spaces", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )


def test_given_token_is_required(store, served):
    from fastapi.testclient import TestClient

    root = str(store.location.root.parent)
    result = CliRunner().invoke(cli, ["ui", "--store", root, "--token", "tok-123"])
    assert result.exit_code == 0, result.output
    with TestClient(served["app"], base_url="http://127.0.0.1:8765") as client:
        assert client.get("/api/spaces").status_code == 401
        assert client.get("/api/spaces", headers={"X-Embver-Token": "tok-123"}).status_code == 200


def test_open_waits_until_the_server_listens(monkeypatch):
    """`embver ui --open`: the browser is sent to the URL only once the port accepts (the
    server listens after its layout worker has loaded), not before."""
    import socket
    import threading
    import time
    import webbrowser

    from embver.cli.server import open_when_listening

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append((url, time.monotonic())))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}/"
        waiting = threading.Thread(target=open_when_listening, args=("127.0.0.1", port, url))
        waiting.start()
        time.sleep(0.5)
        assert not opened  # bound but not listening: nothing opened yet
        listening_at = time.monotonic()
        sock.listen()
        waiting.join(timeout=10)
    assert [u for u, _ in opened] == [url] and opened[0][1] >= listening_at
    # nobody ever listens: the browser still opens (and says why) after the timeout
    assert open_when_listening("127.0.0.1", port, url, timeout_s=0.3) is False
    assert len(opened) == 2
