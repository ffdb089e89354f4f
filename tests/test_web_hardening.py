"""purport serve under hostile or unlucky conditions: ids past any integer, unexpected
exceptions, what a browser may do with each answer (security headers, the pages' and the
report's Content-Security-Policy), server paths kept out of answers, what a crashed server
leaves behind, and the bound on heavy work in flight (503 + Retry-After, probes answering)."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import html5lib
import pytest
from fastapi.testclient import TestClient

from purport import assess, demo
from purport.archive import Archive
from purport.assess import reuse
from purport.errors import MediaError
from purport.report.html import render
from purport.web import Settings, create_app
from purport.web.jobs import UPLOAD, Busy, Gate, JobRunner
from purport.web.uploads import path_scrubber
from tests.conftest import write_wav

QUESTIONED = "questioned_2024-03-10_telegram.ogg"
HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
           "referrer-policy": "same-origin"}
HUGE = ["99999999999999999999999", "9223372036854775808", "0", "-1", "00", "²", "١٢",
        "1e3", "9" * 5000]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A demo archive with one stored assessment, a write and a read token."""
    folder = tmp_path_factory.mktemp("hardening")
    db = str(folder / "purport.db")
    with Archive.init(db) as archive:
        demo.build(archive)
        assess.verify_and_file(demo.data_dir() / QUESTIONED, archive=archive)
        _, write = archive.create_token("desk", scope="write")
        _, read = archive.create_token("reader", scope="read")
    app = create_app(Settings(db=db, max_upload_bytes=4 * 1024**2, max_duration=600))
    with TestClient(app) as client:
        yield {"client": client, "app": app, "db": db, "folder": folder, "secret": write,
               "write": {"Authorization": f"Bearer {write}", "Accept": "application/json"},
               "read": {"Authorization": f"Bearer {read}", "Accept": "application/json"}}


def _error_shape(r, status: int | None = None) -> str:
    assert r.headers["content-type"].startswith("application/json"), r.text[:200]
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}, body
    assert body["error"]["status"] == r.status_code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if status is not None:
        assert r.status_code == status, body
    return body["error"]["message"]


def _secured(r) -> None:
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, (name, r.status_code, r.request.url)
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe" not in csp


# -- 1. every error in the error shape ---------------------------------------------------

ID_ROUTES = [("GET", "/recordings/{}"), ("GET", "/recordings/{}.json"),
             ("GET", "/recordings/{}/audio"), ("GET", "/assessments/{}"),
             ("GET", "/assessments/{}.json"), ("GET", "/jobs/{}"), ("GET", "/jobs/{}.json"),
             ("DELETE", "/api/recordings/{}")]


@pytest.mark.parametrize("method, route", ID_ROUTES)
def test_ids_past_any_integer_are_a_json_404_on_every_route_that_takes_one(site, method,
                                                                           route):
    c = site["client"]
    for ref in HUGE:
        r = c.request(method, route.format(ref), headers=site["write"])
        message = _error_shape(r)
        assert r.status_code in (404, 422), (ref, r.status_code, message)
        assert len(message) < 300
        _secured(r)


def test_a_sha256_prefix_of_digits_only_still_finds_its_recording(site):
    c = site["client"]
    rec = c.get("/recordings/1.json", headers=site["read"]).json()
    digits = re.match(r"\d*", rec["sha256"]).group(0)
    if len(digits) >= 6:  # then the prefix is all digits, as a long id would be
        assert c.get(f"/recordings/{digits}.json", headers=site["read"]).json()["id"] == 1
    assert c.get(f"/recordings/{rec['sha256'][:12]}.json",
                 headers=site["read"]).json()["id"] == 1


def _crashing_app(db: str):
    app = create_app(Settings(db=db))

    def boom():
        raise RuntimeError(f"secret state in {tempfile.gettempdir()}/purport-x/key.txt")

    async def async_boom():
        raise KeyError("an async bug")

    app.add_api_route("/boom", boom)
    app.add_api_route("/async-boom", async_boom)
    return app


