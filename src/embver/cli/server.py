"""``embver ui`` (the web UI) and ``embver serve`` (embeddings for downstream services);
FastAPI, uvicorn, torch and Ray load when a command runs."""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING

import click

from embver.web.security import SecurityConfig, is_loopback, is_wildcard, new_token

if TYPE_CHECKING:
    from embver.serve import ServeConfig
    from embver.store import Store


@click.command("ui")
@click.option("--store", "store_path", default=None, help="Store folder (default: discovered).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. The default, 127.0.0.1, is reachable from this machine only; "
    "any other address exposes the UI and requires a token.",
)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--token",
    default=None,
    help="Access token required on every request. Generated and printed when the host is "
    "not loopback and none is given.",
)
@click.option(
    "--media-root",
    "media_roots",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder item images may be served from (repeatable). Default: the folder holding "
    "the store.",
)
@click.option(
    "--layout",
    type=click.Choice(["umap", "pca", "tsne"]),
    default=None,
    help="Default layout (default: umap up to 2 000 000 items, pca above).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a web browser.")
@click.pass_context
def ui(
    ctx: click.Context,
    store_path: str | None,
    host: str,
    port: int,
    token: str | None,
    media_roots: tuple[Path, ...],
    layout: str | None,
    open_browser: bool,
) -> None:
    """Serve the web UI: registry, version explorer and comparisons.

    Binds 127.0.0.1 (this machine only) by default. Clients never name files:
    item images are served only from registered item URIs under the media roots.
    """
    import uvicorn

    import embver
    from embver.server.app import create_app

    # `embver --store S ui` and `embver ui --store S` both work.
    store = embver.open(store_path or getattr(ctx.obj, "store_path", None))
    if not is_loopback(host) and not token:
        token = new_token()
    extra = _machine_names() if is_wildcard(host) or not is_loopback(host) else frozenset()
    security = SecurityConfig(bind_host=host, token=token, extra_hosts=extra)
    roots = media_roots or (_default_media_root(store),)
    app = create_app(
        store,
        security=security,
        media_roots=roots,
        default_method=layout,
        layout_worker_at_start=True,
    )
    url = _url(host, port, token)
    click.echo(f"embver ui: serving {url}")
    if not is_loopback(host):
        click.echo(f"  exposed on {host}: every request needs the token {token}", err=True)
    if open_browser:
        # once the server listens: it starts serving after its layout worker has loaded
        # (a second or two), and a browser already running opens its tab at once
        connect = "127.0.0.1" if is_wildcard(host) else host
        threading.Thread(target=open_when_listening, args=(connect, port, url), daemon=True).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def open_when_listening(host: str, port: int, url: str, timeout_s: float = 120.0) -> bool:
    """Open ``url`` in a web browser once ``host:port`` accepts connections (or after
    ``timeout_s``, when the browser then shows why not); whether it was listening."""
    deadline = time.monotonic() + timeout_s
    listening = False
    while not listening and time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                listening = True
        except OSError:
            time.sleep(0.1)
    webbrowser.open(url)
    return listening


@click.command("serve")
@click.option("--store", "store_path", default=None, help="Store folder (default: discovered).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. The default, 127.0.0.1, is reachable from this machine only; "
    "any other address exposes the service and requires a token.",
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--token",
    default=None,
    help="Access token every request must carry (the OpenAI client's api_key). Generated "
    "and printed when the host is not loopback and none is given.",
)
@click.option(
    "--max-batch",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Inputs per encode call, gathered from concurrent requests for one version.",
)
@click.option(
    "--batch-size",
    default=16,
    show_default=True,
    type=click.IntRange(1),
    help="Inputs per forward pass within a gathered batch (sorted by length).",
)
@click.option(
    "--max-wait-ms",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Milliseconds a batch waits for more requests before it encodes.",
)
@click.option(
    "--max-models",
    default=4,
    show_default=True,
    type=click.IntRange(1),
    help="Kept models held in memory at once (the least recently used is dropped).",
)
@click.option(
    "--max-inputs",
    default=512,
    show_default=True,
    type=click.IntRange(1),
    help="Inputs one request may carry.",
)
@click.option(
    "--max-chars",
    default=20_000,
    show_default=True,
    type=click.IntRange(1),
    help="Characters one input may have.",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[ADDRESS]",
    help="Run as a Ray Serve deployment: on the cluster at ADDRESS (host:6379, auto), or "
    "with no ADDRESS on RAY_ADDRESS or a new local Ray.",
)
@click.option(
    "--replicas",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Replicas of the deployment (with --ray).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    store_path: str | None,
    host: str,
    port: int,
    token: str | None,
    max_batch: int,
    batch_size: int,
    max_wait_ms: float,
    max_models: int,
    max_inputs: int,
    max_chars: int,
    ray_address: str | None,
    replicas: int,
) -> None:
    """Serve embeddings by version reference, compatible with OpenAI's embeddings API.

    POST /v1/embeddings with model=space@alias (resolved per request: moving an alias
    switches every client), GET /v1/models, GET /v1/vectors/REF?ids=a,b. Binds
    127.0.0.1 (this machine only) by default.
    """
    import embver
    from embver.serve import Limits, ServeConfig, serve_security

    store = embver.open(store_path or getattr(ctx.obj, "store_path", None))
    if not is_loopback(host) and not token:
        token = new_token()
    extra = _machine_names() if is_wildcard(host) or not is_loopback(host) else frozenset()
    security = serve_security(host, token, extra)
    limits = Limits(max_inputs=max_inputs, max_chars=max_chars)
    config = ServeConfig(
        max_batch=max_batch, max_wait=max_wait_ms / 1000, batch_size=batch_size,
        max_models=max_models, limits=limits,
    )  # fmt: skip
    url = _url(host, port, None) + "v1"
    click.echo(f"embver serve: {url} (OpenAI client: base_url={url!r})")
    if not is_loopback(host):
        click.echo(f"  exposed on {host}: every request needs the token {token}", err=True)
    if ray_address is not None:
        _serve_on_ray(str(store.location.root), security, config, ray_address, replicas, port)
        return
    import uvicorn

    from embver.serve import create_serve_app

    app = create_serve_app(store, security, config)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def _serve_on_ray(
    store_url: str,
    security: SecurityConfig,
    config: ServeConfig,
    address: str,
    replicas: int,
    port: int,
) -> None:
    from embver.extract.ray_runner import ray_session
    from embver.serve import ray_app
    from embver.serve.ray_app import import_serve

    with ray_session(address or True):
        ray_serve = import_serve()
        ray_serve.start(http_options={"host": security.bind_host, "port": port})
        click.echo(f"  on Ray Serve: {replicas} replica(s)", err=True)
        app = ray_app(store_url, security, config, replicas)
        ray_serve.run(app, name="embver", route_prefix="/", blocking=True)


def _default_media_root(store: Store) -> Path:
    """The folder holding the store: ``location.root`` is its ``.embver`` folder."""
    return store.location.root.parent


def _machine_names() -> frozenset[str]:
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(n for n in names if n)


def _url(host: str, port: int, token: str | None) -> str:
    shown = "127.0.0.1" if is_wildcard(host) else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


COMMANDS: list[click.Command] = [ui, serve]
