"""The job page's websocket, driven through the project's real ASGI application (origin check, session and
auth middleware, router) with the session cookie of a real login through the fake Discord; progress is
published by the worker's own `_publish`, through the configured channel layer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from pytest_django.fixtures import Settings

from summaries.consumers import CLOSE_FINISHED, CLOSE_FORBIDDEN, CLOSE_LOGIN_NEEDED, CLOSE_NOT_FOUND
from summaries.models import SummaryJob
from summaries.services.runner import _publish, job_run
from tests.dashboard.conftest import Server, log_in, make_server
from tests.factories import SummaryFactory, SummaryJobFactory
from tests.fakes.discord import FakeDiscord

pytestmark = pytest.mark.django_db(transaction=True)


def socket(client: Client | None, guild_id: int, job_id: uuid.UUID, *, origin: str = "http://testserver") -> Any:
    from summarybot.asgi import application  # Django is set up by pytest-django first

    headers = [(b"origin", origin.encode())]
    if client is not None and "sessionid" in client.cookies:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, f"/ws/servers/{guild_id}/jobs/{job_id}/", headers=headers)


async def refusal(communicator: Any) -> int:
    connected, code = await communicator.connect()
    assert not connected
    return code


@pytest.fixture
def running_job(server: Server) -> SummaryJob:
    return SummaryJobFactory(
        guild=server.guild,
        channel_id=server.general.id,
        status="fetching",
        progress=12,
        progress_detail="Fetching messages… 200 so far",
    )


async def test_anonymous_is_refused(client: Client, server: Server, running_job: SummaryJob) -> None:
    assert await refusal(socket(client, server.guild.id, running_job.id)) == CLOSE_LOGIN_NEEDED


async def test_a_page_of_another_origin_is_refused(
    manager_client: Client, server: Server, running_job: SummaryJob
) -> None:
    # Cross-site websocket hijacking: the browser sends the victim's cookie along, the Origin gives it away.
    communicator = socket(manager_client, server.guild.id, running_job.id, origin="https://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_manager_of_another_server_is_refused(
    client: Client, oauth_discord: FakeDiscord, server: Server, running_job: SummaryJob
) -> None:
    other = await sync_to_async(make_server)(oauth_discord, "Beta")
    await sync_to_async(log_in)(client, oauth_discord, other.manager)
    assert await refusal(socket(client, server.guild.id, running_job.id)) == CLOSE_NOT_FOUND
    # Their own server in the URL, this server's job: not theirs either.
    assert await refusal(socket(client, other.guild.id, running_job.id)) == CLOSE_NOT_FOUND


async def test_a_member_without_manage_server_is_refused(
    client: Client, oauth_discord: FakeDiscord, server: Server, running_job: SummaryJob
) -> None:
    await sync_to_async(log_in)(client, oauth_discord, server.member)
    assert await refusal(socket(client, server.guild.id, running_job.id)) == CLOSE_FORBIDDEN


async def test_a_job_of_another_server_or_a_private_one_is_refused(
    manager_client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    other = await sync_to_async(make_server)(oauth_discord, "Beta")
    theirs = await sync_to_async(SummaryJobFactory)(guild=other.guild, channel_id=other.general.id)
    private = await sync_to_async(SummaryJobFactory)(
        guild=server.guild, channel_id=server.general.id, source="slash_command"
    )
    assert await refusal(socket(manager_client, server.guild.id, theirs.id)) == CLOSE_NOT_FOUND
    assert await refusal(socket(manager_client, server.guild.id, private.id)) == CLOSE_NOT_FOUND
    assert await refusal(socket(manager_client, server.guild.id, uuid.uuid4())) == CLOSE_NOT_FOUND


async def test_a_manager_gets_the_current_state_then_each_published_step_then_the_end(
    manager_client: Client, server: Server, running_job: SummaryJob
) -> None:
    communicator = socket(manager_client, server.guild.id, running_job.id)
    connected, _ = await communicator.connect()
    assert connected

    first = await communicator.receive_from()
    assert 'data-status="fetching"' in first and "Fetching messages… 200 so far" in first and 'value="12"' in first
    assert "hx-trigger" not in first  # pushed blocks never poll

    await _publish(running_job.pk, status="summarizing", percent=55, detail="Summarizing part 3 of 5…")
    step = await communicator.receive_from()
    assert 'data-status="summarizing"' in step and "Summarizing part 3 of 5…" in step and 'value="55"' in step
    # A step older than what was shown (published before the socket read the stored state) is dropped.
    await _publish(running_job.pk, status="fetching", percent=20, detail="Fetching messages… 400 so far")
    assert await communicator.receive_nothing(timeout=0.3)

    await sync_to_async(_finish)(running_job, server)
    await _publish(running_job.pk, status="done", percent=100, detail="Summarized 2 messages")
    last = await communicator.receive_from()
    assert 'data-status="done"' in last and 'data-finished="true"' in last
    assert "Ship on Friday" in last  # the stored summary, which the published message does not carry
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_FINISHED}


async def test_a_late_subscriber_to_a_finished_job_gets_its_end_and_is_closed(
    manager_client: Client, server: Server, running_job: SummaryJob
) -> None:
    await sync_to_async(_finish)(running_job, server)
    communicator = socket(manager_client, server.guild.id, running_job.id)
    connected, _ = await communicator.connect()
    assert connected
    last = await communicator.receive_from()
    assert 'data-status="done"' in last and "Ship on Friday" in last
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_FINISHED}


async def test_a_failed_job_ends_with_its_reason(
    manager_client: Client, server: Server, running_job: SummaryJob
) -> None:
    communicator = socket(manager_client, server.guild.id, running_job.id)
    assert (await communicator.connect())[0]
    await communicator.receive_from()
    await sync_to_async(SummaryJob.objects.filter(pk=running_job.pk).update)(
        status="failed", error_code="external_service_error", error_message="The LLM timed out twice."
    )
    await _publish(running_job.pk, status="failed", percent=12, detail="external_service_error")
    last = await communicator.receive_from()
    assert 'data-status="failed"' in last and "The LLM timed out twice." in last
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_FINISHED}


def _finish(job: SummaryJob, server: Server) -> None:
    SummaryJob.objects.filter(pk=job.pk).update(status="done", progress=100, progress_detail="Summarized 2 messages")
    SummaryFactory(
        job=job,
        guild=server.guild,
        channel_id=server.general.id,
        message_count=2,
        items=[{"section": "decisions", "text": "Ship on Friday", "message_ids": [111]}],
    )


async def test_a_job_the_worker_gives_up_on_ends_the_page_too(
    manager_client: Client, server: Server, running_job: SummaryJob, settings: Settings
) -> None:
    communicator = socket(manager_client, server.guild.id, running_job.id)
    assert (await communicator.connect())[0]
    await communicator.receive_from()
    # Its workers kept dying: the next claim fails it instead of running it a fourth time.
    await sync_to_async(SummaryJob.objects.filter(pk=running_job.pk).update)(
        attempts=settings.JOB_MAX_ATTEMPTS, heartbeat_at=None
    )
    outcome = await sync_to_async(job_run)(job_id=running_job.pk)
    assert outcome.startswith("skipped")
    last = await communicator.receive_from(timeout=5)
    assert 'data-status="failed"' in last and "giving up" in last
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_FINISHED}
