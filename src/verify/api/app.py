"""The HTTP API: the desk for machines (a tipline bot, the CMS), over the same ``Services``.

Nothing is decided here. Each endpoint authenticates the token, asks ``Services`` (which
enforces the roles: the API cannot allow what the workbench refuses) and shapes JSON. Uploads go
through the same staging and decoding sandbox as the workbench's. Reads are checked here with
``Services.require(name, Action.READ)`` because reading changes nothing in the core.
"""


import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Path as PathParam, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.background import BackgroundTask

from verify import tokens
from verify.api import problems
from verify.api.docs import DOCS_HTML
from verify.api.problems import JSON, Unauthorized
from verify.config import Settings
from verify.errors import NotFound, VerifyError
from verify.models import WARNING_CATEGORIES, Claim, ItemState, MediaItem
from verify.roles import Action
from verify.store.db import ItemFilter

API_VERSION = "1"
MAX_ITEM_ID = 2**53  # larger ids do not exist and overflow PostgreSQL's BIGINT
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ITEM_ID, description="The item's number on the desk.")]
SHA256 = r"^[0-9a-fA-F]{64}$"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value: str | None, limit: int = 5000) -> str | None:
    """Text from a stranger: no NUL or other control characters (PostgreSQL refuses NUL), bounded."""
    if value is None:
        return None
    value = _CONTROL.sub(" ", value).strip()
    value = value.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
    return value[:limit] or None


def clean_filename(name: str | None) -> str | None:
    """An uploaded file's name: the last path component, NFC, without control or format characters.

    Format characters (right-to-left overrides, zero-width joiners) let ``cod.exe`` show as
    ``exe.doc``; they have no place in a file name on the desk.
    """
    from verify.services import safe_filename

    if not name:
        return None
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    return safe_filename(clean_text(name, 1000))


# -- response shapes ---------------------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_json(item: MediaItem) -> dict[str, Any]:
    d = asdict(item)
    for key, value in d.items():
        if isinstance(value, (date, datetime)):
            d[key] = value.isoformat()
    return d


def state_json(state: ItemState) -> dict[str, Any]:
    return {
        "item_id": state.item_id,
        "status": state.status,
        "version": state.version,
        "last_actor": state.last_actor,
        "verdict": (
            {"status": state.verdict.status, "rationale": state.verdict.rationale,
             "evidence_links": list(state.verdict.evidence_links), "actor": state.verdict.actor,
             "at": state.verdict.at.isoformat()}
            if state.verdict else None
        ),  # fmt: skip
        "warnings": [
            {"category": w.category, "note": w.note, "added_by": w.added_by, "added_at": w.added_at.isoformat()} for w in state.warnings
        ],
    }


def event_json(ev: Any) -> dict[str, Any]:
    return {"id": ev.id, "item_id": ev.item_id, "actor": ev.actor, "at": ev.at, "kind": ev.kind, "payload": ev.payload,
            "prev_hash": ev.prev_hash, "hash": ev.hash}  # fmt: skip


# -- request bodies --------------------------------------------------------------------------------


NOT_BLANK = r"[^\s\x00-\x1f\x7f]"  # at least one printable character (blank or control-only text is refused)
STRICT = ConfigDict(extra="forbid")  # an unknown field is a mistake worth telling the caller about


class WarningIn(BaseModel):
    """A warning of a named category; ``other`` has its own shape (it needs a note)."""

    model_config = STRICT
    category: Literal[tuple(c for c in WARNING_CATEGORIES if c != "other")] = Field(description="What the material shows.")  # type: ignore[valid-type]
    note: str | None = Field(default=None, max_length=5000)
    expected_version: int | None = Field(default=None, ge=0, le=2**31, description="The item version you saw; 409 if it changed meanwhile.")


class OtherWarningIn(BaseModel):
    model_config = STRICT
    category: Literal["other"]
    note: str = Field(min_length=1, max_length=5000, pattern=NOT_BLANK, description="What it is (required for 'other').")
    expected_version: int | None = Field(default=None, ge=0, le=2**31)


