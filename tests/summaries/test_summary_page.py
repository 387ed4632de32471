"""summary_page: every page read is bound to the summary's server, its request and the message it was posted on."""

from __future__ import annotations

import pytest

from summaries.services.discord_results import summary_page
from summarybot.errors import NotFound, PermissionDenied
from tests.factories import GuildFactory, SummaryFactory, SummaryJobFactory

pytestmark = pytest.mark.django_db

REQUESTER = 7001
OTHER_MEMBER = 7002
POSTED_ON = 880001


def posted_summary(*, visibility: str = "public"):  # type: ignore[no-untyped-def]
    job = SummaryJobFactory(
        requested_by_user_id=REQUESTER, visibility=visibility, status="done", discord_message_id=POSTED_ON
    )
    return SummaryFactory(guild=job.guild, channel_id=job.channel_id, job=job)


def test_a_page_is_shown_on_the_message_it_was_posted_on_in_its_server():
    summary = posted_summary()
    page = summary_page(summary_id=summary.pk, page=0, user_id=OTHER_MEMBER, guild_id=summary.guild_id, message_id=POSTED_ON)
    assert page.summary_id == summary.pk and page.embeds


def test_a_page_read_from_another_server_looks_unknown():
    summary = posted_summary()
    with pytest.raises(NotFound):
        summary_page(summary_id=summary.pk, page=0, user_id=REQUESTER, guild_id=GuildFactory().id, message_id=POSTED_ON)


def test_a_page_read_outside_any_server_is_only_for_the_member_it_was_sent_to():
    # guild_id None (a click in a DM) used to skip the server check altogether.
    summary = posted_summary(visibility="private")
    with pytest.raises(NotFound):
        summary_page(summary_id=summary.pk, page=0, user_id=OTHER_MEMBER, guild_id=None, message_id=POSTED_ON)
    page = summary_page(summary_id=summary.pk, page=0, user_id=REQUESTER, guild_id=None, message_id=POSTED_ON)
    assert page.summary_id == summary.pk


def test_a_summary_without_a_request_is_not_public():
    summary = SummaryFactory()
    with pytest.raises(PermissionDenied, match="request is no longer stored"):
        summary_page(summary_id=summary.pk, page=0, user_id=REQUESTER, guild_id=summary.guild_id, message_id=POSTED_ON)


@pytest.mark.parametrize("message_id", [POSTED_ON + 1, None])
def test_a_page_read_from_another_message_is_refused(message_id):
    summary = posted_summary()
    with pytest.raises(PermissionDenied, match="don't belong to this message"):
        summary_page(summary_id=summary.pk, page=0, user_id=REQUESTER, guild_id=summary.guild_id, message_id=message_id)


def test_a_private_summary_pages_for_its_requester_only():
    summary = posted_summary(visibility="private")
    with pytest.raises(PermissionDenied, match="Only the member who asked"):
        summary_page(summary_id=summary.pk, page=0, user_id=OTHER_MEMBER, guild_id=summary.guild_id, message_id=POSTED_ON)
