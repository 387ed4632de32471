"""A job's page and its polled progress block, with who may see them (asked of the fake Discord)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from tests.dashboard.conftest import Server, log_in, make_server
from tests.factories import SummaryFactory, SummaryJobFactory
from tests.fakes.discord import FakeDiscord

pytestmark = pytest.mark.django_db


def job_url(guild_id: int, job_id: uuid.UUID, *, part: str = "") -> str:
    return f"/servers/{guild_id}/jobs/{job_id}/{part}"


def test_a_running_job_shows_its_state_progress_and_what_it_summarizes(
    manager_client: Client,
    server: Server,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.DASHBOARD_LIVE_PROGRESS = True
    job = SummaryJobFactory(
        guild=server.guild,
        channel_id=server.general.id,
        status="summarizing",
        progress=45,
        progress_detail="Summarizing part 2 of 4…",
        window_kind="hours",
        hours=24,
        message_limit=None,
    )
    resp = manager_client.get(job_url(server.guild.id, job.id))
    page = resp.content.decode()

    assert resp.status_code == 200
    assert "#general" in page and "the last 24 hours" in page
    assert "Summarizing" in page and "Summarizing part 2 of 4…" in page
    assert '<progress id="job-progress-' in page and 'value="45"' in page
    assert f'<label for="job-progress-{job.id}">Progress</label>' in page
    # Live: the page's script follows the websocket; the block does not poll unless that fails.
    assert f'data-ws-url="/ws/servers/{server.guild.id}/jobs/{job.id}/"' in page
    assert 'hx-trigger="every 2s"' not in page
    # Without JavaScript: the state above, and a way to see the next one.
    assert f'href="{job_url(server.guild.id, job.id)}">Refresh</a>' in page


def test_without_live_progress_the_block_polls_itself(
    manager_client: Client,
    server: Server,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.DASHBOARD_LIVE_PROGRESS = False
    job = SummaryJobFactory(guild=server.guild, channel_id=server.general.id, status="queued")
    page = manager_client.get(job_url(server.guild.id, job.id)).content.decode()
    assert "data-ws-url" not in page
    assert f'hx-get="{job_url(server.guild.id, job.id, part="progress/")}" hx-trigger="every 2s"' in page


def test_the_polled_block_follows_the_job_and_stops_polling_when_it_ends(
    manager_client: Client, server: Server
) -> None:
    job = SummaryJobFactory(
        guild=server.guild,
        channel_id=server.general.id,
        status="fetching",
        progress=10,
        progress_detail="Fetching messages…",
    )
    url = job_url(server.guild.id, job.id, part="progress/")

    running = manager_client.get(url).content.decode()
    assert 'data-status="fetching"' in running
    assert 'hx-trigger="every 2s"' in running and "Fetching messages…" in running
    assert "<html" not in running  # the block alone

    job.status, job.progress, job.progress_detail = "done", 100, "Summarized 3 messages"
    job.save()
    SummaryFactory(
        job=job,
        guild=server.guild,
        channel_id=server.general.id,
        format="structured",
        message_count=3,
        items=[
            {"section": "decisions", "text": "Ship on Friday", "message_ids": [111, 112]},
            {"section": "decisions", "text": "Freeze on Thursday", "message_ids": [113]},
            {"section": "open_questions", "text": "Who writes the notes?", "message_ids": [], "unverified": True},
        ],
    )
    done = manager_client.get(url).content.decode()
    assert 'data-status="done"' in done and 'data-finished="true"' in done
    assert "hx-trigger" not in done  # the last poll: the swapped-in block asks for nothing more
    assert "Done" in done and "Summarized 3 messages" in done
    assert done.count("<h3>Decisions</h3>") == 1 and "<h3>Open questions</h3>" in done
    assert "Ship on Friday" in done and "(unverified)" in done
    assert f"https://discord.com/channels/{server.guild.id}/{server.general.id}/112" in done


def test_a_failed_job_shows_why(manager_client: Client, server: Server) -> None:
    job = SummaryJobFactory(
        guild=server.guild,
        channel_id=server.general.id,
        status="failed",
        error_code="external_service_error",
        error_message="The LLM timed out twice.",
    )
    page = manager_client.get(job_url(server.guild.id, job.id)).content.decode()
    assert 'role="alert">The LLM timed out twice.</p>' in page
    assert "data-ws-url" not in page and "hx-trigger" not in page  # nothing more will happen


def test_the_overview_links_each_job_to_its_page(manager_client: Client, server: Server) -> None:
    job = SummaryJobFactory(guild=server.guild, channel_id=server.general.id, status="queued")
    page = manager_client.get(f"/servers/{server.guild.id}/").content.decode()
    assert f'<a href="{job_url(server.guild.id, job.id)}">' in page


# ------------------------------------------------------------------------------ who may see it
def test_anonymous_is_sent_to_log_in(client: Client, server: Server) -> None:
    job = SummaryJobFactory(guild=server.guild, channel_id=server.general.id)
    for url in (job_url(server.guild.id, job.id), job_url(server.guild.id, job.id, part="progress/")):
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/login/")


def test_a_member_without_manage_server_gets_403(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    job = SummaryJobFactory(guild=server.guild, channel_id=server.general.id)
    log_in(client, oauth_discord, server.member)
    assert client.get(job_url(server.guild.id, job.id)).status_code == 403
    assert client.get(job_url(server.guild.id, job.id, part="progress/")).status_code == 403


def test_a_manager_of_another_server_gets_404(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    other = make_server(oauth_discord, "Beta")
    job = SummaryJobFactory(guild=server.guild, channel_id=server.general.id)
    log_in(client, oauth_discord, other.manager)
    assert client.get(job_url(server.guild.id, job.id)).status_code == 404
    # Their own server's URL with this server's job: the job is not theirs either.
    assert client.get(job_url(other.guild.id, job.id)).status_code == 404
    assert client.get(job_url(other.guild.id, job.id, part="progress/")).status_code == 404


def test_a_members_private_job_and_an_unknown_job_are_404(manager_client: Client, server: Server) -> None:
    private = SummaryJobFactory(guild=server.guild, channel_id=server.general.id, source="slash_command")
    assert manager_client.get(job_url(server.guild.id, private.id)).status_code == 404
    assert manager_client.get(job_url(server.guild.id, uuid.uuid4())).status_code == 404
    assert manager_client.get(f"/servers/{server.guild.id}/jobs/not-a-uuid/").status_code == 404