def verdict_model(statuses: tuple[str, ...]) -> type[BaseModel]:
    """The verdict body with this desk's statuses as an enum (they are configurable)."""
    return create_model(
        "VerdictIn",
        __config__=STRICT,
        status=(Literal[statuses], Field(description="One of this desk's statuses (GET /v1/statuses).")),  # type: ignore[valid-type]
        rationale=(str, Field(min_length=1, max_length=20_000, pattern=NOT_BLANK, description="Why, for the record.")),
        evidence_links=(list[Annotated[str, Field(max_length=2000)]], Field(default_factory=list, max_length=50)),
        expected_version=(int, Field(ge=0, le=2**31, description="The item version you decided on (from GET /v1/items/{id}); 409 if someone changed it meanwhile.")),
    )


class NoteIn(BaseModel):
    model_config = STRICT
    text: str = Field(min_length=1, max_length=5000, pattern=NOT_BLANK)
    expected_version: int | None = Field(default=None, ge=0, le=2**31)


class LinkIn(BaseModel):
    model_config = STRICT
    url: str = Field(min_length=1, max_length=4000)
    source: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=5000)


class BundleIn(BaseModel):
    model_config = STRICT
    item_ids: list[Annotated[int, Field(ge=1, le=MAX_ITEM_ID)]] = Field(min_length=1, max_length=200)
    with_matches: bool = True


JSON_BODY = {"x-consumes": "application/json"}
MULTIPART = {"x-consumes": "multipart/form-data"}


class Principal(BaseModel):
    name: str
    token_id: str


# -- the app -----------------------------------------------------------------------------------------


def _query_names(route: Any) -> set[str]:
    names: set[str] = set()
    stack = [getattr(route, "dependant", None)]
    while stack:
        dep = stack.pop()
        if dep is None:
            continue
        names.update(p.alias for p in dep.query_params)
        stack.extend(dep.dependencies)
    return names


