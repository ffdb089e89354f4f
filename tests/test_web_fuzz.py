"""purport serve against generated requests (Hypothesis): every route of the app with odd
ids and path parts, query strings, headers, and multipart bodies. The property: never a
5xx, every error in the app's error shape, every answer with its security headers.

Bounded and reproducible (``derandomize=True``, a fixed number of examples): about a
minute on two cores.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from purport import demo
from purport.archive import Archive
from purport.web import Settings, create_app


def _wav() -> bytes:
    """A second of real audio, so some uploads go all the way (added, matched, queued)."""
    import io

    import numpy as np
    import soundfile as sf

    y = 0.1 * np.random.default_rng(3).standard_normal(16_000)
    out = io.BytesIO()
    sf.write(out, y, 16_000, format="WAV")
    return out.getvalue()


WAV = _wav()
FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SECURITY = ("content-security-policy", "x-content-type-options", "x-frame-options",
            "referrer-policy")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    db = str(folder / "purport.db")
    with Archive.init(db) as archive:
        demo.build(archive)
        _, write = archive.create_token("fuzz", scope="write")
        _, read = archive.create_token("fuzz-read", scope="read")
    app = create_app(Settings(db=db, max_upload_bytes=2 * 1024**2, max_duration=60))
    with TestClient(app, raise_server_exceptions=True) as client:
        yield {"client": client, "app": app, "write": write, "read": read}


def _routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every route, the schema's and the pages' alike."""
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            out += [(m, route.path) for m in sorted(route.methods)]
    return out


def _check(r, wants_json: bool) -> None:
    event(f"{r.request.method} {r.status_code}")
    assert r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text[:300])
    for name in SECURITY:
        assert name in r.headers, (name, r.request.url)
    if r.status_code >= 400:
        if wants_json or r.headers.get("content-type", "").startswith("application/json"):
            body = r.json()
            assert set(body) == {"error"}, body
            assert body["error"]["status"] == r.status_code
            assert isinstance(body["error"]["message"], str) and body["error"]["message"]
        else:
            assert r.headers["content-type"].startswith("text/html")
            assert 'id="error"' in r.text or "Log in" in r.text


def _auth(site, who: str) -> dict[str, str]:
    if who == "none":
        return {}
    return {"Authorization": f"Bearer {site[who]}"}


# -- strategies ---------------------------------------------------------------------------

ids = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["0", "1", "2", "5", "9223372036854775807", "9223372036854775808",
                     "99999999999999999999999", "9" * 400, "1e9", "0x10", "Abu Fulan",
                     "abcdef", "ABCDEF0123", "²", "١", "..", ".", "%00", "null"]),
    st.text(min_size=1, max_size=80),
)
suffixes = st.sampled_from(["", "", ".json", ".JSON", ".json.json", "/"])
query_values = st.one_of(st.text(max_size=60), st.integers().map(str),
                         st.sampled_from(["", "nan", "inf", "-1", "true", "%", "\x00"]))
queries = st.dictionaries(st.sampled_from(["q", "next", "id", "ref", "limit", "x", "format",
                                           "max_false_match", ""]) | st.text(max_size=10),
                          query_values, max_size=4)
header_bytes = st.binary(max_size=120).map(
    lambda b: bytes(c for c in b if c not in b"\r\n\x00").strip())
odd_headers = st.dictionaries(
    st.sampled_from(["Accept", "Origin", "Referer", "Cookie", "Content-Type", "Range",
                     "If-None-Match", "If-Modified-Since", "X-Forwarded-For", "Host",
                     "Accept-Encoding", "Content-Language", "X-Odd"]),
    st.one_of(header_bytes, st.sampled_from([
        b"application/json", b"text/html", b"*/*", b"application/json;q=0, text/html",
        b"bytes=0-10", b"bytes=99999999999999999999-", b"bytes=-0", b"null", b"http://[",
        b"purport_token=nope", b"purport_token=" + b"\xff" * 10, b"multipart/form-data",
        b"multipart/form-data; boundary=", b"\xc3\xa9t\xc3\xa9"])),
    max_size=4)


def _path(template: str, ref: str, suffix: str) -> str:
    part = quote(ref, safe="")
    path = re.sub(r"\{[^}]+\}", lambda m: part, template)
    if "{" not in template:
        return path
    return path + suffix if not template.endswith("/audio") else path


# -- multipart bodies ---------------------------------------------------------------------

#: text a part header can carry: no control characters, no quote
CLEAN = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters='"'),
                max_size=40)
field_names = st.one_of(
    st.sampled_from(["file", "files", "fingerprint", "events", "transcript",
                     "claimed_speaker", "region", "calibration", "role", "speaker",
                     "released", "outlet", "channel", "source_url", "notes", "self_match",
                     "max_false_match", "token", "next"]),
    CLEAN.map(lambda t: t[:30]),
    st.text(max_size=30),  # control characters and quotes too: a broken part header
)  # a huge name: an explicit example below
file_names = st.one_of(
    st.none(), st.just(""), CLEAN, CLEAN, st.text(max_size=40),
    st.sampled_from(["../../etc/passwd", "a\\b\\c.wav", ".", "..", " ", "x" * 600,
                     "voice.ogg\x00.txt", "قرآن.ogg"]),
)
bodies = st.one_of(st.binary(max_size=2048), st.just(b""), st.just(WAV),
                   st.sampled_from([b"RIFF\x24\x00\x00\x00WAVEfmt ", b"OggS" + b"\x00" * 60,
                                    b"ID3\x03\x00\x00\x00", b"\xff\xfb\x90\x00" * 30]))
