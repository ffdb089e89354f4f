"""The web app of ``purport serve``: pages with JSON twins, the REST API, tokens, jobs.

Every page answers in HTML or, with ``.json`` on its URL or ``Accept: application/json``,
the same data as JSON; the JSON twins are the read API and ``/api/...`` the write and
query API, all in the OpenAPI schema at ``/openapi.json``. Every route but the login page
and the schema needs a token (``purport token create``): ``read`` to look, ``write`` to
add recordings and start verifications. The work itself is the Python API's (``assess``
and its archive joins ``assess.reuse``, ``assess.record``, and ``ingest``); this module only
maps HTTP onto it.

Every answer carries security headers (a Content-Security-Policy that lets a page use its own
inline stylesheet and nothing else, no framing, no sniffing, no referrer to other sites);
every error, expected or not, is ``{"error": {"status", "message"}}`` (or the error page for
a browser), with no server path or traceback in it. CPU-heavy requests pass a bounded
:class:`~purport.web.jobs.Gate` (past its queue: 503 with Retry-After); ``GET /healthz``
answers without a token, the database or the gate.
"""


import datetime as dt
import logging
import os
import tempfile
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from purport import __version__, assess, csp, ingest, media
from purport.archive import Archive, Provenance, Recording, Token, audit
from purport.archive.db import sqlite_path
from purport.archive.model import iso
from purport.assess.record import press_catalog
from purport.errors import ArchiveError, MediaError, NotFoundError, ParameterError, PurportError
from purport.report import html as report_html
from purport.web import uploads
from purport.web.jobs import UPLOAD, Busy, Gate, JobRunner

log = logging.getLogger("purport.web")

COOKIE = "purport_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_MAX_UPLOAD = 512 * 1024**2
DEFAULT_MAX_DURATION = 3 * 3600.0
MAX_ID = 2**63 - 1  # the largest id a database integer holds: anything above names nothing

#: the navigation bar's style (pages and the served report both carry it)
NAV_CSS = ("nav.top{font:14px system-ui,sans-serif;background:#23324a;color:#fff;"
           "padding:.5rem 1rem;margin:-2rem -1rem 1.5rem;display:flex;gap:1.2rem;"
           "align-items:center}nav.top a{color:#dde}nav.top a.home{color:#fff;"
           "font-weight:600;text-decoration:none}nav.top .who{margin-left:auto;color:#bbc}"
           "nav.top form{margin:0}")
#: the pages' one stylesheet, inline (the Content-Security-Policy allows it by its hash)
PAGE_CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;"
    "color:#1d1d1d}h1{font-size:1.45rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;"
    "margin-top:1.8rem;font-size:1.15rem}table{border-collapse:collapse;margin:.5rem 0}"
    "td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;font-size:.9rem;"
    "vertical-align:top}.muted{color:#555;font-size:.9rem}.warn{color:#8a4b00}"
    ".error{color:#a00000;font-weight:600}code{font-size:.85rem}label{display:block;"
    "margin:.7rem 0 .2rem;font-weight:600}input[type=text],input[type=password],select,"
    "textarea{width:100%;max-width:36rem;padding:.3rem;font:inherit}button{padding:.35rem .9rem;"
    "font:inherit;cursor:pointer}section{border-left:3px solid #456;padding:.2rem 1rem;"
    "margin:1rem 0}" + NAV_CSS)
#: what every answer may do in a browser when nothing more is needed: nothing
BASE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def _actor(token: Token) -> str:
    """Who the audit log says made a change through the web: the token, by name and id."""
    return f"token {token.name!r} (id {token.id}, {token.scope})"