def test_an_unexpected_exception_is_a_500_in_the_error_shape_with_its_traceback_in_the_log(
        site, caplog):
    with TestClient(_crashing_app(site["db"])) as c, \
            caplog.at_level(logging.ERROR, logger="purport.web"):
        for path in ("/boom", "/async-boom"):
            r = c.get(path, headers={"Accept": "application/json"})
            message = _error_shape(r, 500)
            assert "secret" not in message and "Error" not in message
            assert "log" in message
            _secured(r)
            page = c.get(path)  # a browser gets the error page, with the same status
            assert page.status_code == 500 and "text/html" in page.headers["content-type"]
            assert "secret" not in page.text and "Traceback" not in page.text
            _secured(page)
    assert "RuntimeError: secret state" in caplog.text and "Traceback" in caplog.text


def test_wrong_methods_and_malformed_bodies_are_json_errors(site):
    c = site["client"]
    r = c.post("/archive.json", headers=site["read"])
    _error_shape(r, 405)
    assert r.headers["allow"] == "GET"
    r = c.post("/api/recordings", headers={**site["write"],
                                           "Content-Type": "multipart/form-data; boundary=x"},
               content=b"--x\r\nContent-Disposition: form-data; name=\"files\"\r\n\r\n")
    assert 400 <= r.status_code < 500
    _error_shape(r)
    r = c.post("/api/match", headers=site["read"], data={"max_false_match": "nan"},
               files={"fingerprint": ("q.fp", b"x")})
    _error_shape(r, 422)


def test_a_form_from_an_unparsable_origin_is_refused_not_a_crash(site):
    c = site["client"]
    for origin in ("http://[", "null", "http://[::1", "\u00e9://x"):
        c.cookies.set("purport_token", site["secret"])
        try:
            r = c.post("/api/recordings", headers={"Origin": origin.encode(),
                                                   "Accept": "application/json"},
                       files={"files": ("a.wav", b"x")})
        finally:
            c.cookies.clear()
        assert _error_shape(r, 403).startswith("a form from another site")


# -- 2. security headers and the Content-Security-Policy ----------------------------------

def _styles_and_policy(r):
    text = r.text
    styles = re.findall(r"<style>(.*?)</style>", text, flags=re.S)
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
              + "'" for s in styles}
    return text, styles, hashes


HTML_PAGES = ["/archive", "/archive?q=zayd", "/recordings/1", "/speakers/Abu%20Fulan",
              "/verify", "/assessments/1", "/jobs/999", "/no/such/page"]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_pages_allow_exactly_their_own_stylesheet_and_nothing_else(site, path):
    h = {"Authorization": site["write"]["Authorization"], "Accept": "text/html"}
    r = site["client"].get(path, headers=h)
    assert r.headers["content-type"].startswith("text/html")
    _secured(r)
    text, styles, hashes = _styles_and_policy(r)
    assert len(styles) == 1
    csp = r.headers["content-security-policy"]
    allowed = set(re.search(r"style-src ([^;]*)", csp).group(1).split())
    assert allowed == hashes  # the one inline stylesheet, by its hash; nothing else
    assert {d.split()[0] for d in csp.split("; ")} == {
        "default-src", "style-src", "media-src", "base-uri", "form-action", "frame-ancestors"}
    assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in text and " style=" not in text
    assert not re.search(r"\son[a-z]+=", text)  # no inline event handlers
    for action in re.findall(r"<form[^>]*action=[\"']([^\"']*)", text):
        assert action.startswith("/") and not action.startswith("//")
    if path == "/assessments/1":  # the report also carries its own policy in a <meta>
        meta = re.search(r"http-equiv='Content-Security-Policy' content=\"([^\"]*)\"", text)
        assert meta and set(re.search(r"style-src ([^;]*)", meta.group(1)).group(1).split()
                            ) == hashes
        assert text.index("Content-Security-Policy") < text.index("<style>")


