"""/summarize, "Summarize from here" and the page buttons, through the real bot and the fake Discord."""

from __future__ import annotations

import time
from typing import Any

import pytest

from guilds.models import Channel as ChannelRow
from guilds.models import Guild as GuildRow
from guilds.services import channel_config_update, guild_config_update
from summaries.models import JobSource, Summary, SummaryJob, Visibility, WindowKind
from summaries.services.discord_results import render_for_discord
from summaries.tasks import run_summary_job
from summarybot.discord.pager import PageButton, PagerPosition
from tests.botrunner.bot_support import BotWorld, db, eventually, run_task
from tests.factories import SummaryFactory, SummaryJobFactory
from tests.fakes.discord import ChannelType, Overwrite, Permission

# The bot fixtures (bot_world) live in a module of their own; the shared conftest files stay untouched.
pytest_plugins = ["tests.botrunner.conftest_bot"]

pytestmark = pytest.mark.django_db(transaction=True)

EPHEMERAL = 1 << 6
DEFERRED = 5
REPLY = 4
DISCORD_DEADLINE = 3.0


async def jobs_for(payload: dict[str, Any]) -> list[SummaryJob]:
    return await db(lambda: list(SummaryJob.objects.filter(interaction_id=int(payload["id"]))))()


async def job_count() -> int:
    return await db(SummaryJob.objects.count)()


def page_buttons(summary_id: int, page: int, pages: int) -> list[dict[str, Any]]:
    """The ◀ n/m ▶ row as the worker posts it, in Discord's JSON (a posted message's components)."""
    view = PageButton.view_for(PagerPosition(summary_id, page, pages))
    assert view is not None
    return view.to_components()


async def test_summarize_defers_at_once_and_queues_a_job_with_the_interaction(bot_world: BotWorld) -> None:
    w = bot_world
    payload = w.slash("summarize", user=w.member, options={"hours": 6})
    sent = time.monotonic()
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == DEFERRED
    assert callback.json["data"]["flags"] & EPHEMERAL  # private by default
    assert callback.time - sent < DISCORD_DEADLINE

    (job,) = await eventually(lambda: jobs_for(payload))
    assert job.channel_id == w.channel.id
    assert job.guild_id == w.guild.id
    assert job.source == JobSource.SLASH_COMMAND
    assert job.requested_by_user_id == w.member.id
    assert (job.window_kind, job.hours) == (WindowKind.HOURS, 6)
    assert job.visibility == Visibility.PRIVATE
    assert job.application_id == w.fake.application.id
    assert job.interaction_token == payload["token"]  # the worker edits the deferred response with it


async def test_public_summary_defers_visibly_with_the_chosen_format_and_delivery(bot_world: BotWorld) -> None:
    w = bot_world
    payload = w.slash(
        "summarize",
        user=w.member,
        options={"messages": 50, "visibility": "public", "format": "technical", "delivery": "thread", "language": "fr"},
    )
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == DEFERRED
    assert not (callback.json.get("data") or {}).get("flags", 0) & EPHEMERAL
    (job,) = await eventually(lambda: jobs_for(payload))
    assert (job.window_kind, job.message_limit) == (WindowKind.COUNT, 50)
    assert (job.visibility, job.format, job.delivery_mode, job.language) == ("public", "technical", "thread", "fr")


async def test_same_interaction_delivered_twice_makes_one_job(bot_world: BotWorld) -> None:
    w = bot_world
    payload = w.slash("summarize", user=w.member, options={"messages": 20})
    await w.interact(payload)
    await eventually(lambda: jobs_for(payload))
    await w.interact(payload)  # Discord retried the delivery

    # The second delivery finds the interaction acknowledged (the fake answers 40060) and adds nothing.
    await w.fake.wait_for_request_async(
        lambda r: r.path.startswith(f"/interactions/{payload['id']}/") and r.status == 400
    )
    assert len(await jobs_for(payload)) == 1
    assert await job_count() == 1


