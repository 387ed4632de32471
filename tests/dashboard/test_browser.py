"""A real browser (Debian's chromium, driven by Playwright) logs in through the fake Discord and switches
channels on the dashboard, against a live server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from guilds.models import Channel
from tests.dashboard.conftest import make_server, point_settings_at
from tests.factories import SummaryJobFactory
from tests.fakes.discord import FakeDiscord

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements/dev.txt)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium); no downloaded builds"
    ),
]


@pytest.mark.django_db(transaction=True)
def test_log_in_through_discord_and_switch_channels(live_server, discord_settings: FakeDiscord, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = discord_settings
    point_settings_at(settings, fake)
    server = make_server(fake, "Alpha")
    fake.oauth_login_as(server.manager)
    general, secret = server.general.id, server.secret.id
    SummaryJobFactory(guild=server.guild, channel_id=general, status="done", format="structured")
    SummaryJobFactory(guild=server.guild, channel_id=general, status="failed", error_message="The LLM timed out.")
    # DASHBOARD_SCREENSHOTS=docs/screenshots refreshes the README's pictures; otherwise they go to tmp_path.
    shots = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)

    # Playwright's sync API keeps an event loop in this thread: the ORM is used only before and after it.
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/")
            assert page.url.endswith("/login/")
            page.get_by_role("button", name="Log in with Discord").click()
            page.wait_for_url(f"{live_server.url}/")
            playwright_sync.expect(page.get_by_text("Alpha", exact=True)).to_be_visible()
            page.screenshot(path=str(shots / "servers.png"))

            page.get_by_role("link", name="Configure").click()
            page.screenshot(path=str(shots / "overview.png"), full_page=True)
            page.get_by_role("link", name="Channels").click()
            row = page.locator(f"#channel-{general}")
            playwright_sync.expect(row).to_have_attribute("data-state", "on")
            page.get_by_role("button", name="Turn summaries off in #general").click()
            playwright_sync.expect(page.locator(f"#channel-{general}")).to_have_attribute("data-state", "off")
            playwright_sync.expect(page.get_by_role("status")).to_contain_text("#general are now off")

            # A private channel asks first.
            page.get_by_role("button", name="Turn summaries on in #mods-only").click()
            playwright_sync.expect(page.get_by_role("heading", name="Turn on a private channel?")).to_be_visible()
            page.get_by_role("button", name="Turn on summaries").click()
            playwright_sync.expect(page.locator(f"#channel-{secret}")).to_have_attribute("data-state", "on")
            page.screenshot(path=str(shots / "channels.png"))
            page.get_by_role("link", name="Settings").click()
            page.screenshot(path=str(shots / "settings.png"), full_page=True)
        finally:
            browser.close()

    assert not Channel.objects.get(pk=general).enabled
    assert Channel.objects.get(pk=secret).summaries_allowed
