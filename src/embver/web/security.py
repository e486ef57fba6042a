"""Request guards of embver's HTTP apps: Host allow-list, access token, cross-site refusal.

The web UI (``embver ui``) and the embedding service (``embver serve``) are local
tools: they bind 127.0.0.1 by default, and three guards stand between a request and
any route, checked in this order by :class:`SecurityMiddleware`:

1. **Host** — the ``Host`` header must name this machine (``localhost``,
   ``127.0.0.1``, ``[::1]``, the bound address, or an IP literal when exposed).
   A page on ``evil.example`` that rebinds its DNS to 127.0.0.1 sends
   ``Host: evil.example`` and is refused (DNS rebinding).
2. **Token** — when a token is configured (always, when the bind address is not
   loopback) every request must carry it: ``Authorization: Bearer``, the
   ``X-Embver-Token`` header, the ``embver_token`` cookie, or ``?token=`` once
   (which sets the cookie).
3. **Cross-site** — every API request (``/api/...``, reads included: a page
   anywhere could otherwise make the UI compute t-SNE/UMAP layouts and fill its
   cache) whose ``Origin`` / ``Sec-Fetch-Site``, when the browser sends them, do
   not say same origin is refused. Requests without them (curl, scripts) pass.
   A request that is not GET/HEAD/OPTIONS must also carry the custom header
   ``X-Embver-Request: 1`` (the UI's; see ``require_request_header``) and a JSON
   body (neither can be sent by a plain cross-site form). The front end itself
   (``/``, its assets) stays reachable by a link from another site; the browser's
   CORP header keeps its files from being embedded there.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from embver.errors import InvalidInputError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "embver_token"
TOKEN_HEADER = "x-embver-token"
CSRF_HEADER = "x-embver-request"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: every route under this prefix refuses cross-site requests, whatever its method
API_PREFIX = "/api/"
#: ``Sec-Fetch-Site`` values of a request the UI itself (or a typed URL) makes
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

# regl compiles its draw commands with `new Function`, hence 'unsafe-eval';
# regl-scatterplot builds its spatial index in a blob: worker.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; worker-src 'self' blob:; "
    "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal) only reaches this machine."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """Whether ``host`` is an any-address bind (``0.0.0.0``, ``::``)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random access token (URL-safe, 32 characters)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SecurityConfig:
    """What the guards accept.

    Parameters
    ----------
    bind_host
        The address the server binds (``127.0.0.1`` by default).
    token
        The access token every request must carry, or ``None`` (loopback only).
    extra_hosts
        Further host names accepted in the ``Host`` header (e.g. the machine's
        DNS name when the UI is exposed).
    service
        The command serving the app, named in refusals (``embver ui``, ``embver serve``).
    api_prefix
        Routes under this prefix refuse cross-site requests, whatever their method.
    require_request_header
        Whether a changing request must carry ``X-Embver-Request: 1``. The UI's pages
        send it; an API server for programs (``embver serve``, whose OpenAI-compatible
        clients cannot be told to) turns it off and keeps the other guards: a JSON body,
        which a browser sends cross-origin only after a CORS preflight this app never
        answers, and the Origin / Sec-Fetch-Site refusal.
    """

    bind_host: str = "127.0.0.1"
    token: str | None = None
    extra_hosts: frozenset[str] = field(default_factory=frozenset)
    service: str = "embver ui"
    api_prefix: str = API_PREFIX
    require_request_header: bool = True

    def __post_init__(self) -> None:
        if not is_loopback(self.bind_host) and not self.token:
            raise InvalidInputError(
                f"binding {self.bind_host!r} exposes {self.service} beyond this machine; "
                "a token is required (pass --token or let embver generate one)"
            )

    def host_allowed(self, hostname: str) -> bool:
        """Whether a ``Host`` header's name (port stripped) is acceptable."""
        name = hostname.strip("[]").lower().rstrip(".")
        if not name:
            return False
        if is_loopback(name) or name in self.extra_hosts:
            return True
        if name == self.bind_host.strip("[]").lower():
            return True
        if is_wildcard(self.bind_host) or not is_loopback(self.bind_host):
            # An IP literal cannot be rebound by DNS: the browser's origin is that IP.
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False

    def token_matches(self, candidate: str | None) -> bool:
        if self.token is None:
            return True
        return candidate is not None and hmac.compare_digest(
            candidate.encode(), self.token.encode()
        )


def split_host(host_header: str) -> tuple[str, str | None]:
    """``"[::1]:8765"`` → ``("::1", "8765")``; ``"localhost"`` → ``("localhost", None)``."""
    parsed = urlsplit("//" + host_header)
    try:
        port = str(parsed.port) if parsed.port is not None else None
        hostname = parsed.hostname or ""
    except ValueError:
        return "", None
    return hostname, port


class SecurityMiddleware:
    """ASGI middleware applying the three guards of this module to HTTP requests."""

    def __init__(self, app: ASGIApp, config: SecurityConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            await _send_json(send, status, {"detail": message})
            return
        token_in_query = _query_token(scope)
        set_cookie = self.config.token is not None and token_in_query is not None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if set_cookie:
                    extra.append((b"set-cookie", _token_cookie(self.config.token or "")))
                existing = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in existing
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        hostname, _ = split_host(headers.get("host", ""))
        config = self.config
        if not config.host_allowed(hostname):
            return 421, "this Host is not served: use http://127.0.0.1:<port>/"
        if not config.token_matches(_presented_token(scope, headers)):
            return 401, f"an access token is required: use the one `{config.service}` printed"
        if scope["method"] not in SAFE_METHODS:
            refusal = _unforgeable_refusal(headers, config.require_request_header)
            if refusal is not None:
                return refusal
        if scope["method"] not in SAFE_METHODS or scope["path"].startswith(config.api_prefix):
            return _cross_site_refusal(headers)
        return None


def _unforgeable_refusal(headers: dict[str, str], custom_header: bool) -> tuple[int, str] | None:
    """A changing request must carry what a cross-site form cannot: the header, a JSON body."""
    if custom_header and headers.get(CSRF_HEADER) != "1":
        return 403, f"a changing request must carry the header {CSRF_HEADER}: 1"
    if not headers.get("content-type", "").lower().startswith("application/json"):
        return 415, "a changing request must send a JSON body (application/json)"
    return None


def _cross_site_refusal(headers: dict[str, str]) -> tuple[int, str] | None:
    """Refuse a request the browser marks as made by another site or origin."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in SAME_ORIGIN_FETCH:
        return 403, f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
    origin = headers.get("origin")
    if origin is not None:
        origin_host = urlsplit(origin).netloc
        if origin == "null" or origin_host.lower() != headers.get("host", "").lower():
            return 403, f"cross-origin request refused (Origin: {origin})"
    return None


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").lower()
        # A duplicated Host (or token) header is ambiguous: keep the first, as uvicorn does.
        out.setdefault(name, value.decode("latin-1"))
    return out


def _query_token(scope: Scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


def _presented_token(scope: Scope, headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if TOKEN_HEADER in headers:
        return headers[TOKEN_HEADER]
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header carries no token
        return _query_token(scope)
    if TOKEN_COOKIE in cookie:
        return cookie[TOKEN_COOKIE].value
    return _query_token(scope)


def _token_cookie(token: str) -> bytes:
    return f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict".encode()


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
