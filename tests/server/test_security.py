"""Every route × (no token when exposed, foreign Host, cross-site mutation, traversal) → refused."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

import embver
from embver.errors import InvalidInputError, NotFoundError
from embver.server import SecurityConfig, create_app
from embver.server.media import resolve_media
from embver.web.security import is_loopback

BASE = "http://127.0.0.1:8765"
TOKEN = "s3cret-token-for-tests"
MUTATE = {"X-Embver-Request": "1", "Content-Type": "application/json"}
PARAMS = {
    "space": "digits",
    "alias": "production",
    "ref": "digits@1.0.0",
    "position": "3",
    "dimension": "0",
    "name": "index.js",
}
QUERY = {
    "a": "digits@1.0.0",
    "b": "digits@1.0.1",
    "q": "sample",
    "key": "batch",
    "value": "late",
    "index": "0",
}
BODY = {"version": "1.0.0", "reason": "security test"}
TRAVERSAL = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..\\..\\..\\windows\\win.ini",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "file:///etc/passwd",
    "....//....//etc/passwd",
    "digits@1.0.0%00.png",
    "..%c0%af..%c0%afetc%c0%afpasswd",
]


def flat_routes(app):
    """Every route object of the app, routers included (FastAPI nests included routers)."""
    out = []
    for route in app.routes:
        nested = getattr(route, "original_router", None)
        out.extend(flat_routes(nested) if nested is not None else [route])
    return out


def routes(app):
    """(method, path template) of every route the app serves, mounts included."""
    found = []
    for route in flat_routes(app):
        if isinstance(route, Mount):  # no mounts today; a future one is still enumerated
            found.append(("GET", route.path + "/{name}"))
            continue
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def fill(template, **override):
    values = {**PARAMS, **override}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def call(client, method, path, **kwargs):
    if method == "POST":
        kwargs.setdefault("json", BODY)
    return client.request(method, path, params=QUERY, **kwargs)


@pytest.fixture(scope="module")
def loopback_app(digits_store):
    return create_app(
        digits_store, media_roots=[digits_store.location.root.parent], default_method="pca"
    )


@pytest.fixture(scope="module")
def exposed_app(digits_store):
    security = SecurityConfig(bind_host="0.0.0.0", token=TOKEN)
    return create_app(
        digits_store,
        security=security,
        media_roots=[digits_store.location.root.parent],
        default_method="pca",
    )


@pytest.fixture(scope="module")
def all_routes(loopback_app):
    found = routes(loopback_app)
    assert ("POST", "/api/spaces/{space}/aliases/{alias}") in found
    assert len(found) >= 20
    return found


def test_no_route_takes_a_file_path(loopback_app):
    for route in flat_routes(loopback_app):
        names = set(getattr(route, "param_convertors", {}) or {})
        for dependant in [getattr(route, "dependant", None)]:
            if dependant is not None:
                names |= {p.name for p in dependant.query_params + dependant.path_params}
        assert not names & {"path", "file", "filename", "dir", "directory", "uri", "url"}, (
            route.path
        )
        assert ":path" not in getattr(route, "path_format", "") and "{path" not in route.path


def test_exposed_bind_without_token_is_refused_at_configuration():
    with pytest.raises(InvalidInputError, match="token") as refused:
        SecurityConfig(bind_host="0.0.0.0")
    assert isinstance(refused.value, ValueError) and "\n" not in str(refused.value)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")


def test_every_route_needs_the_token_when_exposed(exposed_app, all_routes):
    with TestClient(exposed_app, base_url="http://192.168.1.20:8765") as client:
        for method, template in all_routes:
            path = fill(template)
            assert call(client, method, path, headers=MUTATE).status_code == 401, (method, path)
            wrong = {**MUTATE, "Authorization": "Bearer nope"}
            assert call(client, method, path, headers=wrong).status_code == 401, (method, path)
            bad_cookie = {**MUTATE, "Cookie": "embver_token=nope"}
            assert call(client, method, path, headers=bad_cookie).status_code == 401, (method, path)


def test_the_token_opens_the_door_by_header_cookie_or_link(exposed_app):
    with TestClient(exposed_app, base_url="http://192.168.1.20:8765") as client:
        assert (
            client.get("/api/spaces", headers={"Authorization": f"Bearer {TOKEN}"}).status_code
            == 200
        )
        assert client.get("/api/spaces", headers={"X-Embver-Token": TOKEN}).status_code == 200
        first = client.get("/", params={"token": TOKEN})
        assert first.status_code in (200, 503)
        assert (
            "HttpOnly" in first.headers["set-cookie"]
            and "SameSite=Strict" in first.headers["set-cookie"]
        )
        assert client.get("/api/spaces").status_code == 200  # the cookie now carries it


def test_every_route_refuses_a_foreign_host(loopback_app, exposed_app, all_routes):
    foreign = [
        "evil.example",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "attacker.test:8765",
        "",
    ]
    with (
        TestClient(loopback_app, base_url=BASE) as loopback,
        TestClient(exposed_app, base_url=BASE) as exposed,
    ):
        for method, template in all_routes:
            path = fill(template)
            for host in foreign:
                headers = {**MUTATE, "Host": host}
                assert call(loopback, method, path, headers=headers).status_code == 421, (
                    host,
                    path,
                )
                exposed_headers = {**headers, "Authorization": f"Bearer {TOKEN}"}
                assert call(exposed, method, path, headers=exposed_headers).status_code == 421, (
                    host,
                    path,
                )
            # Bound to loopback, an outside address is not this server either.
            assert (
                call(
                    loopback, method, path, headers={**MUTATE, "Host": "192.168.1.20:8765"}
                ).status_code
                == 421
            )


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Content-Type": "application/json"}, 403),  # no custom header: a plain cross-site fetch
        ({"X-Embver-Request": "1", "Content-Type": "text/plain"}, 415),
        ({"X-Embver-Request": "1", "Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({**MUTATE, "Origin": "http://evil.example"}, 403),
        ({**MUTATE, "Origin": "null"}, 403),
        ({**MUTATE, "Origin": "http://127.0.0.1:9999"}, 403),
        ({**MUTATE, "Sec-Fetch-Site": "cross-site"}, 403),
        ({**MUTATE, "Sec-Fetch-Site": "same-site"}, 403),
    ],
)
def test_every_mutating_route_refuses_cross_site_requests(
    loopback_app, all_routes, digits_store, headers, status
):
    before = digits_store.aliases("digits")
    mutating = [(m, t) for m, t in all_routes if m not in ("GET", "HEAD", "OPTIONS")]
    assert mutating
    with TestClient(loopback_app, base_url=BASE) as client:
        for method, template in mutating:
            body = '{"version": "1.1.0", "reason": "csrf"}'
            response = client.request(method, fill(template), content=body, headers=headers)
            assert response.status_code == status, (template, headers, response.text)
    assert digits_store.aliases("digits") == before


CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # another port of localhost is the same site
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:9999"},
    {"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"},
]


def api_routes(all_routes):
    """The API routes (every method) and what is left: the front end's own routes."""
    api = [(m, t) for m, t in all_routes if t.startswith("/api/")]
    assert {t for _, t in all_routes} - {t for _, t in api} == {"/", "/assets/{name}"}
    return api


