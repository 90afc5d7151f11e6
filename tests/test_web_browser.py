"""The web app in a real browser (Debian's chromium, headless, driven by selenium) over a real run: new
evaluations appear without a reload, an idea queued in the form reaches the planner, pause and resume
act on the running process, and a server with a token refuses a change that lacks it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import unavailable
from sqlmodel import Session

from archlab.run.workspace import Workspace
from archlab.web import create_app

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "web"
TOKEN = "browser-test-token-9f2c"


class Server:
    """The app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, ws: Workspace, token: str | None = None) -> None:
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(create_app(ws, token=token), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        unavailable("no chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed: pip install 'archlab[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,2600"):
        options.add_argument(arg)
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    """A real, small discovery run in its own process; stopped at the end."""
    root = tmp_path / "ws"
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(root), "ARCHLAB_EMBEDDER": "hashing"}
    log = (tmp_path / "run.log").open("w")  # a pipe nobody reads could fill and stall the run
    # A shell running the suite in the background starts it with SIGINT ignored; the run needs it back.
    proc = subprocess.Popen([sys.executable, "-m", "archlab", "run", "--task", "mnist1d", "--steps", "30",
                             "--max-evals", "5", "--budget", "10m", "--seed", "11"], env=env,
                            stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    ws = Workspace(root=root)
    try:
        run_id = wait_for(lambda: _first_run(ws), 120, "the run to be recorded", _alive(proc, tmp_path / "run.log"))
        yield ws, run_id
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # the run records itself stopped
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _first_run(ws: Workspace) -> str | None:
    """The run's id once it has written its config (its store is migrated by then: two processes opening a
    new store at once can race on its migration)."""
    configs = list((ws.root / "runs").glob("*/config.yaml"))
    return configs[0].parent.name if configs else None


def _alive(proc: subprocess.Popen, log: Path):
    def check(what: str) -> None:
        if proc.poll() is not None:
            raise AssertionError(f"the run exited ({proc.returncode}) while waiting for {what}: "
                                 f"{log.read_text()[-2000:]}")
    return check


def wait_for(probe, timeout: float, what: str, alive=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None:
            alive(what)
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def cells(browser, table_id: str) -> list[list[str]]:
    """The table's rows as text, read in one script: the page's polling replaces rows under our feet."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(`#${arguments[0]} tr`), "
        "row => Array.from(row.querySelectorAll('td'), td => td.textContent.trim()))", table_id)


def text_of(browser, element_id: str) -> str:
    return browser.execute_script("return document.getElementById(arguments[0]).textContent.trim()", element_id)


def submit(browser, field_id: str | None, value: str | None, button_id: str) -> None:
    from selenium.webdriver.common.by import By

    if field_id:
        browser.find_element(By.ID, field_id).send_keys(value)
    browser.execute_script("window.archlabOldPage = true")
    browser.find_element(By.ID, button_id).click()
    wait_for(lambda: browser.execute_script("return !window.archlabOldPage && document.readyState === 'complete'"),
             20, f"the page after {button_id}")  # the post, its redirect and the page it leads to
    refused = browser.find_elements(By.ID, "message")  # the error page's message
    assert not refused, f"{button_id} refused: {refused[0].text}"


def test_run_page_live_with_steering(browser, live_run):
    ws, run_id = live_run
    with Server(ws) as server:
        browser.get(server.url(f"/runs/{run_id}"))
        browser.execute_script("window.archlabSamePage = true")
        before = len(cells(browser, "evaluations"))
        # A new evaluation row appears by the page's own polling, without a reload.
        wait_for(lambda: len(cells(browser, "evaluations")) > before, 180, "a new evaluation row")
        assert browser.execute_script("return window.archlabSamePage === true")

        submit(browser, "idea", "try a depthwise separable stem", "queue-idea")
        assert "try a depthwise separable stem" in text_of(browser, "ideas")
        submit(browser, None, None, "pause")
        wait_for(lambda: text_of(browser, "state") == "paused", 120, "the run to pause")
        assert ["pause", "web", "applied"] == _history(browser, "pause")[:3]
        submit(browser, None, None, "resume")
        wait_for(lambda: text_of(browser, "state") == "running", 30, "the run to resume")
        # The planner of the next step saw the idea: seen, at a step; its steering row applied.
        wait_for(lambda: "seen" in text_of(browser, "ideas"), 60, "the planner to see the idea")
        assert _history(browser, "idea")[2] == "applied" and _history(browser, "resume")[2] == "applied"
        step = next(r[3] for r in cells(browser, "ideas") if "depthwise" in r[1])
        assert step.isdigit()

        browser.get(server.url(f"/runs/{run_id}"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "run-page.png"))
        _token_server_refuses_changes_without_it(browser, ws, run_id)


def _history(browser, kind: str) -> list[str]:
    """kind, origin, status and step of the newest steering row of that kind."""
    rows = [r for r in cells(browser, "steering") if len(r) == 8 and r[2] == kind]
    assert rows, f"no {kind} in the steering history"
    _, _, kind, _, origin, status, step, _ = rows[-1]
    return [kind, origin, status, step]


def _token_server_refuses_changes_without_it(browser, ws: Workspace, run_id: str) -> None:
    with Server(ws, token=TOKEN) as server:
        browser.get(server.url(f"/runs/{run_id}"))
        assert "needs its token" in text_of(browser, "message")
        browser.get(server.url(f"/runs/{run_id}?token={TOKEN}"))
        assert browser.current_url == server.url(f"/runs/{run_id}")  # the address no longer shows it
        # The browser holds the cookie, but a request without the token in its form is refused.
        status = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"fetch('/runs/{run_id}/steer/veto-direction', {{method: 'POST', body: new URLSearchParams("
            "{text: 'sneaky'})}).then(r => done(r.status));")
        assert status == 403
        submit(browser, "veto-direction", "recurrent mixers", "veto-direction-submit")
        wait_for(lambda: any(r[2] == "veto_direction" for r in cells(browser, "steering")), 10, "the veto's row")
        texts = [a.payload.get("text") for a in _actions(ws, run_id) if a.kind == "veto_direction"]
        assert texts == ["recurrent mixers"]  # and not the one without the token


def _actions(ws: Workspace, run_id: str):
    from archlab.store.steering import history

    with Session(ws.engine) as s:
        return list(history(session=s, run_id=run_id))