async def test_requester_who_cannot_read_the_target_is_refused(bot_world: BotWorld) -> None:
    w = bot_world
    secret = w.fake.add_channel(w.guild, "staff")
    w.fake.lock_channel(secret)
    option, resolved = w.channel_option("channel", secret, user=w.member)
    payload = w.slash("summarize", user=w.member, options=[option], resolved=resolved)
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == REPLY
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert "You can't read" in callback.json["data"]["content"]
    assert await job_count() == 0


async def test_bot_without_read_message_history_names_the_missing_permission(bot_world: BotWorld) -> None:
    w = bot_world
    # @everyone may read history; this channel denies it to the bot's role only.
    w.channel.overwrites.append(Overwrite(id=w.fake.bot_role(w.guild).id, deny=Permission.READ_MESSAGE_HISTORY))
    payload = w.slash("summarize", user=w.member)
    await w.interact(payload)

    text = await w.answer_text(payload)
    assert "Read Message History" in text
    assert "View Channel" not in text
    assert await job_count() == 0


async def test_locked_channel_is_off_until_an_admin_allows_it(bot_world: BotWorld) -> None:
    w = bot_world
    bot_access = Overwrite(
        id=w.fake.bot_role(w.guild).id, allow=Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
    )
    private = w.fake.add_channel(w.guild, "private-room", overwrites=[bot_access])
    w.fake.lock_channel(private)  # @everyone cannot see it; the bot's role was let in
    await w.fake.dispatch_async("CHANNEL_CREATE", w.fake.channel_payload(private))
    await eventually(lambda: db(ChannelRow.objects.filter(pk=private.id, is_locked=True).exists)())

    refused = w.slash("summarize", user=w.owner, channel=private)  # the owner can read it; the rule is the server's
    await w.interact(refused)
    assert (await w.callback(refused)).json["type"] == DEFERRED
    assert "private" in await w.answer_text(refused)
    assert await job_count() == 0

    await db(channel_config_update)(guild_id=w.guild.id, channel_id=private.id, changes={"allow_when_locked": True})
    allowed = w.slash("summarize", user=w.owner, channel=private)
    await w.interact(allowed)
    (job,) = await eventually(lambda: jobs_for(allowed))
    assert job.channel_id == private.id


async def test_refusal_after_a_public_defer_is_private(bot_world: BotWorld) -> None:
    w = bot_world
    await db(channel_config_update)(guild_id=w.guild.id, channel_id=w.channel.id, changes={"enabled": False})
    payload = w.slash("summarize", user=w.member, options={"visibility": "public"})
    await w.interact(payload)

    followup = await w.fake.wait_for_request_async(
        lambda r: r.method == "POST" and r.path.startswith("/webhooks/") and payload["token"] in r.path
    )
    assert followup.json["flags"] & EPHEMERAL
    assert "turned off" in followup.json["content"]
    # The visible "thinking…" message is removed rather than edited into a public refusal.
    await w.fake.wait_for_request_async(
        lambda r: r.method == "DELETE" and payload["token"] in r.path and r.path.endswith("/messages/@original")
    )


async def test_second_request_within_the_cooldown_is_refused(bot_world: BotWorld) -> None:
    w = bot_world
    first = w.slash("summarize", user=w.member)
    await w.interact(first)
    await eventually(lambda: jobs_for(first))

    second = w.slash("summarize", user=w.member, options={"hours": 2})
    await w.interact(second)
    assert "You can ask for another summary in" in await w.answer_text(second)
    assert await job_count() == 1


async def test_two_window_options_at_once_are_refused(bot_world: BotWorld) -> None:
    w = bot_world
    payload = w.slash("summarize", user=w.member, options={"hours": 3, "messages": 40})
    await w.interact(payload)
    assert "Pick one way" in await w.answer_text(payload)
    assert await job_count() == 0


async def test_from_message_link_summarizes_from_that_message(bot_world: BotWorld) -> None:
    w = bot_world
    start = w.fake.add_message(w.channel, w.member, "let's discuss the release")
    link = f"https://discord.com/channels/{w.guild.id}/{w.channel.id}/{start.id}"
    payload = w.slash("summarize", user=w.member, options={"from_message": link})
    await w.interact(payload)

    (job,) = await eventually(lambda: jobs_for(payload))
    assert (job.window_kind, job.after_message_id, job.channel_id) == (WindowKind.FROM_MESSAGE, start.id, w.channel.id)