def page_csp(css: str) -> str:
    """The policy of an HTML page whose one inline stylesheet is ``css``: that stylesheet,
    forms posting to this site, nothing else loaded, run or framed."""
    return (f"default-src 'none'; style-src {csp.style_source(css)}; media-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


SECURITY_HEADERS = (
    (b"content-security-policy", BASE_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: a form's POST must still carry its Origin (a browser
    # sends "Origin: null" under no-referrer), which the login cookie's check reads
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


@dataclass(frozen=True)
class Settings:
    """What ``purport serve`` is started with."""

    db: str | None = None
    store_dir: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_duration: float = DEFAULT_MAX_DURATION
    workers: int = 1
    secure_cookies: bool = False  # set behind HTTPS, so the browser sends the cookie only there
    #: CPU-heavy requests (match, add, the check of a verify upload) at work at once
    #: [default: one per CPU]
    max_concurrent: int | None = None
    #: more heavy requests wait their turn, at most this many, each at most ``queue_timeout``
    #: seconds; past that they get 503 with Retry-After
    max_queue: int = 8
    queue_timeout: float = 60.0
    #: verification jobs queued or running at most; past that ``/api/verify`` answers 503
    max_jobs: int = 32

    def check(self) -> None:
        """Refuse settings that cannot work (ParameterError)."""
        if self.workers < 1:
            raise ParameterError("workers must be at least 1")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise ParameterError("max_concurrent must be at least 1")
        if self.max_queue < 0:
            raise ParameterError("max_queue must be 0 or more")
        if not self.queue_timeout > 0:
            raise ParameterError("queue_timeout must be positive")
        if self.max_jobs < 1:
            raise ParameterError("max_jobs must be at least 1")


class WebError(Exception):
    """An HTTP error with one clear message (the JSON body is ``{"error": {...}}``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def _status(exc: PurportError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, (MediaError, ParameterError)):
        return 422
    if isinstance(exc, ArchiveError):
        return 409
    return 400


def _id(key: str, what: str) -> int:
    """A numeric id from a URL, or 404: an id is 1 to 2**63 - 1 in ASCII digits."""
    if not (key.isascii() and key.isdigit() and 0 < len(key) < 20 and 1 <= int(key) <= MAX_ID):
        raise WebError(404, f"no {what} {_short(key)!r}")
    return int(key)


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


class Guard:
    """ASGI middleware around everything else: security headers on every answer (errors
    and redirects included; a page's own Content-Security-Policy is kept), an unexpected
    exception answered as a 500 in the app's error shape (the traceback only in the log),
    and ``refuse(scope)``, which may answer first (a heavy upload when the server is full,
    before its body is read)."""

    def __init__(self, app, *, crash: Callable[[dict], Response],
                 refuse: Callable[[dict], Response | None]):
        self.app, self.crash, self.refuse = app, crash, refuse

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def secured(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers") or [])
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await (self.refuse(scope) or self.app)(scope, receive, secured)
        except Exception:
            log.exception("error while answering %s %s", scope.get("method"),
                          scope.get("path"))
            if started:  # too late for an error answer: the connection is cut
                raise
            await self.crash(scope)(scope, receive, secured)


def _check_range(request: Request, size: int) -> None:
    """A Range header the file answer would refuse, refused here in the error shape (the
    file answer itself would say so in plain text)."""
    http_range = request.headers.get("range")
    parse = getattr(FileResponse, "_parse_range_header", None)
    if http_range is None or request.headers.get("if-range") is not None or parse is None:
        return
    try:
        parse(http_range, size)
    except MalformedRangeHeader as exc:
        raise WebError(400, f"Range: {exc.content}") from None
    except RangeNotSatisfiable:
        raise WebError(416, f"Range: not within the file's {size} bytes",
                       {"Content-Range": f"bytes */{size}"}) from None


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(float(seconds), 60)
    return f"{int(m)}:{s:04.1f}"


def _public(rec: Recording) -> dict[str, Any]:
    """A recording as the web shows it: no server paths, a link to its audio instead."""
    d = rec.to_dict()
    d.pop("stored_path", None)
    d["url"] = f"/recordings/{rec.id}"
    d["audio_url"] = f"/recordings/{rec.id}/audio"
    return d


def _netloc(url: str) -> str | None:
    """The host and port of a URL, or None for one that is not a URL (never an exception)."""
    try:
        return urlsplit(url).netloc.lower() or None
    except ValueError:
        return None


def _matches(rec: Recording, q: str) -> bool:
    q = q.lower()
    fields = [rec.name, rec.speaker or "", rec.notes or "", rec.codec, rec.role]
    for s in rec.sightings:
        fields += [s.outlet or "", s.channel or "", s.source_url or "", s.original_name]
    return rec.sha256.startswith(q) or any(q in f.lower() for f in fields)


def _db_name(archive: Archive) -> str:
    """The archive's database as a client may see it: an SQLite file's name, a server
    database's name; never a folder, host or user."""
    path = sqlite_path(archive.url)
    if path is not None:
        return path.name
    return urlsplit(archive.info()["db"]).path.strip("/").rsplit("/", 1)[-1]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app over one archive (which must exist: ``purport init``).

    Starting it marks jobs a stopped server left queued or running as failed, and removes
    the uploads it left (:class:`~purport.web.uploads.UploadArea`).
    """
    settings = settings or Settings()
    settings.check()
    archive = Archive(settings.db, store_dir=settings.store_dir)
    upload_dir = archive.store / "uploads"
    area = uploads.UploadArea(upload_dir)
    db_file = sqlite_path(archive.url)
    scrub = uploads.path_scrubber([upload_dir, archive.store, tempfile.gettempdir(),
                                   db_file.parent if db_file is not None else None])
    runner = JobRunner(archive, workers=settings.workers, max_pending=settings.max_jobs,
                       alive=lambda params: area.alive(params.get(UPLOAD)), redact=scrub)
    area.sweep()
    gate = Gate(settings.max_concurrent or os.cpu_count() or 1, settings.max_queue,
                wait=settings.queue_timeout)
    db_name = _db_name(archive)
    env = Environment(loader=PackageLoader("purport.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["hms"] = _hms
    env.filters["q"] = lambda s: quote(str(s), safe="")
    env.globals["page_css"] = Markup(PAGE_CSS)
    csp_page = page_csp(PAGE_CSS)
    csp_report = page_csp(report_html.CSS + NAV_CSS)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        runner.shutdown()
        if not runner.busy():
            area.close()

    app = FastAPI(
        title="purport", version=__version__, lifespan=lifespan,
        description="Verify purported audio statements: reuse, voice, timing, edits and the "
                    "speaker's record. Every page has a JSON twin (append `.json`, or send "
                    "`Accept: application/json`); authenticate with `Authorization: Bearer "
                    "<token>` (tokens from `purport token create`).",
        docs_url=None, redoc_url=None,  # their pages load scripts from the network
    )
    app.add_middleware(uploads.BodyLimit, max_bytes=settings.max_upload_bytes)
    app.state.archive, app.state.runner, app.state.settings = archive, runner, settings
    app.state.gate, app.state.uploads = gate, area
    bearer = HTTPBearer(auto_error=False, description="a token from `purport token create`")

    # -- answers: HTML or JSON, errors alike ------------------------------------------

    def wants_json(request: Request) -> bool:
        path = request.url.path
        if path.endswith(".json") or path.startswith("/api/") or path == "/openapi.json":
            return True
        accept = request.headers.get("accept", "")
        return "application/json" in accept and "text/html" not in accept

    def clean(obj: Any) -> Any:
        """Data for a client: every string without server folders, no ``stored_path``."""
        if isinstance(obj, str):
            return scrub(obj) if ("/" in obj or "\\" in obj) else obj
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if k != "stored_path"}
        if isinstance(obj, (list, tuple)):
            return [clean(v) for v in obj]
        return obj

    def page(request: Request, template: str, data: dict[str, Any], *, status: int = 200,
             **extra: Any) -> Response:
        data = clean(data)
        if wants_json(request):
            return JSONResponse(data, status_code=status)
        token = getattr(request.state, "token", None)
        body = env.get_template(template).render(data=data, token=token, request=request,
                                                 version=__version__, **extra)
        return html_page(body, status=status)

    def html_page(body: str, *, status: int = 200, csp: str = csp_page) -> HTMLResponse:
        return HTMLResponse(body, status_code=status,
                            headers={"Content-Security-Policy": csp})

    def error(request: Request, status: int, message: str,
              headers: dict[str, str] | None = None) -> Response:
        message = scrub(message)  # a client's file name, never a folder of ours
        headers = dict(headers or {})
        if wants_json(request):
            if status == 401:
                headers["WWW-Authenticate"] = "Bearer"
            return JSONResponse({"error": {"status": status, "message": message}},
                                status_code=status, headers=headers)
        if status == 401 and request.method in SAFE_METHODS:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        body = env.get_template("error.html").render(status=status, message=message,
                                                     token=None, version=__version__)
        response = html_page(body, status=status)
        response.headers.update(headers)
        return response

    def crash(scope: dict) -> Response:
        return error(Request(scope), 500, "internal error (the server's log has the details)")

    heavy = {("POST", "/api/match"), ("POST", "/api/recordings")}
    queued = {("POST", "/api/verify"), ("POST", "/verify")}

    def refuse(scope: dict) -> Response | None:
        """Heavy work when the server is already full: refused before its upload is read."""
        key = (scope.get("method"), scope.get("path"))
        busy = None
        if key in heavy and gate.full():
            busy = gate.busy("every slot and queue place taken")
        elif key in queued and (runner.full() or gate.full()):
            busy = Busy("the server is busy: retry later",
                        runner.retry_after() if runner.full() else gate.retry_after())
        if busy is None:
            return None
        response = error(Request(scope), 503, busy.message,
                         {"Retry-After": str(busy.retry_after)})
        response.headers["Connection"] = "close"  # the upload is not read
        return response

    app.add_middleware(Guard, crash=crash, refuse=refuse)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError):
        return error(request, exc.status, exc.message, exc.headers)

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        return error(request, 503, exc.message, {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(PurportError)
    async def _purport_error(request: Request, exc: PurportError):
        return error(request, _status(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query"))
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return error(request, 422, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no page {_short(request.url.path, 200)}"
        return error(request, exc.status_code, message, exc.headers)

    # -- tokens ---------------------------------------------------------------------

    def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None,
                     scope: str) -> Token:
        via = "header"
        if credentials is not None:
            secret = credentials.credentials
        elif request.headers.get("authorization"):
            raise WebError(401, "the Authorization header must be 'Bearer <token>'")
        else:
            secret, via = request.cookies.get(COOKIE, ""), "cookie"
        if not secret:
            raise WebError(401, "this needs a token: `purport token create NAME`, then send "
                                "'Authorization: Bearer <token>' or log in at /login")
        token = archive.token_for_secret(secret.strip())
        if token is None:
            raise WebError(401, "unknown or revoked token")
        request.state.token = token
        if not token.allows(scope):
            raise WebError(403, f"token {token.name!r} is read-only: this needs a write token")
        if via == "cookie" and request.method not in SAFE_METHODS:
            origin = request.headers.get("origin") or request.headers.get("referer")
            if origin and _netloc(origin) != _netloc(str(request.url)):
                raise WebError(403, "a form from another site cannot act with your login")
        return token

    def need(scope: str):
        def dependency(request: Request, credentials: Annotated[
                HTTPAuthorizationCredentials | None, Depends(bearer)] = None) -> Token:
            return authenticate(request, credentials, scope)
        return dependency

    Read = Annotated[Token, Depends(need("read"))]
    Write = Annotated[Token, Depends(need("write"))]

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/archive"):
        return page(request, "login.html", {"next": next})

    @app.post("/login", include_in_schema=False)
    def login(request: Request, token: Annotated[str, Form()],
              next: Annotated[str, Form()] = "/archive"):
        found = archive.token_for_secret(token.strip())
        if found is None and wants_json(request):
            raise WebError(401, "unknown or revoked token")
        if found is None:
            return page(request, "login.html", {"next": next},
                        status=401, message="unknown or revoked token")
        if not next.startswith("/") or next.startswith("//"):
            next = "/archive"
        response = RedirectResponse(next, status_code=303)
        response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                            secure=settings.secure_cookies, max_age=14 * 24 * 3600)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout():
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # -- the probe -------------------------------------------------------------------

    @app.get("/healthz", summary="Liveness: no token, no database, no queue; the load of the "
                                 "heavy-work gate and the job queue")
    async def healthz():
        return {"status": "ok", "heavy": {"running": gate.running, "waiting": gate.waiting,
                                          "slots": gate.slots, "queue": gate.queue},
                "jobs_pending": runner.pending}

    # -- pages and their JSON twins ------------------------------------------------

    def _job(job) -> dict[str, Any]:
        """A job as a client sees it (its error without server folders: ``page`` cleans)."""
        d = job.to_dict()
        d["params"] = {k: v for k, v in d["params"].items() if k != UPLOAD}
        d["url"] = f"/jobs/{job.id}"
        return d

    def _recording(ref: str) -> Recording:
        """A recording by id or sha256 prefix; digits past any id can only be a prefix."""
        text = ref.strip().lower()
        if text.isdigit() and not text.isascii():
            raise WebError(404, f"no recording {_short(text)!r} in the archive")
        if text.isdigit() and (len(text) > 19 or int(text) > MAX_ID):
            found = ([r for r in archive.recordings() if r.sha256.startswith(text)]
                     if len(text) <= 64 else [])
            if len(found) == 1:
                return found[0]
            raise WebError(404 if not found else 409,
                           f"no recording {_short(text)!r} in the archive" if not found else
                           f"sha256 prefix {text} matches {len(found)} recordings: give "
                           "more digits")
        return archive.recording(ref)

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/archive", status_code=303)

    @app.get("/archive", summary="The archive: speakers, recordings, releases, jobs")
    @app.get("/archive.json", include_in_schema=False)
    def archive_page(request: Request, token: Read, q: str | None = None):
        q = (q or "").strip()
        recs = archive.recordings()
        speakers = archive.speakers()
        if q:
            recs = [r for r in recs if _matches(r, q)]
            speakers = [s for s in speakers
                        if any(q.lower() in n.lower() for n in (s.name, *s.aliases))]
        info = archive.info()
        data = {
            "archive": {"db": db_name, "backend": info["backend"],
                        "schema_version": info["schema_version"], "counts": info["counts"],
                        "hours_of_audio": info["hours_of_audio"]},
            "query": q or None,
            "speakers": [dict(s.to_dict(), url=f"/speakers/{quote(s.name, safe='')}")
                         for s in speakers],
            "recordings": [_public(r) for r in recs],
            "releases": [r.to_dict() for r in archive.releases()] if not q else [],
            "jobs": [_job(j) for j in archive.jobs(limit=10)],
        }
        return page(request, "archive.html", data)

    @app.get("/audit", summary="The audit log: every change to the archive, who made it, "
                               "when, and its input's SHA-256 (`/audit.json` for JSON)")
    @app.get("/audit.json", include_in_schema=False)
    def audit_page(request: Request, token: Read, subject: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=10000)] = 500):
        subject = (subject or "").strip()[:200] or None
        entries = archive.audit(subject=subject, limit=limit)
        total = archive.audit_count(subject=subject)
        return page(request, "audit.html", {
            "subject": subject, "total": total, "shown": len(entries),
            "entries": [e.to_dict() for e in entries]})

    def _twin(ref: str) -> str:
        return ref[:-5] if ref.endswith(".json") else ref

    @app.get("/recordings/{ref}", summary="One recording with its sightings, releases and "
                                          "assessments (`/recordings/{ref}.json` for JSON)")
    def recording_page(request: Request, ref: str, token: Read,
                       t: Annotated[float | None, Query(ge=0, le=86400)] = None):
        rec = _recording(_twin(ref))
        data = _public(rec)
        data["assessments"] = [
            {"id": a.id, "claimed_speaker": a.claimed_speaker,
             "created_at": a.to_dict()["created_at"], "url": f"/assessments/{a.id}"}
            for a in archive.assessments(recording=rec.id)]
        data["transcripts"] = [
            {"id": t["id"], "source": t["source"], "kind": t["kind"],
             "language": t["language"], "model": t["model"],
             "created_at": iso(t["created_at"]),
             "segments": [{"start": x["start"], "end": x["end"], "text": x["text"]}
                          for x in t["data"]["segments"]]}
            for t in archive.transcripts(rec.id)]
        data["play_from"] = t if t is not None else None
        return page(request, "recording.html", data)

    @app.get("/search", summary="Where the archive's transcripts say a phrase (Arabic "
                                "spelling variants included; `/search.json` for JSON)")
    @app.get("/search.json", include_in_schema=False)
    def search_page(request: Request, token: Read, q: str | None = None,
                    speaker: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 50):
        from purport.assess import speech

        q = (q or "").strip()[:500]
        speaker = (speaker or "").strip()[:200] or None
        data: dict[str, Any] = {"phrase": q or None, "speaker": speaker, "hits": [],
                                "method": speech.SEARCH_METHOD,
                                "limits": speech.SEARCH_LIMITS}
        if q:
            data = speech.search(archive, q, speaker=speaker, limit=limit)
            for h in data["hits"]:
                h["url"] = f"/recordings/{h['recording_id']}?t={h['start']:g}#play"
        return page(request, "search.html", data)

    @app.get("/recordings/{ref}/audio", summary="The stored audio file (needs a token)",
             response_class=FileResponse)
    def recording_audio(request: Request, ref: str, token: Read):
        rec = _recording(ref)
        path = Path(rec.stored_path)
        if not path.is_file():
            raise WebError(410, f"recording {rec.id}: its file is no longer at the archive's "
                                "store")
        _check_range(request, path.stat().st_size)
        return FileResponse(path, filename=rec.name, headers={"Cache-Control": "no-store"})

    @app.get("/speakers/{name}", summary="A speaker's record: releases, reports, recordings "
                                         "and checks (`.json` for JSON)")
    def speaker_page(request: Request, name: str, token: Read):
        from purport.assess import record

        data = record.record(archive, _twin(name))
        for r in data["releases"]:
            for x in r["recordings"]:
                x["url"] = f"/recordings/{x['recording_id']}"
        return page(request, "record.html", data)

    @app.get("/assessments/{ref}", summary="A stored assessment: the HTML report, or the "
                                           "Assessment JSON (`.json`)")
    def assessment_page(request: Request, ref: str, token: Read):
        stored = archive.assessment(_id(_twin(ref), "assessment"))
        data = clean(stored.data)
        if wants_json(request):
            return JSONResponse({"id": stored.id, "recording_id": stored.recording_id,
                                 "claimed_speaker": stored.claimed_speaker,
                                 "created_at": stored.to_dict()["created_at"],
                                 "recording_url": f"/recordings/{stored.recording_id}",
                                 "assessment": data})
        from purport.report.html import render

        nav = env.get_template("nav.html").render(token=token, version=__version__)
        return html_page(render(data, header=nav, css=NAV_CSS, forms=True),
                         csp=csp_report)

    @app.get("/jobs/{ref}", summary="A background job: state, progress, result "
                                    "(`.json` for JSON)")
    def job_page(request: Request, ref: str, token: Read):
        return page(request, "job.html", _job(archive.job(_id(_twin(ref), "job"))))

    @app.get("/verify", summary="The upload form, or (`.json`) what a verification can use: "
                                "speakers, grid regions, calibrations, upload limits")
    @app.get("/verify.json", include_in_schema=False)
    def verify_form(request: Request, token: Read):
        data = {"speakers": [s.name for s in archive.speakers()],
                "regions": sorted({g["region"] for g in archive.grid_logs()}),
                "calibrations": [c["name"] for c in archive.calibrations_data()],
                "max_upload_mib": settings.max_upload_bytes / 1024**2,
                "max_duration_s": settings.max_duration}
        return page(request, "verify.html", data)

    # -- the write and query API ---------------------------------------------------

    def _save(upload: UploadFile) -> tuple[Path, str, int]:
        return area.save(upload.file, upload.filename)

    def _probe(path: Path) -> media.MediaInfo:
        return media.probe(path, max_bytes=settings.max_upload_bytes,
                           max_duration=settings.max_duration)

    def _start_verify(file: UploadFile, claimed_speaker: str | None, transcript: str | None,
                      events: UploadFile | None, region: str | None, calibration: str | None,
                      token: Token):
        claimed_speaker = (claimed_speaker or "").strip() or None
        region = (region or "").strip() or None
        calibration = (calibration or "").strip() or None
        transcript = (transcript or "").strip() or None
        has_events = events is not None and bool(events.filename)
        if has_events and not transcript:
            raise WebError(422, "an events CSV dates a transcript: give the transcript too")
        if transcript and not has_events and not press_catalog(archive):
            raise WebError(422, "content dating needs an events catalog: an events CSV, or "
                                "press reports in the archive that state dated events")
        if claimed_speaker is not None:
            archive.speaker(claimed_speaker)
        if runner.full():
            raise Busy(f"the server is busy ({runner.max_pending} job(s) queued or running): "
                       "retry later", runner.retry_after())
        path, sha256, size = _save(file)
        extra: list[Path] = [path]
        try:
            with gate.slot():
                info = _probe(path)
            transcript_path = events_path = None
            if transcript:
                transcript_path = path.parent / "transcript.txt"
                transcript_path.write_text(transcript)
                if has_events:  # else the archive's press reports are the catalog
                    events_path, _, _ = _save(events)
                    extra.append(events_path)
        except BaseException:
            for p in extra:
                area.discard(p)
            raise
        params = {"file": info.name, "sha256": sha256, "size_bytes": size,
                  "duration": round(info.duration, 3), "claimed_speaker": claimed_speaker,
                  "region": region, "calibration": calibration,
                  "content_dating": bool(transcript), UPLOAD: path.parent.name}

        actor = _actor(token)

        def work(progress):
            with audit.acting_as(actor):
                return _verify(progress)

        def _verify(progress):
            result, stored = assess.verify_and_file(
                path, archive=archive, claimed_speaker=claimed_speaker,
                transcript=transcript_path, events=events_path, region=region,
                calibration=calibration, progress=progress,
                provenance=Provenance(notes=f"uploaded to purport serve by token "
                                            f"{token.name!r}"),
                max_bytes=settings.max_upload_bytes, max_duration=settings.max_duration)
            return {"assessment_id": stored.id, "recording_id": stored.recording_id,
                    "assessment_url": f"/assessments/{stored.id}",
                    "recording_url": f"/recordings/{stored.recording_id}",
                    "summary": result.summary()}

        def cleanup():
            for p in extra:
                area.discard(p)

        try:
            return runner.submit("verify", params, work, token_id=token.id, cleanup=cleanup)
        except BaseException:
            cleanup()
            raise

    @app.post("/api/verify", status_code=202,
              summary="Start a verification of an uploaded recording (a background job)",
              description="Runs every question that applies (as `purport verify`), files the "
                          "upload as a questioned recording of the claimed speaker (or a new "
                          "sighting of one already there) and keeps the Assessment with it. "
                          "Answers 202 with the job; follow `url` until `state` is `done`.")
    @app.post("/verify", include_in_schema=False)  # the upload form's target
    def api_verify(
        request: Request, token: Write,
        file: Annotated[UploadFile, File(description="The questioned recording.")],
        claimed_speaker: Annotated[str | None, Form(
            description="Who it is said to be (name or alias in the archive).")] = None,
        transcript: Annotated[str | None, Form(
            description="Transcript or translation (text), for content dating.")] = None,
        events: Annotated[UploadFile | None, File(
            description="Events catalog CSV (date,title,description,keywords).")] = None,
        region: Annotated[str | None, Form(description="Grid region for ENF dating.")] = None,
        calibration: Annotated[str | None, Form(
            description="Voice calibration name [default: the shipped one].")] = None,
    ):
        job = _start_verify(file, claimed_speaker, transcript, events, region, calibration,
                            token)
        if not wants_json(request):
            return RedirectResponse(f"/jobs/{job.id}", status_code=303)
        return JSONResponse(dict(job.to_dict(), url=f"/jobs/{job.id}.json"), status_code=202,
                            headers={"Location": f"/jobs/{job.id}.json"})

    @app.post("/api/recordings", status_code=201,
              summary="Add recordings to the archive (all of them or none)")
    def api_add(
        token: Write,
        files: Annotated[list[UploadFile], File(description="Media files.")],
        role: Annotated[str | None, Form(description="reference or questioned.")] = None,
        speaker: Annotated[str | None, Form(
            description="The known speaker of a reference, the claimed one of a questioned "
                        "recording.")] = None,
        released: Annotated[dt.date | None, Form(description="Release date.")] = None,
        outlet: Annotated[str | None, Form(description="Media outlet that published it.")
                          ] = None,
        channel: Annotated[str | None, Form(description="telegram, twitter, website...")
                           ] = None,
        source_url: Annotated[str | None, Form(description="Where this copy came from.")
                              ] = None,
        notes: Annotated[str | None, Form(description="Free text.")] = None,
    ):
        saved: list[Path] = []
        try:
            for f in files:
                saved.append(_save(f)[0])
            provenance = Provenance(source_url=source_url or None, outlet=outlet or None,
                                    channel=channel or None, released=released)
            with gate.slot(), audit.acting_as(_actor(token)):
                results = ingest.add_files(
                    archive, saved, role=role or None, speaker=speaker or None,
                    provenance=provenance, notes=notes or None,
                    max_bytes=settings.max_upload_bytes, max_duration=settings.max_duration)
        finally:
            for p in saved:
                area.discard(p)
        added = []
        for r in results:
            d = r.to_dict()
            d.pop("path", None)
            d["recording"] = _public(r.recording)
            added.append(d)
        return JSONResponse(clean({"added": added}), status_code=201)

    @app.delete("/api/recordings/{ref}",
                summary="Remove a recording, its sightings, links and stored copy")
    def api_remove(ref: str, token: Write):
        with audit.acting_as(_actor(token)):
            rec = archive.remove_recording(_recording(ref).id)
        return clean({"removed": _public(rec)})

    @app.post("/api/match", summary="Which seconds of an upload re-use archive recordings",
              description="Send the audio as `file`, or only its fingerprint (written by "
                          "`purport fingerprint FILE -o FP`) as `fingerprint`: the audio then "
                          "never leaves your machine. Answers as `purport match --json`.")
    def api_match(
        token: Read,
        file: Annotated[UploadFile | None, File(description="The questioned recording.")
                        ] = None,
        fingerprint: Annotated[UploadFile | None, File(
            description="A fingerprint from `purport fingerprint`, instead of the audio.")
        ] = None,
        self_match: Annotated[bool, Form(
            description="Spans repeated inside the recording itself.")] = False,
        max_false_match: Annotated[float, Form(gt=0, le=1)] = 0.01,
    ):
        from purport.assess import reuse

        given = [x for x in (file, fingerprint) if x is not None and x.filename]
        if len(given) != 1:
            raise WebError(422, "send either `file` (audio) or `fingerprint`, not both or "
                                "neither")
        if fingerprint is not None and fingerprint.filename:
            data = fingerprint.file.read()
            with gate.slot():
                fp, query = reuse.read_fingerprint(data, name=uploads.safe_name(
                    fingerprint.filename, "fingerprint"))
                report = reuse.match_fingerprint(archive, fp, query, self_match=self_match,
                                                  max_false_match=max_false_match)
            return clean(report.to_dict())
        path, _, _ = _save(file)
        try:
            with gate.slot():
                _probe(path)
                report = reuse.match_file(archive, path, self_match=self_match,
                                           max_false_match=max_false_match)
        finally:
            area.discard(path)
        return clean(report.to_dict())

    return app