def projection_keys(store) -> set[str]:
    from embver.project.api import PROJECTION_KIND

    return {a.key for a in store.artifacts.find(PROJECTION_KIND)}


@pytest.mark.parametrize("cross_site", CROSS_SITE)
def test_every_api_route_refuses_cross_site_requests(
    loopback_app, all_routes, digits_store, cross_site
):
    """Reads too: a page anywhere must not make the loopback UI compute layouts for it."""
    aliases, projections = digits_store.aliases("digits"), projection_keys(digits_store)
    with TestClient(loopback_app, base_url=BASE) as client:
        for method, template in api_routes(all_routes):
            for query in ({**QUERY, "method": "tsne"}, {**QUERY, "method": "umap"}):
                response = client.request(
                    method,
                    fill(template),
                    params=query,
                    headers={**MUTATE, **cross_site},
                    json=BODY if method == "POST" else None,
                )
                assert response.status_code == 403, (method, template, cross_site)
                assert "cross-" in response.json()["detail"]
    assert digits_store.aliases("digits") == aliases
    assert projection_keys(digits_store) == projections


def test_same_origin_and_headerless_api_reads_pass(loopback_app, all_routes):
    """The UI's own fetches (same origin) and curl/CLI (no such headers) still get answers."""
    same_origin = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    typed = {"Sec-Fetch-Site": "none"}  # a URL typed into the address bar
    with TestClient(loopback_app, base_url=BASE) as client:
        for method, template in api_routes(all_routes):
            if method != "GET":
                continue
            for headers in ({}, same_origin, typed):
                response = client.get(fill(template), params=QUERY, headers=headers)
                assert response.status_code < 400 or response.status_code in (404, 422), (
                    template,
                    headers,
                    response.text,
                )


