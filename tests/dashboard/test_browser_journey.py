"""The guild admin's whole journey in a real browser (Debian's chromium, driven by Playwright), the one issue 13
names: log in through the fake Discord, pick the server, turn a channel on, create a schedule with the form,
run it now, follow the run's job live to "done" while a real worker process runs it, and find the summary
by searching the archive. Daphne serves the pages in a process of its own, `manage.py qcluster` runs the
work in another, and the Redis channel layer carries the progress between them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pytest_django.fixtures import Settings

from guilds.models import Channel
from summaries.models import Schedule, Summary
from tests.asgi_live_server import asgi_live_server
from tests.dashboard.conftest import make_server, point_settings_at

# The same browser, markers and Redis requirement as the live-progress tests.
from tests.dashboard.test_browser_live import (  # noqa: F401  (pytestmark applies here too)
    CHROMIUM,
    REACH_DONE_MS,
    expect,
    playwright_sync,
    pytestmark,
    redis_url_or_skip,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import qcluster_running, worker_env


def test_log_in_turn_a_channel_on_schedule_it_run_it_watch_it_and_find_it_in_the_archive(
    discord_settings: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    redis_url = redis_url_or_skip()
    fake = discord_settings
    point_settings_at(settings, fake)
    server = make_server(fake, "Alpha")
    fake.add_messages(server.secret.id, 30, authors=[server.member], content="the release moves to friday {i}")
    fake.oauth_login_as(server.manager)
    guild_id, secret = server.guild.id, server.secret.id
    shots = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)
    pushed: list[str] = []

    with FakeOpenAI() as llm, asgi_live_server() as base:
        llm.latency = 3.0  # long enough for the worker to publish a step while it waits on the model
        env = worker_env(fake, llm, REDIS_URL=redis_url)
        # Playwright's sync API keeps an event loop in this thread: no ORM until it is closed.
        with playwright_sync.sync_playwright() as pw, qcluster_running(env, log=tmp_path / "worker.log"):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.on("websocket", lambda socket: socket.on("framereceived", lambda f: pushed.append(str(f))))
                page.goto(f"{base}/")
                page.get_by_role("button", name="Log in with Discord").click()
                page.wait_for_url(f"{base}/")
                page.get_by_role("link", name="Configure").click()
                page.wait_for_url(f"{base}/servers/{guild_id}/")

                # A private channel: off until turned on, after a confirmation.
                page.get_by_role("link", name="Channels").click()
                page.get_by_role("button", name="Turn summaries on in #mods-only").click()
                page.get_by_role("button", name="Turn on summaries").click()
                expect(page.locator(f"#channel-{secret}")).to_have_attribute("data-state", "on")

                # A daily schedule of it, made with the form.
                page.get_by_role("link", name="Schedules").click()
                page.get_by_role("link", name="New schedule").click()
                page.get_by_label("Name", exact=True).fill("release watch")
                page.get_by_label("Channels", exact=True).select_option(str(secret))
                page.get_by_label("How often").select_option("daily")
                page.get_by_label("Time of day").fill("09:00")
                page.get_by_label("Look back (hours)").fill("24")
                page.get_by_role("button", name="Create").click()
                expect(page.get_by_role("status")).to_contain_text("Schedule release watch created.")

                # Run it now; the worker makes the run's job, which the schedules page then lists.
                page.get_by_role("button", name="Run release watch now").click()
                expect(page.get_by_role("status")).to_contain_text("queued to run now")
                job_link = page.locator("a:has(code[data-job-id])").first
                for _ in range(60):
                    if job_link.count():
                        break
                    page.wait_for_timeout(1000)
                    page.reload()
                page.get_by_text(re.compile(r"^Last 1 run")).click()  # the runs fold under the schedule
                job_link.click()
                page.wait_for_url(re.compile(rf"{base}/servers/{guild_id}/jobs/[0-9a-f-]+/"))
                state = page.locator("#job-live .job-state")
                expect(state).to_have_attribute("data-status", "done", timeout=REACH_DONE_MS)
                expect(page.get_by_role("heading", name="The summary")).to_be_visible()

                # The archive finds it by its channel's name (the fake model's points are placeholders, so a
                # word of the conversation would not be in them), and its page cites the messages.
                page.get_by_role("link", name="Summaries").first.click()
                page.get_by_label("Search").fill("mods-only")
                page.get_by_role("button", name="Search").click()
                expect(page.get_by_text(re.compile(r"^1 summary"))).to_be_visible()
                result = page.get_by_role("link", name=re.compile("mods-only"))
                expect(result.first).to_be_visible()
                page.screenshot(path=str(shots / "archive.png"), full_page=True)
                result.first.click()
                expect(
                    page.locator(f'a[href^="https://discord.com/channels/{guild_id}/{secret}/"]').first
                ).to_be_visible()
                page.screenshot(path=str(shots / "summary.png"), full_page=True)
            finally:
                browser.close()

    worker_log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    schedule = Schedule.objects.get(name="release watch")
    assert Channel.objects.get(pk=secret).summaries_allowed
    summary = Summary.objects.get(job__schedule=schedule)
    assert summary.job.status == "done", worker_log
    assert any('data-status="done"' in frame for frame in pushed), "the end reached the page over its websocket"
