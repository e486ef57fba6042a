"""`embver serve --ray`: the same app as a Ray Serve deployment, on a local 2-CPU Ray."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

pytest.importorskip("ray.serve")


@pytest.fixture(scope="module")
def ray_served(news_root):
    """The news store behind two replicas on a fresh local Ray (num_cpus=2, no dashboard)."""
    import ray
    from ray import serve

    from embver.serve import ray_app, serve_security
    from embver.serve.ray_app import DEPLOYMENT

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        app = ray_app(str(news_root), serve_security(), replicas=2)
        serve.run(app, name="embver", route_prefix="/")
        yield f"http://127.0.0.1:{port}", serve.status().applications["embver"], DEPLOYMENT
    finally:
        serve.shutdown()
        ray.shutdown()


def test_two_replicas_answer_the_openai_client_with_the_versions_vectors(ray_served, bbc, encoded):
    from openai import OpenAI

    url, status, deployment = ray_served
    replicas = status.deployments[deployment].replica_states
    assert replicas.get("RUNNING") == 2, replicas
    client = OpenAI(base_url=f"{url}/v1", api_key="unused-on-loopback", max_retries=0)

    def ask(row):
        return client.embeddings.create(
            model="news@production", input=[bbc.text[row]], encoding_format="float"
        )

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(16)))
    assert {a.model for a in answers} == {"news@1.0.0"}
    got = np.array([a.data[0].embedding for a in answers], np.float32)
    np.testing.assert_allclose(got, encoded["news@1.0.0"][:16], atol=1e-5)


def test_the_deployment_keeps_the_guards_and_the_refusals(ray_served):
    url, _, _ = ray_served
    assert httpx.get(f"{url}/v1/models", headers={"host": "evil.example"}).status_code == 421
    unknown = httpx.post(f"{url}/v1/embeddings", json={"model": "news@beta", "input": ["x"]})
    assert unknown.status_code == 404 and "production → 1.0.0" in unknown.text
    empty = httpx.post(f"{url}/v1/embeddings", json={"model": "news@1.0.0", "input": []})
    assert empty.status_code == 400 and "empty list" in empty.text
