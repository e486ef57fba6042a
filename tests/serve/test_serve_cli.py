"""`embver serve` from the command line: its options reach the running service."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import numpy as np


def test_the_command_serves_the_store_with_its_limits(news_root, bbc, encoded):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "embver.cli", "--store", str(news_root), "serve",
               "--port", str(port), "--max-inputs", "2", "--max-chars", "400"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env={**os.environ})  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                models = httpx.get(f"{url}/v1/models", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert "news@production" in {m["id"] for m in models.json()["data"]}
        row = min(range(len(bbc)), key=lambda i: len(bbc.text[i]))
        assert len(bbc.text[row]) <= 400
        body = {"model": "news@1.0.0", "input": [bbc.text[row]], "encoding_format": "float"}
        one = httpx.post(f"{url}/v1/embeddings", json=body, timeout=60).json()
        assert one["model"] == "news@1.0.0"
        got = np.array(one["data"][0]["embedding"], np.float32)
        np.testing.assert_allclose(got, encoded["news@1.0.0"][row], atol=1e-5)
        three = httpx.post(f"{url}/v1/embeddings", json={**body, "input": ["a", "b", "c"]})
        assert three.status_code == 400 and "at most 2" in three.text
        long = httpx.post(f"{url}/v1/embeddings", json={**body, "input": ["x" * 401]})
        assert long.status_code == 400 and "at most 400" in long.text
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert f"embver serve: http://127.0.0.1:{port}/v1" in output
