"""The FastAPI application of ``embver ui``: JSON and binary API plus the built front end.

Routes (all GET but the alias move; every one behind :mod:`embver.web.security`)::

    /                                         the single-page front end (static/dist)
    /api/spaces                               spaces with their versions
    /api/spaces/{space}                       versions, lineage edges, aliases + history
    POST /api/spaces/{space}/aliases/{alias}  move an alias {"version", "reason"}
    /api/recipe-diff?a=REF&b=REF              recipe field diff and derived bump
    /api/versions/{ref}                       version summary and layout methods
    /api/versions/{ref}/metadata-keys         metadata fields to colour by
    /api/versions/{ref}/points?method=        binary EVP1 layout (see binary.py): the full one
                                              when ready, else a quick PCA (header
                                              X-Embver-Stage: full|quick) while the full
                                              one is computed in the background
    /api/versions/{ref}/points?preview=true   the page's first frame: as above, but above
                                              10 000 items the quick layout of only the
                                              sampled rows it is fitted on, read without
                                              the content-hash check (X-Embver-Stage:
                                              preview, X-Embver-Verified: false; the frame
                                              carries the rows); starts the full layout
                                              in the background (its read is checked)
    /api/versions/{ref}/layout-status?method= the background layout's {stage, fraction,
                                              message, layout_ready, ...} (layouts.py)
    /api/versions/{ref}/colors?by=&method=    binary EVC1 colour codes + legend (by=default:
                                              labels when there are, else clusters; clusters
                                              still being computed: one "pending" category)
    /api/versions/{ref}/items/{i}             one item (text, label, metadata)
    /api/versions/{ref}/items/{i}/image       its image, if registered under an allowed root
    /api/versions/{ref}/search?q=             positions of matching items
    /api/versions/{ref}/neighbors/{i}?k=      nearest items in the full space
    /api/versions/{ref}/dimensions[/{d}]      per-dimension spread / extreme items
    /api/versions/{ref}/drift?key=&value=     drift of a metadata-selected batch
    /api/compare?a=&b=                        comparison report (metrics, movers, clusters)
    /api/compare/points?a=&b=&method=         binary EVP1 with two aligned panes (shared items)
    /api/compare/colors?a=&b=                 binary EVC1 per-item k-NN overlap
    /api/compare/item?a=&b=&index=            the shared item shown at a pane position
    /api/compare/movers?a=&b=&count=          most changed items (compare's order), old/new
                                              neighbours, how many tie at the last one's Jaccard
    /api/compare/clusters?a=&b=               where each cluster of A went in B
"""

from __future__ import annotations

import contextlib
import getpass
import importlib
import logging
import mimetypes
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from embver.errors import (
    DependencyError,
    EmbverError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    StoreError,
)
from embver.server import registry
from embver.server.binary import encode_codes, encode_points
from embver.server.data import LAYOUT_METHODS, UIData, overlap_codes
from embver.server.media import IMAGE_TYPES, resolve_media
from embver.web.security import SecurityConfig, SecurityMiddleware

if TYPE_CHECKING:
    from embver.store import Store

logger = logging.getLogger("embver.server")

DIST = Path(__file__).parent / "static" / "dist"
BINARY = "application/octet-stream"
STAGE_HEADER = "X-Embver-Stage"
#: "false" on a frame drawn from vectors whose content hash was not checked (the preview)
VERIFIED_HEADER = "X-Embver-Verified"
MAX_REASON = 500


class AliasMove(BaseModel):
    """Body of an alias move: the target version and why it moves."""

    version: str
    reason: str


def create_app(
    store: Store,
    security: SecurityConfig | None = None,
    media_roots: Sequence[Path] = (),
    dist: Path = DIST,
    default_method: str | None = None,
    layout_worker_at_start: bool = False,
) -> FastAPI:
    """The UI application over ``store``.

    Parameters
    ----------
    store
        An open :class:`embver.store.Store`.
    security
        Host/token guards; default: loopback only, no token.
    media_roots
        Folders item images may be served from (a registered URI must resolve inside one).
    dist
        The built front end (``npm run build`` output).
    default_method
        Layout method when the client names none (default: UMAP up to 2 000 000 items,
        else PCA), computed in the background while the page shows a quick PCA.
    layout_worker_at_start
        Start the background layout worker as the server starts and serve once it has
        loaded its libraries (up to :data:`WORKER_START_WAIT_S`), so that the first page
        of an uncached version does not wait for its imports (``embver ui`` does). Off,
        the worker starts with the first layout job.
    """
    app = FastAPI(
        title="embver ui", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_warm_up
    )
    app.state.data = UIData(store, default_method=default_method)
    app.state.layout_worker_at_start = layout_worker_at_start
    app.state.media_roots = tuple(Path(r) for r in media_roots)
    app.include_router(_registry_router())
    app.include_router(_version_router())
    app.include_router(_compare_router())
    _install_errors(app)
    _install_front_end(app, dist)
    app.add_middleware(SecurityMiddleware, config=security or SecurityConfig())
    return app