plausible = st.tuples(st.sampled_from(["file", "files", "fingerprint", "events"]),
                      st.one_of(CLEAN, st.sampled_from(["a.wav", "x.ogg", "..", "x" * 300])),
                      st.one_of(st.just(WAV), bodies))
form_fields = st.tuples(st.sampled_from(["claimed_speaker", "region", "role", "speaker",
                                         "released", "self_match", "max_false_match",
                                         "transcript", "notes", "calibration"]),
                        st.none(), st.one_of(CLEAN.map(str.encode), st.binary(max_size=20)))
parts = st.one_of(st.lists(st.tuples(field_names, file_names, bodies), max_size=6),
                  st.lists(st.one_of(plausible, form_fields), min_size=1, max_size=4))


def _multipart(parts, boundary: bytes = b"fuzzboundary") -> bytes:
    out = []
    for name, filename, body in parts:
        disposition = b'form-data; name="' + name.encode("utf-8", "surrogatepass") + b'"'
        if filename is not None:
            raw = filename.encode("utf-8", "surrogatepass")
            if filename.startswith("x"):
                raw = b"\xff\xfe" + raw  # not UTF-8 at all
            disposition += b'; filename="' + raw + b'"'
        out.append(b"--" + boundary + b"\r\nContent-Disposition: " + disposition
                   + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + body + b"\r\n")
    return b"".join(out) + b"--" + boundary + b"--\r\n"


UPLOAD_ROUTES = ["/api/match", "/api/recordings", "/api/verify", "/verify", "/login"]


@FUZZ
@given(route=st.sampled_from(UPLOAD_ROUTES), parts=parts,
       who=st.sampled_from(["write", "write", "read", "none"]),
       boundary=st.sampled_from([b"fuzzboundary", b"fuzzboundary", b"other", b""]))
@example(route="/api/match", parts=[("file", "x.ogg", b"")] * 3, who="write",
         boundary=b"fuzzboundary")
@example(route="/api/recordings", parts=[("files", "a.wav", b"x")] * 1100, who="write",
         boundary=b"fuzzboundary")
@example(route="/api/match", parts=[("q" * 70_000, "a.wav", b"x")], who="write",
         boundary=b"fuzzboundary")
@example(route="/api/recordings", parts=[("f" * 5000, None, b"x"), ("files", "a", b"x")],
         who="write", boundary=b"fuzzboundary")
@example(route="/api/verify", parts=[("file", "x\udcff.ogg", b"OggS")], who="write",
         boundary=b"fuzzboundary")
def test_multipart_uploads(site, route, parts, who, boundary):
    c = site["client"]
    body = _multipart(parts, b"fuzzboundary")
    headers = {**_auth(site, who), "Accept": "application/json",
               "Content-Type": "multipart/form-data; boundary=" + boundary.decode()}
    r = c.post(route, content=body, headers=headers, follow_redirects=False)
    event(f"{route} {r.status_code}")
    _check(r, route.startswith("/api/"))
    uploads = site["app"].state.archive.store / "uploads"
    busy = site["app"].state.runner.busy()
    if not busy:  # nothing left behind by a refused upload
        assert not uploads.exists() or list(uploads.iterdir()) == []


# -- every route -------------------------------------------------------------------

@FUZZ
@given(data=st.data(), ref=ids, suffix=suffixes, query=queries,
       who=st.sampled_from(["write", "read", "none"]), as_json=st.booleans())
def test_every_route_with_odd_ids_and_queries(site, data, ref, suffix, query, who, as_json):
    c = site["client"]
    method, template = data.draw(st.sampled_from(_routes(site["app"])), label="route")
    path = _path(template, ref, suffix)
    headers = {**_auth(site, who)}
    if as_json:
        headers["Accept"] = "application/json"
    if method in ("POST", "DELETE") and template.startswith("/api/") and "{" not in template:
        # an empty body: the uploads have their own test below
        r = c.request(method, path, params=query, headers=headers)
    else:
        r = c.request(method, path + ("?" + urlencode(query) if query else ""),
                      headers=headers, follow_redirects=False)
    _check(r, as_json or path.startswith("/api/") or ".json" in path)


@FUZZ
@given(data=st.data(), headers=odd_headers, who=st.sampled_from(["write", "read", "none"]))
@example(data=None, headers={"Host": b"\xff\xfe", "Origin": b"http://["}, who="write")
@example(data=None, headers={"Range": b"bytes=99999999999999999999-"}, who="read")
def test_odd_headers_on_every_route(site, data, headers, who):
    c = site["client"]
    routes = _routes(site["app"])
    method, template = (data.draw(st.sampled_from(routes), label="route") if data is not None
                        else ("GET", "/recordings/{ref}/audio"))
    path = _path(template, "1", "")
    raw = [(k.encode(), v) for k, v in headers.items()]
    if who != "none":
        if b"Cookie" in dict(raw) or who == "read":
            raw.append((b"Authorization", f"Bearer {site[who]}".encode()))
        else:  # as a browser: the login cookie, so the form checks run
            raw.append((b"Cookie", f"purport_token={site[who]}".encode()))
    r = c.request(method, path, headers=raw, follow_redirects=False)
    accept = dict(raw).get(b"Accept", b"")
    _check(r, path.startswith("/api/") or (b"application/json" in accept
                                           and b"text/html" not in accept))