async def test_summarize_from_here_context_menu(bot_world: BotWorld) -> None:
    w = bot_world
    start = w.fake.add_message(w.channel, w.member, "first point")
    payload = w.fake.message_command_payload(target=start, user=w.member, name="Summarize from here")
    await w.interact(payload)

    assert (await w.callback(payload)).json["type"] == DEFERRED
    (job,) = await eventually(lambda: jobs_for(payload))
    assert (job.source, job.window_kind, job.after_message_id) == (
        JobSource.CONTEXT_MENU,
        WindowKind.FROM_MESSAGE,
        start.id,
    )


async def test_reaction_trigger_queues_one_public_job_per_message(
    bot_world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    w = bot_world
    await db(guild_config_update)(guild_id=w.guild.id, changes={"reaction_trigger_emoji": "📝"})
    message = w.fake.add_message(w.channel, w.member, "long discussion starts here")
    await w.fake.dispatch_async("MESSAGE_REACTION_ADD", w.fake.reaction_add_payload(message, w.member, "👍"))
    await w.fake.dispatch_async("MESSAGE_REACTION_ADD", w.fake.reaction_add_payload(message, w.member, "📝"))
    await w.fake.dispatch_async("MESSAGE_REACTION_ADD", w.fake.reaction_add_payload(message, w.admin, "📝"))

    async def triggers() -> list[bool]:
        return [r.job_created for r in caplog.records if r.getMessage() == "reaction trigger"]  # type: ignore[attr-defined]

    assert sorted(await eventually(lambda: _at_least(triggers, 2))) == [False, True]
    (job,) = await db(lambda: list(SummaryJob.objects.all()))()
    assert (job.source, job.visibility, job.delivery_mode) == (JobSource.REACTION, "public", "here")
    assert (job.window_kind, job.after_message_id) == (WindowKind.FROM_MESSAGE, message.id)
    assert job.requested_by_user_id in (w.member.id, w.admin.id)  # whichever reaction was handled first
    assert job.interaction_id is None  # no interaction: the worker posts in the channel


async def _at_least(check: Any, count: int) -> Any:
    value = await check()
    return value if len(value) >= count else None


def _long_summary(guild_id: int, channel_id: int, *, requester: int, visibility: str) -> Summary:
    job = SummaryJobFactory(
        guild_id=guild_id, channel_id=channel_id, requested_by_user_id=requester, visibility=visibility, status="done"
    )
    items = [
        {
            "section": "key_points",
            "text": f"Point {n}: " + "details " * 100,
            "message_ids": [],
            "owner": None,
            "unverified": False,
        }
        for n in range(20)
    ]
    return SummaryFactory(
        guild_id=guild_id, channel_id=channel_id, job=job, format="brief", items=items, message_count=20
    )


def _post_first_page(w: BotWorld, summary: Summary) -> Any:
    """The worker's first page as it posts it: embeds plus its ◀ n/m ▶ buttons."""
    rendering = render_for_discord(summary, title="Summary of #general")
    assert len(rendering.pages) >= 3 and not rendering.fell_back_to_file
    posted = w.fake.add_message(w.channel, w.fake.bot_user, "", embeds=rendering.pages[0])
    posted.components = page_buttons(summary.pk, 0, len(rendering.pages))
    SummaryJob.objects.filter(pk=summary.job_id).update(discord_message_id=posted.id)  # as delivery records it
    return posted


async def test_page_button_shows_the_requested_page_to_the_requester(bot_world: BotWorld) -> None:
    w = bot_world
    summary = await db(_long_summary)(w.guild.id, w.channel.id, requester=w.member.id, visibility="public")
    posted = await db(_post_first_page)(w, summary)
    payload = w.fake.component_payload(message=posted, user=w.admin, custom_id=f"sumpage:{summary.pk}:1")
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == 7  # UPDATE_MESSAGE: the same message turns to page 2
    embeds = callback.json["data"]["embeds"]
    assert embeds and "Page 2/" in embeds[-1]["footer"]["text"]
    buttons = callback.json["data"]["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == [
        f"sumpage:{summary.pk}:0",
        f"sumpage:{summary.pk}:noop",
        f"sumpage:{summary.pk}:2",
    ]


async def test_page_button_back_to_the_first_page_disables_the_back_arrow(bot_world: BotWorld) -> None:
    # Page 1's ◀ points at page -1 (disabled): the bot once failed to build that row and apologised instead.
    w = bot_world
    summary = await db(_long_summary)(w.guild.id, w.channel.id, requester=w.member.id, visibility="public")
    posted = await db(_post_first_page)(w, summary)
    pages = int(posted.components[0]["components"][1]["label"].split("/")[1])
    posted.components = page_buttons(summary.pk, 1, pages)  # the message shows page 2: ◀ goes to page 1
    payload = w.fake.component_payload(message=posted, user=w.admin, custom_id=f"sumpage:{summary.pk}:0")
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == 7
    assert "Page 1/" in callback.json["data"]["embeds"][-1]["footer"]["text"]
    buttons = callback.json["data"]["components"][0]["components"]
    assert [(b["custom_id"], b["disabled"]) for b in buttons] == [
        (f"sumpage:{summary.pk}:-1", True),
        (f"sumpage:{summary.pk}:noop", True),
        (f"sumpage:{summary.pk}:1", False),
    ]


async def test_private_summary_pages_only_for_its_requester(bot_world: BotWorld) -> None:
    w = bot_world
    summary = await db(_long_summary)(w.guild.id, w.channel.id, requester=w.member.id, visibility="private")
    posted = await db(_post_first_page)(w, summary)
    payload = w.fake.component_payload(message=posted, user=w.admin, custom_id=f"sumpage:{summary.pk}:1")
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == REPLY
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert "Only the member who asked" in callback.json["data"]["content"]


async def test_a_forum_post_picked_as_target(bot_world: BotWorld) -> None:
    w = bot_world
    forum = w.fake.add_channel(w.guild, "help", type=ChannelType.FORUM)
    await w.fake.dispatch_async("CHANNEL_CREATE", w.fake.channel_payload(forum))
    await eventually(lambda: db(ChannelRow.objects.filter(pk=forum.id).exists)())
    # The post's THREAD_CREATE never reached the bot (made while it was offline): it mirrors the post first.
    post = w.fake.add_forum_post(forum, "Build fails on ARM", author=w.member, content="cc1 crashes")
    option, resolved = w.channel_option("channel", post, user=w.member)
    payload = w.slash("summarize", user=w.member, options=[option], resolved=resolved)
    await w.interact(payload)

    (job,) = await eventually(lambda: jobs_for(payload))
    assert job.channel_id == post.id
    row = await db(ChannelRow.objects.get)(pk=post.id)
    assert (row.parent_id, row.kind) == (forum.id, "public_thread")


async def test_language_autocomplete_offers_matching_languages(bot_world: BotWorld) -> None:
    w = bot_world
    payload = w.slash(
        "summarize", user=w.member, options=[{"name": "language", "type": 3, "value": "port", "focused": True}]
    )
    payload["type"] = 4  # APPLICATION_COMMAND_AUTOCOMPLETE
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == 8
    values = [choice["value"] for choice in callback.json["data"]["choices"]]
    assert values[:2] == ["pt", "pt-BR"]
    assert await job_count() == 0


async def test_end_to_end_the_worker_edits_the_deferred_response_with_the_summary(
    bot_world: BotWorld, settings
) -> None:  # type: ignore[no-untyped-def]
    w = bot_world
    settings.SUMMARY_PROVIDER = "local"  # the offline engine: this test is about the Discord round trip
    w.fake.add_messages(w.channel, 30, authors=[w.member, w.admin], content="we should ship the release on friday {i}")
    payload = w.slash("summarize", user=w.member, options={"messages": 30})
    await w.interact(payload)
    (job,) = await eventually(lambda: jobs_for(payload))

    await run_task(run_summary_job, str(job.pk))  # what the django-q2 worker runs

    edit = await w.fake.wait_for_request_async(
        lambda r: r.method == "PATCH" and payload["token"] in r.path and bool((r.json or {}).get("embeds"))
    )
    embed = edit.json["embeds"][0]
    assert embed["title"] == "Summary of #general"
    assert f"https://discord.com/channels/{w.guild.id}/{w.channel.id}/" in str(embed)
    (message,) = [m for m in w.fake.interaction_messages(payload) if m.embeds]
    assert message.flags & EPHEMERAL  # private: only the requester sees it


async def test_since_options_and_foreign_message_links(bot_world: BotWorld) -> None:
    w = bot_world
    since_summary = w.slash("summarize", user=w.member, options={"since": "last_summary"})
    await w.interact(since_summary)
    (job,) = await eventually(lambda: jobs_for(since_summary))
    assert job.window_kind == WindowKind.SINCE_LAST_SUMMARY

    foreign = w.slash("summarize", user=w.admin, options={"from_message": "https://discord.com/channels/1/2/3"})
    await w.interact(foreign)
    assert "another server" in await w.answer_text(foreign)

    mine = w.slash("summarize", user=w.admin, options={"since": "my_last_message"})
    await w.interact(mine)
    (job,) = await eventually(lambda: jobs_for(mine))
    assert (job.window_kind, job.requested_by_user_id) == (WindowKind.SINCE_MY_LAST_MESSAGE, w.admin.id)


async def test_unexpected_errors_get_a_generic_private_apology_and_are_logged_with_ids(
    bot_world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    w = bot_world
    # A row no renderer knows (written by hand, or by an older version): rendering it raises KeyError.
    posted = w.fake.add_message(w.channel, w.fake.bot_user, "", embeds=[{"title": "Summary"}])
    job = await db(SummaryJobFactory)(
        guild_id=w.guild.id, channel_id=w.channel.id, visibility="public", status="done", discord_message_id=posted.id
    )
    broken = await db(SummaryFactory)(guild_id=w.guild.id, channel_id=w.channel.id, format="haiku", job=job)
    posted.components = page_buttons(broken.pk, 0, 2)
    payload = w.fake.component_payload(message=posted, user=w.member, custom_id=f"sumpage:{broken.pk}:1")
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == REPLY
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert f"reference {payload['id']}" in callback.json["data"]["content"]
    (record,) = [r for r in caplog.records if r.getMessage() == "unexpected error handling an interaction"]
    assert (record.interaction_id, record.user_id, record.guild_id) == (int(payload["id"]), w.member.id, w.guild.id)  # type: ignore[attr-defined]
    assert record.exc_info is not None


async def test_guild_concurrency_limit_refuses_with_an_explanation(bot_world: BotWorld) -> None:
    w = bot_world
    await db(GuildRow.objects.filter(pk=w.guild.id).update)(max_concurrent_jobs=1)
    first = w.slash("summarize", user=w.member)
    await w.interact(first)
    await eventually(lambda: jobs_for(first))  # queued, not finished: no worker runs here

    second = w.slash("summarize", user=w.admin)
    await w.interact(second)
    assert "summaries in progress (limit 1)" in await w.answer_text(second)
    assert await job_count() == 1


async def test_a_public_summary_of_a_private_channel_asked_in_another_channel_is_refused(bot_world: BotWorld) -> None:
    # Seen: a public summary of #staff asked from #general was posted in #general for all to read.
    w = bot_world
    staff_role = w.fake.add_role(w.guild, "Staff")
    lead = w.fake.add_member(w.guild, username="lead", roles=[staff_role])
    let_in = [
        Overwrite(id=staff_role.id, allow=Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY),
        Overwrite(id=w.fake.bot_role(w.guild).id, allow=Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY),
    ]
    staff = w.fake.add_channel(w.guild, "staff", overwrites=let_in)
    w.fake.lock_channel(staff)
    await w.fake.dispatch_async("CHANNEL_CREATE", w.fake.channel_payload(staff))
    await eventually(lambda: db(ChannelRow.objects.filter(pk=staff.id, is_locked=True).exists)())
    await db(channel_config_update)(guild_id=w.guild.id, channel_id=staff.id, changes={"allow_when_locked": True})

    option, resolved = w.channel_option("channel", staff, user=lead)
    public = w.slash("summarize", user=lead, options=[option, {"name": "visibility", "type": 3, "value": "public"}],
                     resolved=resolved)
    await w.interact(public)
    assert "won't post its summary there" in await w.answer_text(public)
    assert await job_count() == 0

    option, resolved = w.channel_option("channel", staff, user=lead)
    private = w.slash("summarize", user=lead, options=[option], resolved=resolved)
    await w.interact(private)
    (job,) = await eventually(lambda: jobs_for(private))
    assert (job.channel_id, job.visibility) == (staff.id, Visibility.PRIVATE)


async def _private_thread(w: BotWorld) -> tuple[Any, Any]:
    """A private thread of #general that the admin is in and the member is not, known to the bot and its mirror."""
    # The bot is in it (it could not read it otherwise), the member is not.
    thread = w.fake.add_thread(w.channel, "promotions", private=True, owner=w.admin, members=[w.fake.bot_user])
    await w.fake.dispatch_async("THREAD_CREATE", w.fake.thread_create_payload(thread))
    await eventually(lambda: db(ChannelRow.objects.filter(pk=thread.id).exists)())
    # The admin lets summaries run in it: only membership can refuse below.
    await db(channel_config_update)(guild_id=w.guild.id, channel_id=thread.id, changes={"allow_when_locked": True})
    start = w.fake.add_message(thread, w.admin, "who should we promote?")
    return thread, start


async def test_a_message_link_into_a_private_thread_is_refused_to_a_member_not_in_it(bot_world: BotWorld) -> None:
    w = bot_world
    thread, start = await _private_thread(w)
    link = f"https://discord.com/channels/{w.guild.id}/{thread.id}/{start.id}"

    outsider = w.slash("summarize", user=w.member, options={"from_message": link})
    await w.interact(outsider)
    assert "private thread you are not in" in await w.answer_text(outsider)
    assert await job_count() == 0

    insider = w.slash("summarize", user=w.admin, options={"from_message": link})
    await w.interact(insider)
    (job,) = await eventually(lambda: jobs_for(insider))
    assert (job.channel_id, job.after_message_id) == (thread.id, start.id)


async def test_summarize_from_here_in_a_private_thread_is_refused_to_a_member_not_in_it(bot_world: BotWorld) -> None:
    w = bot_world
    thread, start = await _private_thread(w)
    payload = w.fake.message_command_payload(target=start, user=w.member, name="Summarize from here")
    # Sent from #general: the member's permissions there (and the parent's, for the thread) let them read.
    from_general = w.slash("summarize", user=w.member)
    payload.update({key: from_general[key] for key in ("channel_id", "channel", "member", "app_permissions")})
    await w.interact(payload)
    assert "private thread you are not in" in await w.answer_text(payload)
    assert await job_count() == 0


async def test_page_buttons_copied_onto_another_message_turn_nothing(bot_world: BotWorld) -> None:
    # The custom_id names a summary: sent on any other message (a member's own bot, a hand-made
    # component), it used to render that summary's pages for whoever clicked.
    w = bot_world
    summary = await db(_long_summary)(w.guild.id, w.channel.id, requester=w.member.id, visibility="public")
    await db(_post_first_page)(w, summary)
    elsewhere = w.fake.add_message(w.channel, w.fake.bot_user, "", embeds=[{"title": "Something else"}])
    elsewhere.components = page_buttons(summary.pk, 0, 3)
    payload = w.fake.component_payload(message=elsewhere, user=w.admin, custom_id=f"sumpage:{summary.pk}:1")
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == REPLY
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert "don't belong to this message" in callback.json["data"]["content"]


async def test_a_summary_without_a_request_is_not_paged_for_anyone(bot_world: BotWorld) -> None:
    # Job-less summaries (their job removed) used to count as public: any custom_id showed them.
    w = bot_world
    summary = await db(_long_summary)(w.guild.id, w.channel.id, requester=w.member.id, visibility="private")
    posted = await db(_post_first_page)(w, summary)
    await db(SummaryJob.objects.filter(pk=summary.job_id).delete)()
    payload = w.fake.component_payload(message=posted, user=w.admin, custom_id=f"sumpage:{summary.pk}:1")
    await w.interact(payload)

    callback = await w.callback(payload)
    assert callback.json["type"] == REPLY
    assert "request is no longer stored" in callback.json["data"]["content"]
