"""``embver ui``: serve the web UI (FastAPI and uvicorn load when it runs)."""

from __future__ import annotations

import socket
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING

import click

from embver.server.security import SecurityConfig, is_loopback, is_wildcard, new_token

if TYPE_CHECKING:
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
    help="Default layout (default: umap up to 50 000 items, pca above).",
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
    app = create_app(store, security=security, media_roots=roots, default_method=layout)
    url = _url(host, port, token)
    click.echo(f"embver ui: serving {url}")
    if not is_loopback(host):
        click.echo(f"  exposed on {host}: every request needs the token {token}", err=True)
    if open_browser:
        webbrowser.open(url)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


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


COMMANDS: list[click.Command] = [ui]