#: the longest the server's start waits for its layout worker to be ready
WORKER_START_WAIT_S = 30.0


@contextlib.asynccontextmanager
async def _warm_up(app: FastAPI) -> AsyncIterator[None]:
    """Import the vector engine (Lance, ~0.7 s) as the server starts, not on the first
    page: every version page reads vectors at once. Reads no data. With
    ``layout_worker_at_start``, the layout worker is started meanwhile and waited for.
    When the server stops, the worker leaves after the jobs it was handed."""
    jobs = _data_of(app).jobs
    if app.state.layout_worker_at_start:
        jobs.start_worker()
    await run_in_threadpool(importlib.import_module, "lance")
    if app.state.layout_worker_at_start:
        await run_in_threadpool(jobs.start_worker, WORKER_START_WAIT_S)
    try:
        yield
    finally:
        jobs.close()


def _data_of(app: FastAPI) -> UIData:
    return app.state.data


def _data(request: Request) -> UIData:
    return _data_of(request.app)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(EmbverError)
    async def embver_error(_: Request, exc: EmbverError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        # The detail names the store's files and folders: the server's log gets it, the
        # page (possibly on another machine, when the UI is exposed) a short message.
        logger.error("%s %s failed: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": store_failure_message(exc)}, status_code=500)


def store_failure_message(exc: StoreError) -> str:
    """What the client is told of a store that cannot serve it: no paths, the fix."""
    if isinstance(exc, IntegrityError):
        return (
            "the store's data is damaged or missing: run `embver verify` on the store "
            "(the details are in the log of `embver ui`)"
        )
    return "the store cannot be used as it is: the details are in the log of `embver ui`"


