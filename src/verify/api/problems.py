"""Errors as RFC 9457 problem documents (``application/problem+json``), and the body guards.

Every refusal the API gives, from a missing token to a decoder that gave up, is one JSON object
with ``type``, ``title``, ``status`` and ``detail`` (a sentence meant for a person, never a
traceback), so a tipline bot and a CMS plug-in can show it as it is.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verify.errors import Conflict, NotAllowed, NotFound, StoreError, TooLarge, UnreadableMedia, UnsupportedMedia, VerifyError

PROBLEM_TYPE = "application/problem+json"


def dumps(content: Any) -> bytes:
    """JSON bytes; text that is not valid Unicode (lone surrogates from odd file names) is escaped."""
    try:
        return json.dumps(content, ensure_ascii=False, default=str, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(content, ensure_ascii=True, default=str, separators=(",", ":")).encode("ascii")


class JSON(JSONResponse):
    """JSON responses that never fail on odd text (see ``dumps``)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


def problem(status: int, detail: str, *, slug: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> JSON:
    body = {
        "type": f"urn:verify:problem:{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSON(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


class Unauthorized(Exception):
    """No token, a malformed or unknown token, or a revoked one: 401 with ``WWW-Authenticate``."""


#: What each domain error becomes: status and problem slug.
_MAPPING: list[tuple[type[VerifyError], int, str]] = [
    (NotAllowed, 403, "not-allowed"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "changed-meanwhile"),
    (TooLarge, 413, "too-large"),
    (UnsupportedMedia, 422, "unsupported-media"),
    (UnreadableMedia, 422, "unreadable-media"),
    (StoreError, 503, "store-unavailable"),
]


def for_error(exc: VerifyError) -> JSON:
    for cls, status, slug in _MAPPING:
        if isinstance(exc, cls):
            return problem(status, str(exc), slug=slug)
    return problem(422, str(exc) or "The request cannot be carried out.", slug="refused")


def _validation_detail(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    shown = []
    for e in errors[:20]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        shown.append({"field": where, "message": str(e.get("msg", "invalid"))[:300]})
    if any(e.get("type") == "json_invalid" for e in errors):
        return "The request body is not valid JSON.", shown
    first = shown[0] if shown else {"field": "request", "message": "invalid"}
    return f"The request is not valid: {first['field']}: {first['message']}.", shown


def install(app: FastAPI) -> None:
    """Problem documents for every error path FastAPI and Starlette know about."""

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_request: Request, exc: Unauthorized) -> JSON:
        return problem(401, str(exc), slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="verify"'})

    @app.exception_handler(VerifyError)
    async def _verify_error(_request: Request, exc: VerifyError) -> JSON:
        return for_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSON:
        detail, errors = _validation_detail(list(exc.errors()))
        return problem(422, detail, slug="invalid-request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSON:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is no such endpoint; see /docs."
        if exc.status_code == 405:
            detail = "This endpoint does not take that method; see /docs."
        return problem(exc.status_code, detail, headers=dict(exc.headers or {}) or None)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> JSON:
        import logging

        logging.getLogger("verify.api").exception("unhandled error")
        return problem(500, "Something went wrong on the desk's side; nothing was changed by this request.", slug="internal")


# -- body guards: size and content type, before anything parses the body -------------------------


class BodyTooLarge(Exception):
    pass


class BodyGuard:
    """Pure ASGI middleware: 413 for bodies past the limit, 415 for the wrong content type.

    The limit is checked on ``Content-Length`` up front and again while the body streams in (a
    chunked upload has no length), so an oversized upload is cut off, not spooled to disk whole.
    The content type each route takes is read from the route (``openapi_extra["x-consumes"]``).
    """

    def __init__(self, app: ASGIApp, *, upload_limit: int, json_limit: int = 1024 * 1024) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.json_limit = json_limit
        self.routes: list[Any] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        consumes = None
        for route in self.routes:
            matched, _child = route.matches(scope)
            if matched is Match.FULL:
                consumes = (getattr(route, "openapi_extra", None) or {}).get("x-consumes")
                break
        limit = self.upload_limit if consumes == "multipart/form-data" else self.json_limit
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if consumes:
            given = headers.get("content-type", "").split(";")[0].strip().lower()
            if given != consumes:
                shown = given or "none"
                await _send(send, problem(415, f"This endpoint takes {consumes}, not {shown}.", slug="wrong-content-type"))
                return
        length = headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _send(send, problem(400, "The Content-Length header is not a number."))
                return
            if declared > limit:
                await _send(send, _too_large(limit))
                return
        total = 0
        exceeded = False
        started = False

        async def limited() -> Message:
            nonlocal total, exceeded
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:  # whatever the app made of the cut-off body, it is a 413
                started = True
                await _send(send, _too_large(limit))
                return
            if exceeded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except BodyTooLarge:
            if not started:
                await _send(send, _too_large(limit))


def _too_large(limit: int) -> JSON:
    return problem(413, f"The request body is larger than the limit of {limit:,} bytes.", slug="too-large")


async def _send(send: Send, response: JSON) -> None:
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


#: Shown in the OpenAPI document for every route, so clients (and schemathesis) know the shapes.
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": HTTPStatus(code).phrase, "content": {PROBLEM_TYPE: {"schema": PROBLEM_SCHEMA}}} for code in codes
    }