def test_a_link_from_another_site_still_opens_the_front_end(loopback_app):
    with TestClient(loopback_app, base_url=BASE) as client:
        response = client.get("/", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code in (200, 503) and "embver" in response.text


def test_same_origin_mutation_passes(loopback_app):
    with TestClient(loopback_app, base_url=BASE) as client:
        headers = {**MUTATE, "Origin": BASE, "Sec-Fetch-Site": "same-origin"}
        response = client.post("/api/spaces/digits/aliases/security", json=BODY, headers=headers)
        assert response.status_code == 200, response.text


def test_safe_methods_never_reach_mutating_routes(loopback_app):
    with TestClient(loopback_app, base_url=BASE) as client:
        assert client.get("/api/spaces/digits/aliases/production").status_code in (404, 405)


def test_every_route_refuses_traversal_in_path_and_query(loopback_app, all_routes):
    with TestClient(loopback_app, base_url=BASE) as client:
        for method, template in all_routes:
            names = re.findall(r"\{(\w+)\}", template) or [None]
            for name in names:
                for attack in TRAVERSAL:
                    path = fill(template, **({name: attack} if name else {}))
                    params = {k: attack for k in QUERY}
                    response = client.request(
                        method,
                        path,
                        params=params,
                        headers=MUTATE,
                        json=BODY if method == "POST" else None,
                    )
                    assert response.status_code >= 400 or name is None, (
                        method,
                        path,
                        response.status_code,
                    )
                    assert (
                        b"root:" not in response.content and b"[fonts]" not in response.content
                    ), (method, path)


@pytest.fixture
def hostile_store(tmp_path):
    """A store whose items name images outside the root, through traversal and symlinks."""
    project = tmp_path / "project"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    (project / "images").mkdir(parents=True)
    (project / "images" / "ok.png").write_bytes(b"\x89PNG fine")
    os.symlink(secret, project / "images" / "escape.png")
    os.symlink(outside, project / "images" / "linkdir")
    (project / "images" / "notes.txt").write_text("not an image")
    os.symlink(project / "images" / "notes.txt", project / "images" / "dressed.png")
    uris = [
        "images/ok.png",
        "../outside/secret.png",
        str(secret),
        f"file://{secret}",
        "images/escape.png",
        "images/linkdir/secret.png",
        "images/%2e%2e/%2e%2e/outside/secret.png",
        "images/dressed.png",
        "images/notes.txt",
        "http://evil.example/x.png",
    ]
    store = embver.init(project)
    vectors = np.random.default_rng(0).normal(size=(len(uris), 4)).astype(np.float32)
    recipe = embver.Recipe(architecture="a", extraction="e", weights="w", dim=4)
    store.space("hostile").register(
        vectors, ids=[f"i{n}" for n in range(len(uris))], recipe=recipe, uris=uris
    )
    yield store, project
    store.close()


def test_item_images_only_from_registered_uris_under_the_roots(hostile_store):
    store, project = hostile_store
    app = create_app(store, media_roots=[project], default_method="pca")
    with TestClient(app, base_url=BASE) as client:
        statuses = [
            client.get(f"/api/versions/hostile@1.0.0/items/{n}/image").status_code
            for n in range(10)
        ]
        served = client.get("/api/versions/hostile@1.0.0/items/0/image")
    assert statuses == [200] + [404] * 9
    assert served.content == b"\x89PNG fine"


def test_resolve_media_refuses_every_escape(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.png").write_bytes(b"x")
    (tmp_path / "s.png").write_bytes(b"s")
    os.symlink(tmp_path / "s.png", root / "a" / "link.png")
    assert resolve_media("a/x.png", [root]) == (root / "a" / "x.png").resolve()
    assert resolve_media(str(root / "a" / "x.png"), [root]) == (root / "a" / "x.png").resolve()
    for uri in [
        "../s.png",
        "a/../../s.png",
        str(tmp_path / "s.png"),
        "a/link.png",
        "a/x.png\x00.png",
        "//etc/passwd.png",
    ]:
        with pytest.raises((NotFoundError, ValueError)):
            resolve_media(uri, [root])


def test_responses_carry_a_strict_content_security_policy(loopback_app):
    with TestClient(loopback_app, base_url=BASE) as client:
        response = client.get("/api/spaces")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
def damaged_store(tmp_path):
    """A real store whose vector data has one flipped byte (the content hash catches it)."""
    from pathlib import Path

    store = embver.init(tmp_path / "project")
    vectors = np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32)
    recipe = embver.Recipe(architecture="a", extraction="e", weights="w", dim=16)
    version = store.space("damaged").register(
        vectors, ids=[f"i{n}" for n in range(50)], recipe=recipe
    )
    [path] = Path(version.data_uri).glob("data/*.lance")
    data = bytearray(path.read_bytes())
    offset = bytes(data).find(vectors.tobytes()[:64])
    assert offset >= 0, "vectors are stored uncompressed"
    data[offset + 100] ^= 0x40
    path.write_bytes(bytes(data))
    yield store
    store.close()


def test_integrity_errors_reach_the_client_without_store_paths(damaged_store, caplog):
    app = create_app(damaged_store, default_method="pca")
    with TestClient(app, base_url=BASE) as client, caplog.at_level("ERROR", "embver.server"):
        response = client.get("/api/versions/damaged@1.0.0/points")
    root = str(damaged_store.location.root.parent)
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "embver verify" in detail and "\n" not in detail
    assert root not in response.text and "/" + root.strip("/").split("/")[0] not in response.text
    logged = [r.getMessage() for r in caplog.records if r.name == "embver.server"]
    assert any(
        root in message and "/api/versions/damaged@1.0.0/points" in message for message in logged
    )