def _install_front_end(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"
    # The bundle's files are listed once: a request names one of them, never a path.
    folder = dist / "assets"
    assets = {p.name: p for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}

    @app.get("/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        path = assets.get(name)
        if path is None:
            raise NotFoundError(f"no asset {name!r} in the built front end")
        media_type = mimetypes.guess_type(name)[0] or BINARY
        return FileResponse(path, media_type=media_type)

    @app.get("/", include_in_schema=False)
    async def front_end() -> Response:
        if not index.is_file():
            return HTMLResponse(
                "<h1>embver ui</h1><p>The front end is not built. From the source tree run "
                "<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>",
                status_code=503,
            )
        return FileResponse(index, media_type="text/html")


def _binary(payload: bytes) -> Response:
    return Response(payload, media_type=BINARY)


# -- registry -------------------------------------------------------------------
def _registry_router() -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/spaces")
    def spaces(request: Request) -> list[dict[str, Any]]:
        store = _data(request).store
        return [
            {
                "space": name,
                "versions": [registry.version_summary(v, store) for v in store.versions(name)],
            }
            for name in registry.space_names(store)
        ]

    @router.get("/spaces/{space}")
    def space(space: str, request: Request) -> dict[str, Any]:
        store = _data(request).store
        if space not in registry.space_names(store):
            raise NotFoundError(f"space {space!r} does not exist")
        return registry.space_detail(store, space)

    @router.post("/spaces/{space}/aliases/{alias}")
    def move_alias(space: str, alias: str, body: AliasMove, request: Request) -> dict[str, Any]:
        version, reason = body.version, body.reason
        if not version.strip():
            raise InvalidInputError("field 'version' must name the target version, e.g. '1.0.0'")
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidInputError(
                f"field 'reason' must say why the alias moves (1..{MAX_REASON} characters)"
            )
        store = _data(request).store
        actor = f"{getpass.getuser()} (ui)"
        store.set_alias(space, alias, version.strip(), reason=reason.strip(), actor=actor)
        return {"alias": alias, "history": registry.alias_history(store, space, alias)}

    @router.get("/recipe-diff")
    def recipe_diff(a: str, b: str, request: Request) -> dict[str, Any]:
        store = _data(request).store
        return registry.recipe_diff(store.get(a), store.get(b))

    return router


# -- one version ---------------------------------------------------------------
def _version_router() -> APIRouter:
    router = APIRouter(prefix="/api/versions/{ref}")

    @router.get("")
    def version(ref: str, request: Request) -> dict[str, Any]:
        data = _data(request)
        view = data.view(ref)
        return {
            **registry.version_summary(view.version, data.store),
            "methods": list(LAYOUT_METHODS),
            "default_method": data.default_method(view),
        }

    @router.get("/metadata-keys")
    def metadata_keys(ref: str, request: Request) -> list[str]:
        """Metadata fields to colour by (loads the item table: asked after the first frame)."""
        data = _data(request)
        return data.metadata_keys(data.view(ref))

    @router.get("/points")
    async def points(
        ref: str, request: Request, method: str | None = None, preview: bool = False
    ) -> Response:
        data = _data(request)
        started = time.perf_counter()
        view = await run_in_threadpool(data.view, ref)
        rows = None
        if preview:
            coords, stage, rows = await run_in_threadpool(data.first_frame, view, method)
        else:
            coords, stage = await run_in_threadpool(data.layout_now, view, method)
        response = _binary(encode_points([coords], rows=rows))
        response.headers[STAGE_HEADER] = stage
        response.headers[VERIFIED_HEADER] = "false" if stage == "preview" else "true"
        # the server's own time on the frame, for the browser's resource timing
        took = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f'frame;dur={took:.1f};desc="{stage}"'
        return response

    @router.get("/layout-status")
    def layout_status(ref: str, request: Request, method: str | None = None) -> dict[str, Any]:
        data = _data(request)
        return data.layout_status(data.view(ref), method)

    @router.get("/colors")
    async def colors(
        ref: str, request: Request, by: str = "default", method: str | None = None
    ) -> Response:
        data = _data(request)
        view = await run_in_threadpool(data.view, ref)
        codes, legend = await run_in_threadpool(data.colour_codes, view, by, method, False)
        return _binary(encode_codes(codes, legend))

    @router.get("/items/{position}")
    def item(ref: str, position: int, request: Request) -> dict[str, Any]:
        data = _data(request)
        return data.item(data.view(ref), position)

    @router.get("/items/{position}/image")
    def image(ref: str, position: int, request: Request) -> Response:
        data = _data(request)
        view = data.view(ref)
        data.item(view, position)  # range check
        uri = data.items(view).iloc[position].get("uri")
        if not isinstance(uri, str) or not uri:
            raise NotFoundError(f"item {view.ids[position]!r} has no image")
        path = resolve_media(uri, request.app.state.media_roots)
        return FileResponse(path, media_type=IMAGE_TYPES[path.suffix.lower()])

    @router.get("/search")
    def search(ref: str, q: str, request: Request) -> dict[str, Any]:
        data = _data(request)
        hits = data.search(data.view(ref), q[:200])
        return {"query": q, "positions": hits}

    @router.get("/neighbors/{position}")
    def neighbours(ref: str, position: int, request: Request, k: int = 10) -> dict[str, Any]:
        data = _data(request)
        view = data.view(ref)
        return {"item": data.item(view, position), "neighbors": data.neighbours(view, position, k)}

    @router.get("/dimensions")
    def dimensions(ref: str, request: Request) -> dict[str, Any]:
        data = _data(request)
        return data.dimension_stats(data.view(ref))

    @router.get("/dimensions/{dimension}")
    def dimension(ref: str, dimension: int, request: Request) -> dict[str, Any]:
        data = _data(request)
        return data.dimension_items(data.view(ref), dimension)

    @router.get("/drift")
    def drift(ref: str, key: str, value: str, request: Request) -> dict[str, Any]:
        data = _data(request)
        return registry.plain(data.drift(data.view(ref), key, value))

    return router


# -- two versions --------------------------------------------------------------
def _compare_router() -> APIRouter:
    router = APIRouter(prefix="/api/compare")

    @router.get("")
    def compare(a: str, b: str, request: Request) -> dict[str, Any]:
        data = _data(request)
        view_a, view_b = data.view(a), data.view(b)
        pos_a, _ = data.shared(view_a, view_b)
        overlap = data.overlap(view_a, view_b)
        report: dict[str, Any]
        try:
            report = registry.plain(data.comparison(view_a, view_b))
            error = None
        except DependencyError as exc:  # an optional dependency of the comparison is missing
            report, error = {}, f"comparison report unavailable: {exc}"
        return {
            "a": registry.version_summary(view_a.version),
            "b": registry.version_summary(view_b.version),
            "shared": len(pos_a),
            "overlap_mean": float(np.nanmean(overlap)) if len(overlap) else None,
            "report": report,
            "report_error": error,
        }

    @router.get("/points")
    async def points(a: str, b: str, request: Request, method: str | None = None) -> Response:
        data = _data(request)
        view_a, view_b = data.view(a), data.view(b)
        coords_a, coords_b = await run_in_threadpool(data.aligned_layouts, view_a, view_b, method)
        return _binary(encode_points([coords_a, coords_b]))

    @router.get("/colors")
    async def colors(
        a: str, b: str, request: Request, by: str = "overlap", method: str | None = None
    ) -> Response:
        data = _data(request)
        view_a, view_b = data.view(a), data.view(b)
        if by == "overlap":
            codes, legend = overlap_codes(await run_in_threadpool(data.overlap, view_a, view_b))
        else:
            pos_a, _ = data.shared(view_a, view_b)
            all_codes, legend = await run_in_threadpool(data.colour_codes, view_a, by, method)
            codes = all_codes[pos_a]
        return _binary(encode_codes(codes, legend))

    @router.get("/item")
    def item(a: str, b: str, index: int, request: Request) -> dict[str, Any]:
        """The shared item at ``index`` (its position in both panes)."""
        data = _data(request)
        view_a, view_b = data.view(a), data.view(b)
        pos_a, _ = data.shared(view_a, view_b)
        if not 0 <= index < len(pos_a):
            raise InvalidInputError(f"point {index} is out of range 0..{len(pos_a) - 1}")
        return data.item(view_a, int(pos_a[index]))

    @router.get("/movers")
    def movers(a: str, b: str, request: Request, count: int = 10) -> dict[str, Any]:
        """The most changed shared items in `embver compare`'s order, and how many tie."""
        data = _data(request)
        view_a, view_b = data.view(a), data.view(b)
        pos_a, pos_b = data.shared(view_a, view_b)
        overlap = data.overlap(view_a, view_b)
        ranked = data.movers(view_a, view_b, max(1, min(count, 50)))
        return {
            "movers": [
                {
                    "index": int(n),
                    "overlap": float(overlap[n]),
                    "jaccard": float(ranked["jaccard"][n]),
                    "similarity_gap": float(ranked["similarity_gap"][n]),
                    "item": data.item(view_a, int(pos_a[n])),
                    "old": [x["id"] for x in data.neighbours(view_a, int(pos_a[n]), 5)],
                    "new": [x["id"] for x in data.neighbours(view_b, int(pos_b[n]), 5)],
                }
                for n in ranked["rows"]
            ],
            "ties": ranked["ties"],
            "note": ranked.get("note"),
        }

    @router.get("/clusters")
    def clusters(a: str, b: str, request: Request, method: str | None = None) -> dict[str, Any]:
        """Where clusters went: for each cluster of A, the clusters of B its items fall in."""
        data = _data(request)
        view_a, view_b = data.view(a), data.view(b)
        pos_a, pos_b = data.shared(view_a, view_b)
        labels_a = data.layout(view_a, method)[1][pos_a]
        labels_b = data.layout(view_b, method)[1][pos_b]
        names_a, names_b = data.cluster_names(view_a, method), data.cluster_names(view_b, method)
        flows = []
        for cluster in np.unique(labels_a):
            members = labels_b[labels_a == cluster]
            targets, counts = np.unique(members, return_counts=True)
            order = np.argsort(-counts)[:4]
            flows.append(
                {
                    "cluster": int(cluster),
                    "name": names_a[int(cluster)],
                    "size": len(members),
                    "to": [
                        {
                            "cluster": int(targets[i]),
                            "name": names_b[int(targets[i])],
                            "count": int(counts[i]),
                        }
                        for i in order
                    ],
                }
            )
        return {"flows": flows}

    return router


__all__ = ["create_app"]