def test_the_login_page_and_its_error_are_secured(site):
    c = TestClient(site["app"])
    for r in (c.get("/login"), c.post("/login", data={"token": "wrong"}),
              c.get("/archive", follow_redirects=False)):
        _secured(r)
    html5lib.HTMLParser(strict=True).parse(c.get("/login").text)


def test_every_kind_of_answer_carries_the_security_headers(site, tmp_path):
    c, h = site["client"], site["read"]
    answers = [c.get("/healthz"), c.get("/archive.json", headers=h),
               c.get("/openapi.json"), c.get("/recordings/1/audio", headers=h),
               c.get("/archive.json"), c.get("/archive", follow_redirects=False),
               c.get("/no/such/page", headers=h), c.post("/logout", follow_redirects=False),
               c.post("/api/match", headers=h, files={"file": ("big.wav",
                                                          b"\0" * (5 * 1024**2))})]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 401, 303, 404, 303, 413]
    for r in answers:
        _secured(r)
    assert answers[0].headers["content-security-policy"] == (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def test_the_report_file_carries_a_policy_for_its_own_style_only(site):
    with Archive(site["db"]) as archive:
        stored = archive.assessment(1)
    page = render(stored.data)
    meta = re.search(r"<meta http-equiv='Content-Security-Policy' content=\"([^\"]*)\">",
                     page)
    assert meta is not None and page.index(meta.group(0)) < page.index("<style>")
    policy = meta.group(1)
    (style,) = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy == (f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
                      "form-action 'none'")
    assert "<script" not in page and "<img" not in page and " style=" not in page
    html5lib.HTMLParser(strict=True).parse(page)


CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")


@pytest.mark.skipif(not (CHROMIUM.exists() and DRIVER.exists()),
                    reason="needs Debian's chromium and chromium-driver")
def test_a_real_browser_applies_the_stylesheets_and_reports_no_policy_violation(site,
                                                                                tmp_path):
    """Chromium reports every CSP violation on its console; the styles must apply (the nav
    bar's background comes from the hashed stylesheet, nothing else)."""
    import socket

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(site["app"], host="127.0.0.1", port=port,
                                        log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    base = f"http://127.0.0.1:{port}"
    try:
        driver.get(base + "/login")
        driver.find_element(By.ID, "token").send_keys(site["secret"])
        driver.find_element(By.ID, "login").click()  # a form post, then a redirect
        WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)
        for path in ("/archive", "/recordings/1", "/verify", "/assessments/1",
                     "/jobs/999999"):
            driver.get(base + path)
            nav = driver.find_element(By.CSS_SELECTOR, "nav.top")
            assert nav.value_of_css_property("display") == "flex", path
            assert nav.value_of_css_property("background-color") == "rgba(35, 50, 74, 1)"
        driver.get(base + "/archive")
        assert driver.current_url.endswith("/archive")  # the cookie login worked
        driver.find_element(By.CSS_SELECTOR, "nav.top button").click()  # log out: a post
        WebDriverWait(driver, 20).until(lambda d: "/login" in d.current_url)
        logs = driver.get_log("browser")
        violations = [x for x in logs if "Content Security Policy" in x["message"]
                      or "Refused to" in x["message"]]
        assert violations == [], violations
    finally:
        driver.quit()
        srv.should_exit = True
        thread.join(timeout=10)


# -- 3. no server path in any answer ----------------------------------------------------

def test_the_scrubber_leaves_file_names_and_takes_folders():
    scrub = path_scrubber(["/srv/purport-files/uploads", "/tmp", "/", None,
                           "/var/lib/purport"])
    assert scrub("/srv/purport-files/uploads/" + "a" * 32 + "/voice note.ogg: cannot "
                 "decode") == "voice note.ogg: cannot decode"
    assert scrub("'/tmp/pytest-1/x/y.wav' is silent") == "'y.wav' is silent"
    assert scrub("database /var/lib/purport/purport.db is busy") == \
        "database purport.db is busy"
    assert scrub("/tmpfile/a.ogg and /etc/passwd stay") == "/tmpfile/a.ogg and /etc/passwd stay"
    assert scrub("in /tmp itself") == "in tmp itself"
    assert scrub("https://example.org/tmp/a.ogg, /home/me/tmp/b.ogg") == \
        "https://example.org/tmp/a.ogg, /home/me/tmp/b.ogg"
    assert scrub("file:///tmp/x/c.ogg") == "file://c.ogg"


def test_no_answer_shows_a_server_folder(site, tmp_path):
    c, h, app = site["client"], site["write"], site["app"]
    archive = app.state.archive
    folders = {str(Path(site["folder"])), str(Path(site["folder"]).resolve()),
               str(archive.store), str(archive.store / "uploads"),
               tempfile.gettempdir() + "/"}
    wav = write_wav(tmp_path / "good.wav", seconds=2, seed=7)
    answers = []
    with open(wav, "rb") as g:
        answers.append(c.post("/api/recordings", headers=h,
                              files=[("files", ("good.wav", g)),
                                     ("files", ("bad voice.mp3", b"not audio" * 50))]))
    answers.append(c.post("/api/match", headers=h, files={"file": ("x y.ogg", b"\x00" * 999)}))
    answers.append(c.post("/api/verify", headers=h, files={"file": ("q.ogg", b"no" * 99)}))
    upload = archive.store / "uploads" / ("c" * 32) / "voice note.ogg"

    def fails(progress):
        raise MediaError(f"{upload}: cannot decode")

    def crashes(progress):
        raise OSError(f"[Errno 28] No space left on device: '{archive.store}/ab/cd.ogg'")

    jobs = [app.state.runner.submit("verify", {"file": "voice note.ogg"}, fails),
            app.state.runner.submit("verify", {"file": "x"}, crashes)]
    old = archive.add_job("verify", {"file": "old.ogg"})  # stored raw by an older server
    archive.update_job(old.id, state="failed", error=f"{upload}: cannot decode")
    deadline = time.monotonic() + 30
    while any(archive.job(j.id).state not in ("failed", "done") for j in jobs):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for j in [*jobs, old]:
        answers += [c.get(f"/jobs/{j.id}.json", headers=h),
                    c.get(f"/jobs/{j.id}", headers={"Authorization": h["Authorization"]})]
    answers += [c.get("/archive.json", headers=h),
                c.get("/archive", headers={"Authorization": h["Authorization"]}),
                c.get("/recordings/1.json", headers=h), c.get("/verify.json", headers=h),
                c.get("/assessments/1.json", headers=h), c.get("/openapi.json"),
                c.get("/assessments/1", headers={"Authorization": h["Authorization"]}),
                c.get("/speakers/Abu%20Fulan.json", headers=h)]
    for r in answers:
        for folder in folders:
            assert folder not in r.text, (r.request.url, folder, r.text[:300])
    assert answers[0].status_code == 422 and "bad voice.mp3" in answers[0].text
    assert answers[1].json()["error"]["message"].startswith("x y.ogg: ")
    assert c.get(f"/jobs/{jobs[0].id}.json", headers=h).json()["error"] == \
        "voice note.ogg: cannot decode"
    assert c.get(f"/jobs/{old.id}.json", headers=h).json()["error"] == \
        "voice note.ogg: cannot decode"
    assert "cd.ogg" in c.get(f"/jobs/{jobs[1].id}.json", headers=h).json()["error"]
    info = c.get("/archive.json", headers=h).json()["archive"]
    assert info["db"] == "purport.db" and info["backend"] == "sqlite"
    assert "store" not in info


# -- 4. what a stopped server leaves ----------------------------------------------------

def _aged(path: Path) -> None:
    then = time.time() - 3600
    os.utime(path, (then, then))


def test_a_new_server_fails_the_jobs_and_removes_the_uploads_a_crashed_one_left(tmp_path):
    db = str(tmp_path / "a.db")
    with Archive.init(db) as archive:
        uploads = archive.store / "uploads"
        left = uploads / ("d" * 32)
        left.mkdir(parents=True)
        (left / "voice.ogg").write_bytes(b"half an upload")
        (left / "transcript.txt").write_text("words")
        legacy = uploads / "stray-file"
        legacy.write_bytes(b"x")
        for p in (left, legacy):
            _aged(p)
        running = archive.add_job("verify", {"file": "voice.ogg", UPLOAD: left.name})
        archive.update_job(running.id, state="running")
        queued = archive.add_job("verify", {"file": "other.ogg"})
    app = create_app(Settings(db=db))
    archive = app.state.archive
    for job in (running, queued):
        after = archive.job(job.id)
        assert after.state == "failed" and after.error.startswith("interrupted: the server "
                                                                   "stopped")
    assert not left.exists() and not legacy.exists()
    assert list(uploads.iterdir()) == []


def test_uploads_a_running_server_holds_are_left_alone(tmp_path):
    db = str(tmp_path / "a.db")
    Archive.init(db).close()
    first = create_app(Settings(db=db))
    path, _, _ = first.state.uploads.save(io.BytesIO(b"an upload in use"), "in use.ogg")
    _aged(path.parent)
    job = first.state.archive.add_job("verify", {"file": "in use.ogg",
                                                 UPLOAD: path.parent.name})
    first.state.archive.update_job(job.id, state="running")
    second = create_app(Settings(db=db))  # another server on the same archive
    assert path.exists() and second.state.archive.job(job.id).state == "running"
    assert second.state.uploads.alive(path.parent.name)
    first.state.uploads.discard(path)
    assert not path.parent.exists() and not second.state.uploads.alive(path.parent.name)


def test_stopping_fails_the_queued_jobs_and_removes_their_uploads(tmp_path):
    with Archive.init(str(tmp_path / "a.db")) as archive:
        runner = JobRunner(archive)
        go, started = threading.Event(), threading.Event()
        removed = []

        def long(progress):
            started.set()
            go.wait(30)
            return {}

        first = runner.submit("test", {}, long)
        second = runner.submit("test", {}, lambda p: {}, cleanup=lambda: removed.append(1))
        assert started.wait(30)
        runner.shutdown()
        assert removed == [1]
        after = archive.job(second.id)
        assert after.state == "failed" and after.error.startswith("interrupted")
        go.set()
        runner.pool.shutdown(wait=True)
        assert archive.job(first.id).state == "done"


# -- 5. the bound on heavy work ---------------------------------------------------------

@pytest.fixture(scope="module")
def fingerprint():
    return reuse.fingerprint_file(demo.data_dir() / QUESTIONED)


def _busy(r) -> None:
    message = _error_shape(r, 503)
    assert "busy" in message
    assert int(r.headers["retry-after"]) >= 1
    _secured(r)


def _gated(site, **limits):
    return TestClient(create_app(Settings(db=site["db"], max_upload_bytes=4 * 1024**2,
                                          **limits)))


def test_heavy_requests_past_the_queue_get_503_while_probes_and_pages_answer(site,
                                                                             fingerprint):
    h = site["write"]
    with _gated(site, max_concurrent=1, max_queue=0) as c:
        gate = c.app.state.gate
        with gate.slot():  # a slow match holds the only slot
            _busy(c.post("/api/match", headers=h, files={"fingerprint": ("q.fp", fingerprint)}))
            _busy(c.post("/api/recordings", headers=h, files={"files": ("a.wav", b"x" * 99)}))
            _busy(c.post("/api/verify", headers=h, files={"file": ("a.wav", b"x" * 99)}))
            r = c.get("/healthz")
            assert r.status_code == 200 and r.json()["heavy"]["running"] == 1
            assert c.get("/archive.json", headers=h).status_code == 200
            assert c.get("/recordings/1.json", headers=h).status_code == 200
        r = c.post("/api/match", headers=h, files={"fingerprint": ("q.fp", fingerprint)})
        assert r.status_code == 200 and len(r.json()["matches"]) == 2
        assert list((c.app.state.archive.store / "uploads").iterdir()) == []


def test_a_request_waits_its_turn_in_the_queue_and_the_next_is_refused(site, fingerprint):
    h = site["read"]
    with _gated(site, max_concurrent=1, max_queue=1) as c:
        gate, answers = c.app.state.gate, []
        with gate.slot():
            waiter = threading.Thread(target=lambda: answers.append(c.post(
                "/api/match", headers=h, files={"fingerprint": ("q.fp", fingerprint)})))
            waiter.start()
            deadline = time.monotonic() + 30
            while gate.waiting < 1:
                assert time.monotonic() < deadline and waiter.is_alive()
                time.sleep(0.01)
            _busy(c.post("/api/match", headers=h, files={"fingerprint": ("q.fp",
                                                                          fingerprint)}))
            assert c.get("/healthz").json()["heavy"] == {"running": 1, "waiting": 1,
                                                         "slots": 1, "queue": 1}
        waiter.join(30)
        assert [r.status_code for r in answers] == [200]


def test_a_request_that_waits_too_long_is_refused(site, fingerprint):
    with _gated(site, max_concurrent=1, max_queue=4, queue_timeout=0.2) as c:
        with c.app.state.gate.slot():
            r = c.post("/api/match", headers=site["read"],
                       files={"fingerprint": ("q.fp", fingerprint)})
        _busy(r)
        assert "waited" in r.json()["error"]["message"]


def test_the_job_queue_is_bounded(site):
    h = site["write"]
    wav = demo.data_dir() / QUESTIONED
    with _gated(site, max_jobs=1) as c:
        runner, go = c.app.state.runner, threading.Event()
        blocker = runner.submit("test", {}, lambda p: go.wait(30) and {})
        try:
            n_jobs = len(c.app.state.archive.jobs(limit=10_000))
            r = c.post("/api/verify", headers=h, files={"file": (QUESTIONED, wav.read_bytes())})
            _busy(r)
            assert len(c.app.state.archive.jobs(limit=10_000)) == n_jobs
            assert list((c.app.state.archive.store / "uploads").iterdir()) == []
        finally:
            go.set()
        deadline = time.monotonic() + 30
        while c.app.state.archive.job(blocker.id).state != "done":
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_parallel_matches_are_answered_or_refused_never_failed(site, fingerprint):
    h = site["read"]
    with _gated(site, max_concurrent=1, max_queue=1) as c:
        answers, lock = [], threading.Lock()

        def one():
            r = c.post("/api/match", headers=h, files={"fingerprint": ("q.fp", fingerprint)})
            with lock:
                answers.append(r)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        probe = c.get("/healthz")
        for t in threads:
            t.join(60)
        assert probe.status_code == 200
        assert len(answers) == 8 and {r.status_code for r in answers} <= {200, 503}
        assert any(r.status_code == 200 for r in answers)
        for r in answers:
            if r.status_code == 503:
                _busy(r)
        assert c.app.state.gate.running == 0 and c.app.state.gate.waiting == 0


def test_the_gate_serves_in_order_and_hands_slots_on():
    gate = Gate(1, 2, wait=10)
    order, ready = [], []

    def worker(i):
        with gate.slot():
            order.append(i)

    with gate.slot():
        for i in range(2):
            t = threading.Thread(target=worker, args=(i,))
            t.start()
            ready.append(t)
            while gate.waiting < i + 1:
                time.sleep(0.005)
        with pytest.raises(Busy) as refused:
            with gate.slot():
                pass
        assert refused.value.retry_after >= 1 and gate.full()
    for t in ready:
        t.join(10)
    assert order == [0, 1] and gate.running == 0 and not gate.full()
    with pytest.raises(ValueError):
        Gate(0, 1)


def test_bad_limits_are_refused():
    from purport.errors import ParameterError

    for bad in ({"max_concurrent": 0}, {"max_queue": -1}, {"queue_timeout": 0},
                {"max_jobs": 0}, {"workers": 0}):
        with pytest.raises(ParameterError):
            Settings(**bad).check()
