"""purport serve in a real browser: Debian's Chromium, driven by Selenium through
chromium-driver, against a server on a loopback port. Screenshots go to
``.test-output/`` (or ``$PURPORT_TEST_OUTPUT``)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from purport import demo
from purport.archive import Archive
from purport.report.html import render
from purport.web import Settings, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
OUTPUT = Path(os.environ.get("PURPORT_TEST_OUTPUT",
                             Path(__file__).resolve().parents[1] / ".test-output"))
SECTIONS = ("recording", "reuse", "voice", "timing", "edits", "record", "methods")

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
    reason="real-browser tests need Debian's chromium and chromium-driver "
           "(`apt-get install chromium chromium-driver`; .ci/run installs them)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The web app over a demo archive, served by uvicorn on a loopback port."""
    import uvicorn

    folder = tmp_path_factory.mktemp("browser")
    db = str(folder / "purport.db")
    with Archive.init(db) as archive:
        demo.build(archive)
        _, secret = archive.create_token("browser test", scope="write")
    port = _free_port()
    config = uvicorn.Config(create_app(Settings(db=db)), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
    yield {"url": f"http://127.0.0.1:{port}", "token": secret, "folder": folder, "db": db}
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def test_upload_the_demo_recording_and_read_its_report(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    d, spec = demo.data_dir(), demo.manifest()
    v = spec["verify"]
    browser.get(server["url"] + "/verify")
    assert "/login" in browser.current_url  # no token yet: sent to log in
    browser.find_element(By.ID, "token").send_keys(server["token"])
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.endswith("/verify"))
    browser.find_element(By.ID, "file").send_keys(str(d / v["file"]))
    Select(browser.find_element(By.ID, "claimed_speaker")).select_by_visible_text(
        v["claimed_speaker"])
    Select(browser.find_element(By.ID, "region")).select_by_visible_text(spec["grid"]["region"])
    browser.find_element(By.ID, "transcript").send_keys((d / v["transcript"]).read_text())
    browser.find_element(By.ID, "events").send_keys(str(d / v["events"]))
    browser.find_element(By.ID, "start").click()
    WebDriverWait(browser, 20).until(lambda b: "/jobs/" in b.current_url
                                     or "/assessments/" in b.current_url)
    if "/jobs/" in browser.current_url:
        assert browser.find_element(By.ID, "progress") is not None
        _shot(browser, "web-job.png")
    WebDriverWait(browser, 240, poll_frequency=1).until(
        lambda b: "/assessments/" in b.current_url)
    for section in SECTIONS:
        assert browser.find_element(By.ID, section).is_displayed(), section
    figures = browser.find_elements(By.TAG_NAME, "svg")
    assert len(figures) >= 2
    assert "log10 LR" in browser.page_source
    _shot(browser, "web-report.png")
    browser.find_element(By.LINK_TEXT, "Archive").click()
    assert v["file"] in browser.page_source
    _shot(browser, "web-archive.png")


def test_the_report_file_opens_offline_and_loads_nothing(server, browser, tmp_path):
    """The self-contained report from a file:// URL: every section there, no resource
    fetched from anywhere (the page has nothing to fetch)."""
    from selenium.webdriver.common.by import By

    with Archive(server["db"]) as archive:
        page = render(demo.verify(archive))
    path = tmp_path / "report.html"
    path.write_text(page)
    browser.get(path.as_uri())
    for section in SECTIONS:
        assert browser.find_element(By.ID, section).is_displayed(), section
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched == []
    _shot(browser, "report-offline.png")
