"""A real browser (Debian's chromium, driven by Playwright) watches a job reach "done" on its page while a
real worker process runs it: the web side is Daphne in a process of its own (tests/asgi_live_server.py),
the worker `manage.py qcluster` in another, so progress crosses processes through the Redis channel layer;
and with the websocket blocked, the page gets there by polling."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytest_django.fixtures import Settings

from summaries.models import Summary, SummaryJob
from summaries.services.jobs import integration_summary_request
from summaries.window import SummaryWindow
from tests.asgi_live_server import asgi_live_server
from tests.dashboard.conftest import Server, make_server, point_settings_at
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import qcluster_running, worker_env

if TYPE_CHECKING:
    from playwright.sync_api import Page

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements/dev.txt)"
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium); no downloaded builds",
    ),
]
expect = playwright_sync.expect
# Worker start-up (a fresh Django, django-q2's cluster) plus the job itself.
REACH_DONE_MS = 90_000
STATUS = re.compile(r'data-status="(\w+)"')


def redis_url_or_skip() -> str:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        pytest.skip("needs Redis (REDIS_URL) to carry progress from the worker process to the web process")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"REDIS_URL {url} is not answering")
    return url


def queued_job(fake: FakeDiscord, settings: Settings) -> tuple[Server, SummaryJob]:
    """A server with a chatty #general (in the fake Discord and mirrored), and an API job of it, queued and
    committed (the test is transactional), so the worker finds it on the ORM broker."""
    point_settings_at(settings, fake)
    server = make_server(fake, "Alpha")
    fake.add_messages(server.general.id, 40, authors=[server.member], content="shall we ship on friday? {i}")
    fake.oauth_login_as(server.manager)
    job, _ = integration_summary_request(
        guild_id=server.guild.id,
        source="api",
        channel_id=server.general.id,
        window=SummaryWindow.count(40),
        format=None,
        language=None,
    )
    return server, job


def open_job_page(page: Page, base: str, server: Server, job: SummaryJob) -> None:
    """Log in through the fake Discord, pick the server, and from its overview open the job."""
    page.goto(f"{base}/")
    page.get_by_role("button", name="Log in with Discord").click()
    page.wait_for_url(f"{base}/")
    page.get_by_role("link", name="Configure").click()
    page.wait_for_url(f"{base}/servers/{server.guild.id}/")
    page.locator(f'a[href="/servers/{server.guild.id}/jobs/{job.id}/"]').click()
    page.wait_for_url(f"{base}/servers/{server.guild.id}/jobs/{job.id}/")


def test_a_queued_job_reaches_done_live_while_a_worker_process_runs_it(
    discord_settings: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    redis_url = redis_url_or_skip()
    # The web process's layer as settings build it from REDIS_URL: the Redis the worker publishes to.
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert settings.DASHBOARD_LIVE_PROGRESS  # its default with REDIS_URL
    fake = discord_settings
    server, job = queued_job(fake, settings)
    shots = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)
    pushed: list[str] = []
    polled: list[str] = []

    with FakeOpenAI() as llm, asgi_live_server() as base:
        # Long enough that the worker publishes a step while it waits on the model (every 1.5 s).
        llm.latency = 4.0
        env = worker_env(fake, llm, REDIS_URL=redis_url)
        # Playwright's sync API keeps an event loop in this thread: no ORM until it is closed.
        with playwright_sync.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.on("request", lambda request: polled.append(request.url) if "/progress/" in request.url else None)
                page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: pushed.append(str(frame))))
                open_job_page(page, base, server, job)
                state = page.locator("#job-live .job-state")
                expect(state).to_have_attribute("data-status", "queued")

                with qcluster_running(env, log=tmp_path / "worker.log"):
                    # The page shows the worker's steps as they happen, then the end.
                    expect(state).to_have_attribute(
                        "data-status", re.compile("fetching|summarizing|delivering"), timeout=REACH_DONE_MS
                    )
                    expect(state).to_have_attribute("data-status", "done", timeout=REACH_DONE_MS)
                expect(page.locator("#job-live")).to_contain_text("Summarized 40 messages")
                expect(page.get_by_role("heading", name="The summary")).to_be_visible()
                page.screenshot(path=str(shots / "job.png"), full_page=True)
            finally:
                browser.close()

    worker_log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert Summary.objects.filter(job=job).exists(), worker_log
    statuses = [match.group(1) for frame in pushed if (match := STATUS.search(frame))]
    # Pushed, not polled: an intermediate step came over the socket before the end, and nothing was polled.
    assert statuses and statuses[-1] == "done", (statuses, polled, worker_log)
    assert {"fetching", "summarizing", "delivering"} & set(statuses[:-1]), statuses
    assert polled == []


def test_with_the_websocket_blocked_the_page_polls_its_way_to_done(
    discord_settings: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    settings.DASHBOARD_LIVE_PROGRESS = True  # the page tries the socket first, and falls back
    fake = discord_settings
    server, job = queued_job(fake, settings)
    polled: list[str] = []

    with FakeOpenAI() as llm, asgi_live_server() as base:
        llm.latency = 1.0
        env = worker_env(fake, llm)
        with playwright_sync.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                # A proxy that will not carry websockets: the socket is closed before it reaches the server.
                page.route_web_socket(re.compile(r"/ws/"), lambda socket: socket.close())
                page.on("request", lambda request: polled.append(request.url) if "/progress/" in request.url else None)
                open_job_page(page, base, server, job)
                state = page.locator("#job-live .job-state")
                expect(state).to_have_attribute("data-status", "queued")
                # Polling took over: the block asks for itself every 2 s.
                expect(state).to_have_attribute("hx-trigger", "every 2s")

                with qcluster_running(env, log=tmp_path / "worker.log"):
                    expect(state).to_have_attribute("data-status", "done", timeout=REACH_DONE_MS)
                expect(page.locator("#job-live")).to_contain_text("Summarized 40 messages")
                # The last poll brought a block that asks for nothing more.
                expect(state).not_to_have_attribute("hx-trigger", "every 2s")
                polls_at_the_end = len(polled)
                page.wait_for_timeout(4500)
            finally:
                browser.close()

    assert polls_at_the_end >= 2 and len(polled) == polls_at_the_end, polled
    assert Summary.objects.filter(job=job).exists()
