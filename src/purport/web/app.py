"""The web app of ``purport serve``: pages with JSON twins, the REST API, tokens, jobs.

Every page answers in HTML or, with ``.json`` on its URL or ``Accept: application/json``,
the same data as JSON; the JSON twins are the read API and ``/api/...`` the write and
query API, all in the OpenAPI schema at ``/openapi.json``. Every route but the login page
and the schema needs a token (``purport token create``): ``read`` to look, ``write`` to
add recordings and start verifications. The work itself is the Python API's (``assess``
and its archive joins ``assess.reuse``, ``assess.record``, and ``ingest``); this module only
maps HTTP onto it.
"""


import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from purport import __version__, assess, ingest, media
from purport.archive import Archive, Provenance, Recording, Token
from purport.errors import ArchiveError, MediaError, NotFoundError, ParameterError, PurportError
from purport.web import uploads
from purport.web.jobs import JobRunner

log = logging.getLogger("purport.web")

COOKIE = "purport_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_MAX_UPLOAD = 512 * 1024**2
DEFAULT_MAX_DURATION = 3 * 3600.0


@dataclass(frozen=True)
class Settings:
    """What ``purport serve`` is started with."""

    db: str | None = None
    store_dir: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_duration: float = DEFAULT_MAX_DURATION
    workers: int = 1
    secure_cookies: bool = False  # set behind HTTPS, so the browser sends the cookie only there