def known_query(request: Request) -> None:
    """Refuse query parameters an endpoint does not take: ``?sha=`` for ``?sha256=`` is a typo
    the caller should hear about, not a silently different question."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    allowed = _query_names(route)
    unknown = sorted({k for k in request.query_params.keys() if k not in allowed})
    if unknown:
        shown = ", ".join(repr(clean_text(k, 60) or "") for k in unknown[:5])
        raise VerifyError(f"This endpoint does not take the query parameter(s) {shown}; see /docs.")
    # Every query parameter here is one value: a repeated one (?text=a&text=b) would otherwise be
    # read as its last value, a different question from the one asked.
    keys = [k for k, _ in request.query_params.multi_items()]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        shown = ", ".join(repr(clean_text(k, 60) or "") for k in repeated[:5])
        raise VerifyError(f"The query parameter(s) {shown} may be given only once.")


def create_app(settings: Settings, services: Any | None = None) -> FastAPI:
    """The API over ``settings``' store. ``services``: an open ``Services`` to share (tests)."""
    from verify.services import Services

    own = services is None
    svc = services if services is not None else Services(settings, isolate=True)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        if own:
            svc.close()

    app = FastAPI(
        title="verify API",
        version=API_VERSION,
        description=(
            "The verification desk for tiplines and the CMS. Authenticate with `Authorization: Bearer <token>` "
            "(`verify token create NAME --role ROLE`). Errors are RFC 9457 problem documents."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=JSON,
        responses=problems.responses(400, 401, 403, 404, 405, 422, 500),
        dependencies=[Depends(known_query)],
    )
    app.state.services = svc
    problems.install(app)
    upload_limit = settings.max_file_bytes + 1024 * 1024  # the file plus its form fields
    app.add_middleware(problems.BodyGuard, upload_limit=upload_limit)
    bearer = HTTPBearer(auto_error=False, description="An API token from `verify token create`.")

    def principal(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        if creds is None or not creds.credentials:
            raise Unauthorized("This endpoint needs a token: send 'Authorization: Bearer <token>'.")
        record = tokens.authenticate(svc, creds.credentials)
        if record is None:
            raise Unauthorized("The token is not valid, or it was revoked.")
        return Principal(name=record.name, token_id=record.id)

    def reader(who: Annotated[Principal, Depends(principal)]) -> Principal:
        svc.require(who.name, Action.READ)
        return who

    VerdictIn = verdict_model(tuple(svc.statuses))
    Who = Annotated[Principal, Depends(principal)]
    Reader = Annotated[Principal, Depends(reader)]

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    @app.get("/v1/health", tags=["desk"], summary="Is the API up (no token needed)")
    def health() -> dict[str, Any]:
        return {"status": "ok", "api_version": API_VERSION}

    @app.get("/v1/me", tags=["desk"], summary="Who this token is, and its role")
    def me(who: Who) -> dict[str, Any]:
        role = svc.role_of(who.name)
        return {"name": who.name, "token_id": who.token_id, "role": role.value,
                "can": {a.value: svc.can(who.name, a) for a in Action}}  # fmt: skip

    @app.get("/v1/statuses", tags=["desk"], summary="The verdict statuses and warning categories of this desk")
    def statuses(_who: Reader) -> dict[str, Any]:
        return {"statuses": list(svc.statuses), "open_statuses": list(svc.open_statuses), "warning_categories": list(WARNING_CATEGORIES)}

    # -- items ------------------------------------------------------------------------------

    @app.post("/v1/items", tags=["items"], status_code=201, openapi_extra=MULTIPART,
              responses={200: {"description": "The same bytes were already on the desk: that item"},
                         **problems.responses(409, 413, 415, 503)},
              summary="Upload a file with its claim")  # fmt: skip
    def upload(
        who: Who,
        file: Annotated[UploadFile, File(description="The picture or video.")],
        source: Annotated[str | None, Form(max_length=2000)] = None,
        source_url: Annotated[str | None, Form(max_length=4000)] = None,
        source_contact: Annotated[str | None, Form(max_length=2000)] = None,
        first_seen: Annotated[date | None, Form(description="When it is known to have existed (YYYY-MM-DD).")] = None,
        claimed_place: Annotated[str | None, Form(max_length=2000)] = None,
        claimed_lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
        claimed_lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
        claimed_date: Annotated[date | None, Form()] = None,
        note: Annotated[str | None, Form(max_length=5000)] = None,
        origin: Annotated[Literal["submission", "archive"], Form()] = "submission",
    ) -> Response:
        if (claimed_lat is None) != (claimed_lon is None):
            raise VerifyError("Give both claimed_lat and claimed_lon, or neither.")
        from datetime import UTC, time

        claim = Claim(
            source=clean_text(source), source_url=clean_text(source_url), source_contact=clean_text(source_contact),
            first_seen_at=datetime.combine(first_seen, time(12, 0), UTC) if first_seen else None,
            claimed_place=clean_text(claimed_place), claimed_lat=claimed_lat, claimed_lon=claimed_lon,
            claimed_date=claimed_date, note=clean_text(note),
        )  # fmt: skip
        result = svc.ingest_stream(file.file, filename=clean_filename(file.filename), claim=claim, origin=origin, actor=who.name)
        body = {"created": result.created, "item": item_json(result.item), "state": state_json(svc.store.state(result.item.id, svc.statuses[0]))}
        return JSON(body, status_code=201 if result.created else 200)

    # Documented only once the links issue gives Services a fetch_link; until then a 501 problem.
    @app.post("/v1/links", tags=["items"], status_code=201, openapi_extra=JSON_BODY, include_in_schema=hasattr(svc, "fetch_link"),
              responses=problems.responses(415, 422, 501), summary="Fetch a link and store what it shows")  # fmt: skip
    def fetch_link(who: Who, body: LinkIn) -> Response:
        fetch = getattr(svc, "fetch_link", None)
        if fetch is None:
            return problems.problem(501, "Fetching links is not built on this desk yet: download the file and upload it with POST /v1/items.",
                                    slug="not-built")  # fmt: skip
        result = fetch(clean_text(body.url, 4000), source=clean_text(body.source, 2000), actor=who.name)
        if result.error or result.provenance is None:
            return problems.problem(422, result.error or "Nothing could be fetched from this link.", slug="link-failed")
        prov = result.provenance
        items = [{"created": li.created, "media_url": li.media_url, "item": item_json(li.item)} for li in result.items]
        body_out = {
            "url": result.url, "final_url": prov.final_url, "platform": prov.platform, "title": prov.title,
            "uploader": prov.uploader, "published_at": prov.published_at, "published_at_basis": prov.published_at_basis,
            "capture": {"sha256": prov.capture_sha256, "format": prov.capture_format} if prov.capture_sha256 else None,
            "items": items,
        }  # fmt: skip
        return JSON(body_out, status_code=201 if any(li.created for li in result.items) else 200)

    @app.get("/v1/items", tags=["items"], summary="List items, newest first, with filters")
    def list_items(
        _who: Reader,
        origin: Literal["submission", "archive"] | None = None,
        status: Annotated[str | None, Query(max_length=64)] = None,
        has_warning: bool | None = None,
        text: Annotated[str | None, Query(max_length=500, description="In the filename, source, place or text read in the picture.")] = None,
        since: date | None = None,
        until: date | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        rows = svc.list_items(ItemFilter(origin=origin, status=clean_text(status, 64), has_warning=has_warning,
                                         text=clean_text(text, 500), since=since, until=until, limit=limit))  # fmt: skip
        return {"items": [{**item_json(item), "status": st, "warnings": list(w)} for item, st, w in rows], "count": len(rows)}

    outcomes = OutcomeCache(svc)

    def _view(item_id: int) -> Any:
        view = svc.inspect(item_id, with_matches=False)
        view.outcome = outcomes.get(item_id)
        return view

    @app.get("/v1/items/{item_id}", tags=["items"], summary="An item: metadata, findings, matches, warnings, verdict")
    def get_item(_who: Reader, item_id: ItemId) -> dict[str, Any]:
        from verify.report import build_report

        view = _view(item_id)
        rep = build_report(view)
        meta = view.metadata.to_dict()
        return {
            "item": item_json(view.item),
            **state_json(view.state),
            "facts": rep["facts"],
            "metadata": {k: v for k, v in meta.items() if k != "raw"},
            "tags": meta.get("raw", {}),
            "findings": rep["findings"],
            "earliest_match": rep["earliest_match"],
            "matches": rep["matches"],
            "candidates": rep["candidates"],
            "bank_hits": rep.get("bank_hits", []),
        }

    @app.get("/v1/items/{item_id}/events", tags=["history"], summary="The item's events, oldest first")
    def item_events(_who: Reader, item_id: ItemId) -> dict[str, Any]:
        svc.store.item(item_id)  # NotFound
        return {"events": [event_json(e) for e in svc.store.events(item_id)]}

    @app.get("/v1/events", tags=["history"], summary="The whole event chain, a page at a time")
    def all_events(
        _who: Reader,
        after_id: Annotated[int, Query(ge=0, le=MAX_ITEM_ID)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        out = []
        for ev in svc.store.iter_events():
            if ev.id <= after_id:
                continue
            out.append(event_json(ev))
            if len(out) >= limit:
                break
        return {"events": out, "next_after_id": out[-1]["id"] if len(out) == limit else None}

    # -- editorial --------------------------------------------------------------------------

    @app.post("/v1/items/{item_id}/warnings", tags=["editorial"], openapi_extra=JSON_BODY,
              responses=problems.responses(409, 415), summary="Add a content warning")  # fmt: skip
    def add_warning(who: Who, item_id: ItemId, body: Annotated[WarningIn | OtherWarningIn, Field(discriminator="category")]) -> dict[str, Any]:
        state = svc.add_warning(item_id, body.category, actor=who.name, note=clean_text(body.note), expected_version=body.expected_version)
        return state_json(state)

    @app.delete("/v1/items/{item_id}/warnings/{category}", tags=["editorial"], responses=problems.responses(409),
                summary="Remove a content warning")  # fmt: skip
    def remove_warning(
        who: Who, item_id: ItemId, category: Literal[WARNING_CATEGORIES],  # type: ignore[valid-type]
        expected_version: Annotated[int | None, Query(ge=0, le=2**31)] = None,
    ) -> dict[str, Any]:
        svc.store.item(item_id)  # NotFound
        if category not in {w.category for w in svc.store.state(item_id, svc.statuses[0]).warnings}:
            raise NotFound(f"Item {item_id} carries no {category!r} warning.")
        return state_json(svc.remove_warning(item_id, category, actor=who.name, expected_version=expected_version))

    @app.post("/v1/items/{item_id}/notes", tags=["editorial"], openapi_extra=JSON_BODY,
              responses=problems.responses(409, 415), summary="Add a note to the record")  # fmt: skip
    def add_note(who: Who, item_id: ItemId, body: NoteIn) -> dict[str, Any]:
        return state_json(svc.add_note(item_id, clean_text(body.text) or "", actor=who.name, expected_version=body.expected_version))

    @app.post("/v1/items/{item_id}/verdict", tags=["editorial"], openapi_extra=JSON_BODY,
              responses=problems.responses(409, 415), summary="Record a verdict (needs expected_version)")  # fmt: skip
    def record_verdict(who: Who, item_id: ItemId, body: VerdictIn) -> dict[str, Any]:  # type: ignore[valid-type]
        links = [clean_text(x, 2000) or "" for x in body.evidence_links]
        state = svc.record_verdict(item_id, clean_text(body.status, 64) or "", clean_text(body.rationale, 20_000) or "",
                                   actor=who.name, evidence_links=links, expected_version=body.expected_version)  # fmt: skip
        return state_json(state)

    # -- matching and the publish check -----------------------------------------------------

    @contextmanager
    def staged(upload: UploadFile) -> Iterator[Path]:
        st = svc.blobs.stage_stream(upload.file, svc.settings.max_file_bytes)
        try:
            yield st.path
        finally:
            svc.blobs.discard(st)

    @app.post("/v1/match", tags=["matching"], openapi_extra=MULTIPART, responses=problems.responses(413, 415),
              summary="Match a file against the archive without storing it")  # fmt: skip
    def match(who: Reader, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        from verify.report import _match_dict

        with staged(file) as path:
            report = svc.match_path(path)
        return {
            "sha256": report.sha256,
            "kind": report.kind,
            "matches": [_match_dict(m) for m in report.outcome.matches],
            "candidates": [_match_dict(m) for m in report.outcome.candidates],
            "bank_hits": [h.to_json() for h in report.outcome.bank_hits],
        }

    def _check_answer(sha256: str, item: MediaItem | None, outcome: Any) -> dict[str, Any]:
        """What an editor about to publish must know, in one object (see docs/team.md)."""
        from verify.report import seen_date

        def who_decided(i: MediaItem) -> dict[str, Any]:
            s = svc.store.state(i.id, svc.statuses[0])
            return {"item_id": i.id, "status": s.status, "verdict_by": s.verdict.actor if s.verdict else None,
                    "verdict_at": s.verdict.at.isoformat() if s.verdict else None,
                    "rationale": s.verdict.rationale if s.verdict else None,
                    "warnings": sorted(w.category for w in s.warnings)}  # fmt: skip

        matches = list(outcome.matches) if outcome is not None else []
        related = [m.item for m in matches if item is None or m.item.id != item.id]
        own = who_decided(item) if item is not None else None
        others = []
        for m in matches:
            if item is not None and m.item.id == item.id:
                continue
            others.append({**who_decided(m.item), "method": m.method, "score": m.score,
                           "first_seen_at": _iso(seen_date(m.item))})  # fmt: skip
        seen = [seen_date(i) for i in ([item] if item else []) + related]
        earliest = min(seen, key=lambda d: d.timestamp()) if seen else None
        warnings = sorted({w for o in ([own] if own else []) + others for w in o["warnings"]})
        return {
            "sha256": sha256.lower(),
            "known": item is not None or bool(matches),
            "identical": item is not None,
            "item": own,
            "matches": others,
            "warnings": warnings,
            "earliest_first_seen": _iso(earliest),
            "bank_hits": [h.to_json() for h in getattr(outcome, "bank_hits", None) or []] if outcome is not None else [],
        }

    @app.get("/v1/check", tags=["publish check"], summary="Before publishing: is this file known, decided, flagged?")
    def check_sha(_who: Reader, sha256: Annotated[str, Query(pattern=SHA256, description="SHA-256 of the file, hex.")]) -> dict[str, Any]:
        item = svc.store.item_by_sha(sha256.lower())
        outcome = outcomes.get(item.id) if item is not None else None
        return _check_answer(sha256, item, outcome)

    @app.post("/v1/check", tags=["publish check"], openapi_extra=MULTIPART, responses=problems.responses(413, 415),
              summary="Before publishing: the same answer for an uploaded file (matched, not stored)")  # fmt: skip
    def check_file(_who: Reader, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        with staged(file) as path:
            report = svc.match_path(path)
        item = svc.store.item_by_sha(report.sha256)
        return _check_answer(report.sha256, item, report.outcome)

    # -- exports ----------------------------------------------------------------------------

    @app.get("/v1/items/{item_id}/report", tags=["exports"], summary="The verification report (JSON, Markdown or HTML)",
             responses={200: {"content": {"application/json": {}, "text/markdown": {}, "text/html": {}}}})  # fmt: skip
    def report(who: Reader, item_id: ItemId, format: Literal["json", "markdown", "html"] = "json") -> Response:
        from verify.forensics.cache import load as load_forensics
        from verify.report import build_report, to_html, to_json, to_markdown

        view = _view(item_id)
        rep = build_report(view, exported_by=who.name, forensics=load_forensics(svc.settings.data_dir, view.item.sha256))
        svc.record_export(item_id, f"report ({format}) via the API", actor=who.name)
        name = f"verify-item-{item_id}"
        if format == "markdown":
            return Response(to_markdown(rep), media_type="text/markdown; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.md"'})  # fmt: skip
        if format == "html":
            return HTMLResponse(to_html(rep, None), headers={"Content-Disposition": f'attachment; filename="{name}.html"'})
        return Response(to_json(rep), media_type="application/json", headers={"Content-Disposition": f'attachment; filename="{name}.json"'})

    @app.post("/v1/bundles", tags=["exports"], openapi_extra=JSON_BODY, responses={
        200: {"content": {"application/zip": {}}, "description": "The evidence bundle (ZIP)"}, **problems.responses(415)},
        summary="An evidence bundle (ZIP) of some items")  # fmt: skip
    def bundle(who: Reader, body: BundleIn) -> Response:
        from verify.bundle import build_bundle

        folder = Path(tempfile.mkdtemp(prefix="api-bundle-", dir=svc.settings.data_dir))
        out = folder / "bundle.zip"

        def cleanup() -> None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)

        try:
            result = build_bundle(svc, body.item_ids, out, actor=who.name, with_matches=body.with_matches)
        except BaseException:
            cleanup()
            raise
        return FileResponse(out, media_type="application/zip", filename=f"verify-bundle-{result.chain_head[:12]}.zip",
                            background=BackgroundTask(cleanup), headers={"X-Verify-Chain-Head": result.chain_head})  # fmt: skip

    _wire_guard(app)
    return app


class OutcomeCache:
    """A stored item's matches, remembered until the archive changes.

    Matching a stored item costs hundreds of milliseconds (keypoint confirmation of the
    shortlist); a CMS checking the same picture before each of several stories, or a bot polling
    an item, would pay it every time. The answer depends only on the archive, so it is kept under
    a key that moves whenever the archive can have changed: the chain head (every ingest, claim
    correction and verdict appends an event) and the newest fingerprint id (``verify index``
    adding keypoint words writes no event). Status, warnings and verdicts are never cached: they
    are read fresh for every answer.
    """

    def __init__(self, services: Any, size: int = 256) -> None:
        import threading
        from collections import OrderedDict

        self.services = services
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, str, int], Any] = OrderedDict()

    def _mark(self) -> tuple[str, int]:
        from sqlalchemy import func, select

        from verify.store import schema

        with self.services.store.read() as conn:
            head = conn.execute(select(schema.chain_head.c.last_hash).where(schema.chain_head.c.id == 1)).scalar_one()
            newest = conn.execute(select(func.max(schema.fingerprint.c.id))).scalar() or 0
        return head, int(newest)

    def get(self, item_id: int) -> Any:
        key = (item_id, *self._mark())
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        outcome = self.services.match_item(item_id)
        with self._lock:
            self._items[key] = outcome
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return outcome


def _wire_guard(app: FastAPI) -> None:
    """Give the body guard the routes, once the middleware stack is built (on first request)."""
    original = app.build_middleware_stack

    def build() -> Any:
        stack = original()
        node = stack
        while node is not None:
            if isinstance(node, problems.BodyGuard):
                node.routes = list(app.router.routes)
                break
            node = getattr(node, "app", None)
        return stack

    app.build_middleware_stack = build  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """What ``verify api`` serves (uvicorn ``factory=True``): settings from the environment."""
    from verify.config import load_settings

    return create_app(load_settings())


__all__ = ["app_from_environment", "clean_filename", "clean_text", "create_app"]
