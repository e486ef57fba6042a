"""The UI's guards in front of `embver serve`: token when exposed, Host check, cross-site."""

from __future__ import annotations

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from embver.errors import InvalidInputError
from embver.serve import create_serve_app, serve_security

TOKEN = "s3cret-serve-token"
ROUTES = [
    ("POST", "/v1/embeddings"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/news@1.0.0"),
    ("GET", "/v1/vectors/news@1.0.0?ids=x"),
]
BODY = {"model": "news@1.0.0", "input": ["a headline"]}


def test_binding_beyond_loopback_without_a_token_is_refused():
    with pytest.raises(InvalidInputError, match="exposes embver serve.*token is required"):
        serve_security("0.0.0.0")
    with pytest.raises(InvalidInputError, match="token is required"):
        serve_security("192.168.1.20")


@pytest.fixture(scope="module")
def exposed(served, serving):
    """The service as `embver serve --host 0.0.0.0 --token T` configures it, on loopback."""
    _, _, store = served
    app = create_serve_app(store, serve_security("0.0.0.0", TOKEN, frozenset({"gpu-box"})))
    with serving(app) as url:
        yield url, app


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_the_token_when_exposed(exposed, method, path):
    url, _ = exposed
    kwargs = {"json": BODY} if method == "POST" else {}
    missing = httpx.request(method, url + path, **kwargs)
    wrong = httpx.request(method, url + path, headers={"authorization": "Bearer nope"}, **kwargs)
    assert missing.status_code == wrong.status_code == 401
    assert "`embver serve` printed" in missing.json()["detail"]
    right = httpx.request(method, url + path, headers={"authorization": f"Bearer {TOKEN}"},
                          **kwargs)  # fmt: skip
    assert right.status_code in (200, 404), right.text  # 404: the id "x" is not stored


def test_the_openai_client_passes_with_the_token_as_api_key(exposed, bbc, encoded):
    url, _ = exposed
    good = openai.OpenAI(base_url=f"{url}/v1", api_key=TOKEN, max_retries=0)
    response = good.embeddings.create(model="news@1.0.0", input=[bbc.text[0]])
    assert response.model == "news@1.0.0" and len(response.data[0].embedding) == 384
    bad = openai.OpenAI(base_url=f"{url}/v1", api_key="guess", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.embeddings.create(model="news@1.0.0", input=[bbc.text[0]])


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example"])
def test_a_foreign_host_header_is_refused_even_with_the_token(exposed, host):
    url, _ = exposed
    response = httpx.get(
        f"{url}/v1/models", headers={"host": host, "authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 421


@pytest.mark.parametrize("host", ["gpu-box", "10.0.0.7:8080", "localhost"])
def test_the_machine_names_and_ip_literals_are_accepted_when_exposed(exposed, host):
    url, _ = exposed
    response = httpx.get(
        f"{url}/v1/models", headers={"host": host, "authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200


def test_loopback_refuses_a_rebound_host_and_cross_site_requests(served):
    url, _, _ = served
    assert httpx.get(f"{url}/v1/models", headers={"host": "evil.example"}).status_code == 421
    page = {"origin": "http://evil.example", "sec-fetch-site": "cross-site"}
    assert httpx.post(f"{url}/v1/embeddings", json=BODY, headers=page).status_code == 403
    assert httpx.get(f"{url}/v1/models", headers=page).status_code == 403
    form = httpx.post(f"{url}/v1/embeddings", content=b"input=x", headers={
        "content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert form.status_code == 415


def test_the_ui_still_requires_its_request_header(news_root):
    """The flag serve turns off stays on for the UI: a POST without X-Embver-Request fails."""
    import embver
    from embver.server import create_app

    with embver.open(news_root) as store:
        client = TestClient(create_app(store), base_url="http://127.0.0.1:8765")
        response = client.post(
            "/api/spaces/news/aliases/production", json={"version": "1.0.0", "reason": "x"}
        )
    assert response.status_code == 403 and "x-embver-request" in response.text