class WebError(Exception):
    """An HTTP error with one clear message (the JSON body is ``{"error": {...}}``)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _status(exc: PurportError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, (MediaError, ParameterError)):
        return 422
    if isinstance(exc, ArchiveError):
        return 409
    return 400


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


def _matches(rec: Recording, q: str) -> bool:
    q = q.lower()
    fields = [rec.name, rec.speaker or "", rec.notes or "", rec.codec, rec.role]
    for s in rec.sightings:
        fields += [s.outlet or "", s.channel or "", s.source_url or "", s.original_name]
    return rec.sha256.startswith(q) or any(q in f.lower() for f in fields)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app over one archive (which must exist: ``purport init``)."""
    settings = settings or Settings()
    archive = Archive(settings.db, store_dir=settings.store_dir)
    upload_dir = archive.store / "uploads"
    runner = JobRunner(archive, workers=settings.workers)
    env = Environment(loader=PackageLoader("purport.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["hms"] = _hms
    env.filters["q"] = lambda s: quote(str(s), safe="")

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        runner.shutdown()

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
    bearer = HTTPBearer(auto_error=False, description="a token from `purport token create`")

    # -- answers: HTML or JSON, errors alike ------------------------------------------

    def wants_json(request: Request) -> bool:
        path = request.url.path
        if path.endswith(".json") or path.startswith("/api/") or path == "/openapi.json":
            return True
        accept = request.headers.get("accept", "")
        return "application/json" in accept and "text/html" not in accept

    def page(request: Request, template: str, data: dict[str, Any], *, status: int = 200,
             **extra: Any) -> Response:
        if wants_json(request):
            return JSONResponse(data, status_code=status)
        token = getattr(request.state, "token", None)
        body = env.get_template(template).render(data=data, token=token, request=request,
                                                 version=__version__, **extra)
        return HTMLResponse(body, status_code=status)

    upload_prefix = re.compile(re.escape(str(upload_dir)) + r"/[0-9a-f]{32}/")

    def error(request: Request, status: int, message: str) -> Response:
        message = upload_prefix.sub("", message)  # the client's file name, not our path
        if wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse({"error": {"status": status, "message": message}},
                                status_code=status, headers=headers)
        if status == 401 and request.method in SAFE_METHODS:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        body = env.get_template("error.html").render(status=status, message=message,
                                                     token=None, version=__version__)
        return HTMLResponse(body, status_code=status)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError):
        return error(request, exc.status, exc.message)

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
            message = f"no page {request.url.path}"
        return error(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("error while answering %s %s", request.method, request.url.path)
        return error(request, 500, f"internal error: {type(exc).__name__}: {exc}")

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
            if origin and urlsplit(origin).netloc != request.url.netloc:
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

    # -- pages and their JSON twins ------------------------------------------------

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
        data = {
            "archive": {k: v for k, v in archive.info().items() if k not in ("store",)},
            "query": q or None,
            "speakers": [dict(s.to_dict(), url=f"/speakers/{quote(s.name, safe='')}")
                         for s in speakers],
            "recordings": [_public(r) for r in recs],
            "releases": [r.to_dict() for r in archive.releases()] if not q else [],
            "jobs": [dict(j.to_dict(), url=f"/jobs/{j.id}") for j in archive.jobs(limit=10)],
        }
        return page(request, "archive.html", data)

    def _twin(ref: str) -> str:
        return ref[:-5] if ref.endswith(".json") else ref

    @app.get("/recordings/{ref}", summary="One recording with its sightings, releases and "
                                          "assessments (`/recordings/{ref}.json` for JSON)")
    def recording_page(request: Request, ref: str, token: Read):
        rec = archive.recording(_twin(ref))
        data = _public(rec)
        data["assessments"] = [
            {"id": a.id, "claimed_speaker": a.claimed_speaker,
             "created_at": a.to_dict()["created_at"], "url": f"/assessments/{a.id}"}
            for a in archive.assessments(recording=rec.id)]
        return page(request, "recording.html", data)

    @app.get("/recordings/{ref}/audio", summary="The stored audio file (needs a token)",
             response_class=FileResponse)
    def recording_audio(ref: str, token: Read):
        rec = archive.recording(ref)
        path = Path(rec.stored_path)
        if not path.is_file():
            raise WebError(410, f"recording {rec.id}: its file is no longer at the archive's "
                                "store")
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
        key = _twin(ref)
        if not key.isdigit():
            raise WebError(404, f"no assessment {key!r}")
        stored = archive.assessment(int(key))
        if wants_json(request):
            return JSONResponse({"id": stored.id, "recording_id": stored.recording_id,
                                 "claimed_speaker": stored.claimed_speaker,
                                 "created_at": stored.to_dict()["created_at"],
                                 "recording_url": f"/recordings/{stored.recording_id}",
                                 "assessment": stored.data})
        from purport.report.html import render

        nav = env.get_template("nav.html").render(token=token, version=__version__)
        return HTMLResponse(render(stored.data, header=nav))

    @app.get("/jobs/{ref}", summary="A background job: state, progress, result "
                                    "(`.json` for JSON)")
    def job_page(request: Request, ref: str, token: Read):
        key = _twin(ref)
        if not key.isdigit():
            raise WebError(404, f"no job {key!r}")
        job = archive.job(int(key))
        data = job.to_dict()
        data["url"] = f"/jobs/{job.id}"
        return page(request, "job.html", data)

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
        return uploads.save(upload.file, upload_dir, upload.filename)

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
        if bool(transcript) != has_events:
            raise WebError(422, "content dating needs both a transcript and an events CSV")
        if claimed_speaker is not None:
            archive.speaker(claimed_speaker)
        path, sha256, size = _save(file)
        extra: list[Path] = [path]
        try:
            info = _probe(path)
            transcript_path = events_path = None
            if transcript:
                transcript_path = path.parent / "transcript.txt"
                transcript_path.write_text(transcript)
                events_path, _, _ = _save(events)
                extra.append(events_path)
        except BaseException:
            for p in extra:
                uploads.discard(p)
            raise
        params = {"file": info.name, "sha256": sha256, "size_bytes": size,
                  "duration": round(info.duration, 3), "claimed_speaker": claimed_speaker,
                  "region": region, "calibration": calibration,
                  "content_dating": bool(transcript)}

        def work(progress):
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
                uploads.discard(p)

        return runner.submit("verify", params, work, token_id=token.id, cleanup=cleanup)

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
            results = ingest.add_files(
                archive, saved, role=role or None, speaker=speaker or None,
                provenance=provenance, notes=notes or None,
                max_bytes=settings.max_upload_bytes, max_duration=settings.max_duration)
        finally:
            for p in saved:
                uploads.discard(p)
        added = []
        for r in results:
            d = r.to_dict()
            d.pop("path", None)
            d["recording"] = _public(r.recording)
            added.append(d)
        return JSONResponse({"added": added}, status_code=201)

    @app.delete("/api/recordings/{ref}",
                summary="Remove a recording, its sightings, links and stored copy")
    def api_remove(ref: str, token: Write):
        rec = archive.remove_recording(ref)
        return {"removed": _public(rec)}

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
            fp, query = reuse.read_fingerprint(data, name=uploads.safe_name(
                fingerprint.filename, "fingerprint"))
            report = reuse.match_fingerprint(archive, fp, query, self_match=self_match,
                                              max_false_match=max_false_match)
            return report.to_dict()
        path, _, _ = _save(file)
        try:
            _probe(path)
            report = reuse.match_file(archive, path, self_match=self_match,
                                       max_false_match=max_false_match)
        finally:
            uploads.discard(path)
        return report.to_dict()

    return app
