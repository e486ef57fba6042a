"""The HTTP face of ``embver serve``: OpenAI's embeddings API over a store's versions.

Routes (every one behind :mod:`embver.web.security`)::

    POST /v1/embeddings        {"model": "news@production", "input": [...],
                                "encoding_format": "float" | "base64", "dimensions": d,
                                "target": "news@1.0.0"}  → OpenAI's embedding list
    GET  /v1/models            every version and alias (OpenAI's list, plus embver fields)
    GET  /v1/models/{ref}      the version a reference names now
    GET  /v1/vectors/{ref}?ids=a,b   stored vectors by id: JSON, or Arrow IPC with
                               Accept: application/vnd.apache.arrow.stream

Errors have OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``: 400 for
bad input, 404 for an unknown reference or id; the store's own failures are logged and
answered 500 without paths.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from embver.errors import EmbverError, InvalidInputError, NotFoundError, StoreError
from embver.serve.requests import EmbeddingRequest
from embver.serve.service import EmbeddingService, ServeConfig
from embver.web.security import SecurityConfig, SecurityMiddleware

if TYPE_CHECKING:
    import numpy as np

    from embver.store import Store

logger = logging.getLogger("embver.serve")

ARROW_STREAM = "application/vnd.apache.arrow.stream"
SERVICE = "embver serve"


def serve_security(
    bind_host: str = "127.0.0.1",
    token: str | None = None,
    extra_hosts: frozenset[str] = frozenset(),
) -> SecurityConfig:
    """The UI's guards, set for API clients: ``/v1/`` refuses cross-site requests, and a
    POST needs a JSON body but not the UI's ``X-Embver-Request`` header."""
    return SecurityConfig(
        bind_host=bind_host,
        token=token,
        extra_hosts=extra_hosts,
        service=SERVICE,
        api_prefix="/v1/",
        require_request_header=False,
    )


def create_serve_app(
    store: Store, security: SecurityConfig | None = None, config: ServeConfig | None = None
) -> FastAPI:
    """The embedding service over ``store``.

    Parameters
    ----------
    store
        An open :class:`embver.store.Store`; versions encode with their kept models.
    security
        Host/token guards (default: :func:`serve_security`, loopback only, no token).
    config
        Batching, model cache and request limits.
    """
    app = FastAPI(title=SERVICE, docs_url=None, redoc_url=None, openapi_url=None)
    service = EmbeddingService(store, config)
    app.state.service = service
    _install_routes(app, service)
    _install_errors(app)
    app.add_middleware(SecurityMiddleware, config=security or serve_security())
    app.router.on_shutdown.append(service.close)
    return app


def _install_routes(app: FastAPI, service: EmbeddingService) -> None:
    limits = service.config.limits

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await _json_body(request)
        answer = await service.embeddings(EmbeddingRequest.from_body(body, limits))
        return _json(answer)

    @app.get("/v1/models")
    async def models() -> Response:
        return _json(await run_in_threadpool(service.models))

    @app.get("/v1/models/{ref}")
    async def model(ref: str) -> Response:
        return _json(await run_in_threadpool(service.model, ref))

    @app.get("/v1/vectors/{ref}")
    async def vectors(ref: str, request: Request, ids: str = "") -> Response:
        wanted = [i for i in ids.split(",") if i]
        version, matrix = await run_in_threadpool(service.vectors, ref, wanted)
        if ARROW_STREAM in request.headers.get("accept", ""):
            return Response(_arrow_stream(wanted, matrix), media_type=ARROW_STREAM)
        return _json(
            {"model": version.ref, "dim": version.dim, "ids": wanted, "vectors": matrix.tolist()}
        )


async def _json_body(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"the body is not JSON ({exc})") from None


def _json(payload: dict[str, Any]) -> Response:
    """A JSON response written directly (FastAPI's encoder walks every float of a vector)."""
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, media_type="application/json")


def _arrow_stream(ids: list[str], matrix: np.ndarray) -> bytes:
    """Arrow IPC stream of a table ``id`` (string), ``vector`` (fixed-size list of float32)."""
    import pyarrow as pa

    flat = pa.array(matrix.reshape(-1), type=pa.float32())
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1]),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _install_errors(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(EmbverError)
    async def embver_error(request: Request, exc: EmbverError) -> JSONResponse:
        if isinstance(exc, StoreError):
            # the detail names the store's files: the log gets it, the client a short line
            logger.error("%s %s failed: %s", request.method, request.url.path, exc)
            message = "the store cannot serve this: see the log of `embver serve` (and run "
            return _error(500, message + "`embver verify` on the store)", "server_error")
        if isinstance(exc, NotFoundError):
            return _error(404, str(exc), "not_found_error")
        return _error(400, str(exc), "invalid_request_error")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return _error(400, message, "invalid_request_error")


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": status}},
        status_code=status,
    )
