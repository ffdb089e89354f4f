"""purport serve in-process: every endpoint through an ASGI client, with its auth failures,
bad uploads and background jobs, on a real demo archive."""

from __future__ import annotations

import time

import html5lib
import pytest
from fastapi.testclient import TestClient

from purport import demo
from purport.archive import Archive
from purport.assess import Assessment, reuse
from purport.web import Settings, create_app
from purport.web.jobs import JobRunner
from tests.conftest import write_wav

QUESTIONED = "questioned_2024-03-10_telegram.ogg"


def _valid_html(text: str) -> None:
    html5lib.HTMLParser(strict=True).parse(text)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A demo archive with a write and a read token, served in-process."""
    folder = tmp_path_factory.mktemp("web")
    db = str(folder / "purport.db")
    with Archive.init(db) as archive:
        demo.build(archive)
        _, write = archive.create_token("desk", scope="write")
        _, read = archive.create_token("reader", scope="read")
        revoked, secret = archive.create_token("old")
        archive.revoke_token(revoked.id)
    app = create_app(Settings(db=db, max_upload_bytes=4 * 1024**2, max_duration=600))
    with TestClient(app) as client:
        yield {"client": client, "db": db, "folder": folder, "revoked": secret,
               "write": {"Authorization": f"Bearer {write}"},
               "read": {"Authorization": f"Bearer {read}"}, "app": app}


def _wait(client, url, headers, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(url, headers=headers).json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


PAGES = ["/archive", "/recordings/1", "/recordings/1/audio", "/speakers/Abu%20Fulan",
         "/assessments/1", "/jobs/1", "/verify", "/audit"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_its_twin_needs_a_token(site, path):
    c = site["client"]
    r = c.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = c.get(path, headers={"Accept": "application/json"})
    assert r.status_code == 401 and "token" in r.json()["error"]["message"]
    assert r.headers["www-authenticate"] == "Bearer"
    if not path.endswith("audio"):
        assert c.get(path + ".json").status_code == 401


@pytest.mark.parametrize("header", ["Bearer nope", "Basic dXNlcjpwYXNz", "Bearer "])
def test_unknown_or_malformed_tokens_are_refused(site, header):
    r = site["client"].get("/archive.json", headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["error"]["status"] == 401


def test_a_revoked_token_is_refused(site):
    r = site["client"].get("/archive.json",
                           headers={"Authorization": f"Bearer {site['revoked']}"})
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_a_read_token_cannot_write(site, tmp_path):
    c, wav = site["client"], write_wav(tmp_path / "a.wav", seconds=2)
    with open(wav, "rb") as f:
        r = c.post("/api/recordings", headers=site["read"], files={"files": ("a.wav", f)})
    assert r.status_code == 403 and "read-only" in r.json()["error"]["message"]
    with open(wav, "rb") as f:
        assert c.post("/api/verify", headers=site["read"],
                      files={"file": ("a.wav", f)}).status_code == 403
    assert c.delete("/api/recordings/1", headers=site["read"]).status_code == 403
    assert c.get("/archive.json", headers=site["read"]).status_code == 200


def test_pages_have_json_twins_with_the_same_data(site):
    c, h = site["client"], site["read"]
    by_suffix = c.get("/archive.json", headers=h).json()
    by_accept = c.get("/archive", headers={**h, "Accept": "application/json"}).json()
    assert [r["sha256"] for r in by_suffix["recordings"]] == \
        [r["sha256"] for r in by_accept["recordings"]]
    page = c.get("/archive", headers=h)
    assert page.headers["content-type"].startswith("text/html")
    _valid_html(page.text)
    for rec in by_suffix["recordings"]:
        assert rec["name"] in page.text and "stored_path" not in rec
    one = c.get("/recordings/1.json", headers=h).json()
    assert one["id"] == 1 and one["audio_url"] == "/recordings/1/audio"
    html = c.get("/recordings/1", headers=h)
    _valid_html(html.text)
    assert one["sha256"] in html.text
    form = c.get("/verify.json", headers=h).json()
    assert "Abu Fulan al-Mithali" in form["speakers"] and form["regions"] == ["demo-grid"]
    _valid_html(c.get("/verify", headers=h).text)
    record = c.get("/speakers/Abu%20Fulan.json", headers=h).json()
    assert record["speaker"].startswith("Abu Fulan") and record["releases"]
    html = c.get("/speakers/Abu%20Fulan", headers=h)
    _valid_html(html.text)
    assert all(r["date"] in html.text for r in record["releases"])


def test_search_narrows_the_archive(site):
    c, h = site["client"], site["read"]
    data = c.get("/archive.json", params={"q": "zayd"}, headers=h).json()
    names = [r["name"] for r in data["recordings"]]
    assert "zayd_2020-01-10_statement.m4a" in names
    assert "fulan_2019-03-01_address.ogg" not in names
    assert [s["name"] for s in data["speakers"]] == ["Zayd al-Kathib"] or \
        all("zayd" in s["name"].lower() for s in data["speakers"])
    sha = c.get("/recordings/1.json", headers=h).json()["sha256"]
    by_hash = c.get("/archive.json", params={"q": sha[:10]}, headers=h).json()
    assert [r["id"] for r in by_hash["recordings"]] == [1]
    assert c.get("/archive.json", params={"q": "no-such-thing"},
                 headers=h).json()["recordings"] == []


def test_stored_audio_is_served_only_with_a_token(site):
    c = site["client"]
    rec = c.get("/recordings/1.json", headers=site["read"]).json()
    r = c.get("/recordings/1/audio", headers=site["read"])
    assert r.status_code == 200 and len(r.content) == rec["size_bytes"]
    assert r.headers["cache-control"] == "no-store"
    assert c.get("/recordings/1/audio", headers={"Accept": "*/*"},
                 follow_redirects=False).status_code in (303, 401)


def test_unknown_things_are_404_with_a_clear_message(site):
    c, h = site["client"], site["read"]
    r = c.get("/recordings/999.json", headers=h)
    assert r.status_code == 404 and "no recording" in r.json()["error"]["message"]
    assert c.get("/speakers/Nobody.json", headers=h).status_code == 404
    assert c.get("/jobs/999999.json", headers=h).status_code == 404
    assert c.get("/assessments/x.json", headers=h).status_code == 404
    r = c.get("/no/such/page", headers=h)
    assert r.status_code == 404


def test_add_recordings_then_remove_one(site, tmp_path):
    c, h = site["client"], site["write"]
    wavs = [write_wav(tmp_path / f"talk{i}.wav", seconds=2, seed=40 + i) for i in range(2)]
    with open(wavs[0], "rb") as a, open(wavs[1], "rb") as b:
        r = c.post("/api/recordings", headers=h,
                   files=[("files", ("talk0.wav", a)), ("files", ("talk1.wav", b))],
                   data={"role": "reference", "speaker": "Abu Fulan", "outlet": "Example",
                         "released": "2021-02-03", "channel": "telegram"})
    assert r.status_code == 201, r.text
    added = r.json()["added"]
    assert [a["status"] for a in added] == ["added", "added"]
    assert added[0]["recording"]["name"] == "talk0.wav"
    assert added[0]["recording"]["speaker"] == "Abu Fulan al-Mithali"  # by its alias
    with open(wavs[0], "rb") as a:
        again = c.post("/api/recordings", headers=h, files={"files": ("talk0.wav", a)}).json()
    assert again["added"][0]["status"] == "already present"
    rid = added[1]["recording"]["id"]
    assert c.delete(f"/api/recordings/{rid}", headers=h).json()["removed"]["id"] == rid
    assert c.get(f"/recordings/{rid}.json", headers=h).status_code == 404
    assert c.delete(f"/api/recordings/{added[0]['recording']['id']}",
                    headers=h).status_code == 200
    # the audit log names the token that added and removed them, with the files' digests
    log = c.get(f"/audit.json?subject=recording%20{rid}", headers=site["read"]).json()
    assert [e["action"] for e in log["entries"]] == ["recording added", "recording removed"]
    assert {e["actor"] for e in log["entries"]} == {"token 'desk' (id 1, write)"}
    assert log["entries"][0]["input_sha256"] == added[1]["recording"]["sha256"]
    page = c.get("/audit", headers=site["read"])
    assert page.status_code == 200 and "recording removed" in page.text
    _valid_html(page.text)


def test_a_failing_batch_adds_nothing_and_leaves_no_upload(site, tmp_path):
    c, h = site["client"], site["write"]
    before = len(c.get("/archive.json", headers=h).json()["recordings"])
    good = write_wav(tmp_path / "good.wav", seconds=2, seed=90)
    with open(good, "rb") as g:
        r = c.post("/api/recordings", headers=h,
                   files=[("files", ("good.wav", g)),
                          ("files", ("bad.mp3", b"this is not audio at all" * 40))])
    assert r.status_code == 422
    assert "file 2 of 2" in r.json()["error"]["message"] and "nothing was added" in \
        r.json()["error"]["message"]
    assert len(c.get("/archive.json", headers=h).json()["recordings"]) == before
    uploads = site["app"].state.archive.store / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


@pytest.mark.parametrize("files, message", [
    ({"file": ("x.ogg", b"\x00\x01garbage" * 100)}, "x.ogg"),
    ({"file": ("empty.wav", b"")}, "empty"),
    ({}, "either"),
    ({"fingerprint": ("fp.bin", b"not a fingerprint")}, "not a purport fingerprint"),
])
def test_malformed_uploads_get_a_clear_json_error(site, files, message):
    r = site["client"].post("/api/match", headers=site["read"], files=files)
    assert r.status_code == 422 and message in r.json()["error"]["message"]


def test_oversized_uploads_are_refused_with_413_and_the_server_lives_on(site):
    c, h = site["client"], site["write"]
    big = b"\0" * (5 * 1024**2)
    r = c.post("/api/match", headers=h, files={"file": ("big.wav", big)})
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(6):
            yield b"\0" * 1024**2

    r = c.post("/api/recordings", headers={**h, "Content-Type": "multipart/form-data; "
                                           "boundary=x"}, content=chunks())
    assert r.status_code == 413
    assert c.get("/archive.json", headers=h).status_code == 200


def test_too_long_uploads_are_refused(site, tmp_path):
    app = create_app(Settings(db=site["db"], max_duration=1.0))
    wav = write_wav(tmp_path / "long.wav", seconds=3)
    with TestClient(app) as c, open(wav, "rb") as f:
        r = c.post("/api/match", headers=site["read"], files={"file": ("long.wav", f)})
    message = r.json()["error"]["message"]
    assert r.status_code == 422 and message.startswith("long.wav: ") and "limit" in message


def test_match_by_fingerprint_agrees_with_match_by_audio(site):
    c, h = site["client"], site["read"]
    path = demo.data_dir() / QUESTIONED
    with open(path, "rb") as f:
        by_audio = c.post("/api/match", headers=h, files={"file": (QUESTIONED, f)}).json()
    fp = reuse.fingerprint_file(path)
    by_fp = c.post("/api/match", headers=h,
                   files={"fingerprint": ("q.fp", fp)}).json()
    assert len(by_audio["matches"]) == 2, by_audio
    key = [(m["recording_id"], round(m["query_start"], 2), round(m["ref_start"], 2))
           for m in by_audio["matches"]]
    assert key == [(m["recording_id"], round(m["query_start"], 2), round(m["ref_start"], 2))
                   for m in by_fp["matches"]]
    assert by_fp["query"]["fingerprint_only"] is True


def test_verify_runs_in_the_background_and_files_its_assessment(site):
    c, h = site["client"], site["write"]
    d, spec = demo.data_dir(), demo.manifest()
    v = spec["verify"]
    with open(d / v["file"], "rb") as f, open(d / v["events"], "rb") as ev:
        r = c.post("/api/verify", headers=h,
                   files={"file": (v["file"], f), "events": ("events.csv", ev)},
                   data={"claimed_speaker": v["claimed_speaker"],
                         "region": spec["grid"]["region"],
                         "transcript": (d / v["transcript"]).read_text()})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == r.json()["url"]
    job = _wait(c, r.json()["url"], h)
    assert job["state"] == "done", job
    assert job["progress"] == 1.0 and job["params"]["claimed_speaker"] == v["claimed_speaker"]
    stored = c.get(job["result"]["assessment_url"] + ".json", headers=h).json()
    a = stored["assessment"]
    for key in ("recording", "reuse", "voice", "timing", "edits", "record", "methods"):
        assert key in a
    assert a["voice"]["log10_lr"] is not None and a["timing"]["content"]
    assert job["result"]["summary"] == Assessment.from_dict(a).summary()  # one summary
    rec = c.get(f"/recordings/{stored['recording_id']}.json", headers=h).json()
    assert stored["id"] in [x["id"] for x in rec["assessments"]]
    page = c.get(job["result"]["assessment_url"], headers=h)
    _valid_html(page.text)
    assert "<svg" in page.text and "<script" not in page.text and "Log out" in page.text
    html_job = c.get(f"/jobs/{job['id']}", headers=h)
    _valid_html(html_job.text)
    assert job["result"]["assessment_url"] in html_job.text


def test_verify_refuses_bad_requests_before_queuing(site, tmp_path):
    c, h = site["client"], site["write"]
    wav = write_wav(tmp_path / "q.wav", seconds=2)
    n_jobs = len(site["app"].state.archive.jobs())
    with open(wav, "rb") as f:
        r = c.post("/api/verify", headers=h, files={"file": ("q.wav", f)},
                   data={"claimed_speaker": "Nobody Known"})
    assert r.status_code == 404 and "no speaker" in r.json()["error"]["message"]
    with open(wav, "rb") as f:
        r = c.post("/api/verify", headers=h, files={"file": ("q.wav", f)},
                   data={"transcript": "words without events"})
    assert r.status_code == 422 and "events catalog" in r.json()["error"]["message"]
    r = c.post("/api/verify", headers=h, files={"file": ("q.ogg", b"garbage" * 50)})
    assert r.status_code == 422
    assert len(site["app"].state.archive.jobs()) == n_jobs


def test_a_failing_job_is_reported_and_the_runner_goes_on(tmp_path):
    with Archive.init(str(tmp_path / "a.db")) as archive:
        runner = JobRunner(archive)

        def boom(progress):
            progress(0.5, "half way")
            raise RuntimeError("disk on fire")

        failed = runner.submit("test", {}, boom)
        fine = runner.submit("test", {}, lambda progress: {"ok": True})
        runner.pool.shutdown(wait=True)
        assert archive.job(failed.id).state == "failed"
        assert "disk on fire" in archive.job(failed.id).error
        assert archive.job(fine.id).result == {"ok": True}


def test_jobs_left_running_by_a_stopped_server_are_marked_failed(tmp_path):
    with Archive.init(str(tmp_path / "a.db")) as archive:
        job = archive.add_job("verify", {"file": "x.ogg"})
        archive.update_job(job.id, state="running")
        JobRunner(archive).shutdown()
        after = archive.job(job.id)
    assert after.state == "failed" and "submit it again" in after.error


def test_browser_login_sets_a_strict_cookie_and_refuses_foreign_forms(site):
    app = site["app"]
    secret = site["write"]["Authorization"].split()[1]
    with TestClient(app) as c:
        r = c.post("/login", data={"token": "wrong"})
        assert r.status_code == 401 and "unknown" in r.text
        r = c.post("/login", data={"token": secret, "next": "//evil.example/"},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/archive"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/archive").status_code == 200
        r = c.post("/api/verify", files={"file": ("q.ogg", b"x")},
                   headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and "another site" in r.json()["error"]["message"]
        c.post("/logout")
        assert c.get("/archive", follow_redirects=False).status_code == 303


def test_openapi_schema_documents_the_api(site):
    schema = site["client"].get("/openapi.json").json()
    for path in ("/api/recordings", "/api/recordings/{ref}", "/api/match", "/api/verify",
                 "/archive", "/recordings/{ref}", "/recordings/{ref}/audio",
                 "/speakers/{name}", "/jobs/{ref}", "/assessments/{ref}"):
        assert path in schema["paths"], path
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert site["client"].get("/docs").status_code == 404  # its page would load scripts
