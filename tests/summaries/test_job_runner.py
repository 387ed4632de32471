"""The worker's half of a summary: fake Discord + (fake OpenAI or the offline engine), real clients.

The bot's part (the deferred slash-command response) is played by a plain HTTP callback here; the bot
itself is tested in tests/botrunner/. Everything the worker does goes through the real services,
the real discord.py REST client and the real openai SDK over sockets.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from guilds.models import Channel, Guild
from summaries.models import JobStatus, Summary, SummaryJob, UsageRecord
from summaries.services.jobs import SummaryRequest, job_claim, jobs_sweep_stalled, summary_request
from summaries.tasks import run_summary_job, sweep_stalled_jobs
from summaries.window import SummaryWindow
from tests.fakes.discord import FakeDiscord, Overwrite, Permission
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import worker_env

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
JUMP = re.compile(r"https://discord\.com/channels/(\d+)/(\d+)/(\d+)")


@pytest.fixture
def world(discord_settings: FakeDiscord):
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    bob = fake.add_member(guild, username="bob", global_name="Bob")
    channel = fake.add_channel(guild, "general")
    Guild.objects.create(id=guild.id, name="Guild", bot_present=True, member_cooldown_seconds=0)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="general")
    return fake, guild, channel, alice, bob


def chatter(fake: FakeDiscord, channel, alice, bob, count: int) -> list:  # type: ignore[no-untyped-def]
    lines = [
        (alice, "Should we ship the release on Tuesday?"),
        (bob, "Yes, let's go with Tuesday, code freeze Friday."),
        (alice, "I'll write the release notes by Thursday."),
        (bob, "The flaky login test is fixed: https://git.example.com/pr/812"),
    ]
    made = []
    for n in range(count):
        author, text = lines[n % len(lines)]
        made.append(fake.add_message(channel, author=author, content=f"{text} (#{n})"))
    return made


def deferred_interaction(fake: FakeDiscord, channel, user, *, ephemeral: bool = True) -> dict:  # type: ignore[no-untyped-def]
    """What the bot does in its first 3 seconds: an INTERACTION_CREATE answered by a deferred response."""
    payload = fake.slash_command_payload(channel=channel, user=user, name="summarize")
    body = json.dumps({"type": 5, "data": {"flags": 64 if ephemeral else 0}}).encode()
    request = urllib.request.Request(
        f"{fake.api_base}/interactions/{payload['id']}/{payload['token']}/callback?with_response=1",
        data=body, headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    return payload


def slash_job(payload: dict, guild, channel, user, **kwargs) -> SummaryJob:  # type: ignore[no-untyped-def]
    job, created = summary_request(
        request=SummaryRequest(
            guild_id=guild.id, channel_id=channel.id, source="slash_command", requested_by_user_id=user.id,
            interaction_id=int(payload["id"]), application_id=int(payload["application_id"]),
            interaction_token=payload["token"], **kwargs,
        )
    )
    assert created
    return job


def original_edits(fake: FakeDiscord, payload: dict) -> list:  # type: ignore[no-untyped-def]
    return fake.requests_matching("PATCH", rf"/webhooks/\d+/{re.escape(payload['token'])}/messages/@original")


def result_edit(fake: FakeDiscord, payload: dict) -> dict:  # type: ignore[no-untyped-def]
    with_embeds = [r.json for r in original_edits(fake, payload) if r.json and r.json.get("embeds")]
    assert len(with_embeds) == 1, "the result is delivered exactly once"
    return with_embeds[0]


def cited_links(body: dict) -> list[tuple[int, int, int]]:
    text = json.dumps(body["embeds"])
    return [tuple(int(x) for x in m.groups()) for m in JUMP.finditer(text)]


def test_slash_command_job_offline_engine_delivers_cited_summary_in_the_deferred_response(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    messages = chatter(fake, channel, alice, bob, 150)
    payload = deferred_interaction(fake, channel, alice)
    job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(120))

    assert run_summary_job(str(job.pk)) == "done"

    job.refresh_from_db()
    assert (job.status, job.progress, job.attempts) == (JobStatus.DONE, 100, 1)
    assert job.delivered_at is not None
    summary = Summary.objects.get(job=job)
    assert summary.message_count == 120 and summary.model == "local-extractive"
    window_ids = {m.id for m in messages[-120:]}
    links = cited_links(result_edit(fake, payload))
    assert links and all(g == guild.id and c == channel.id and m in window_ids for g, c, m in links)
    assert set(summary.citations.values_list("message_id", flat=True)) <= window_ids


def test_5000_message_window_map_reduces_through_openai_and_records_usage(world, settings):
    fake, guild, channel, alice, bob = world
    chatter(fake, channel, alice, bob, 5000)
    with FakeOpenAI() as llm:
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = llm.base_url
        settings.SUMMARY_CONTEXT_TOKENS = 16_000
        settings.SUMMARY_MAP_CONCURRENCY = 4
        payload = deferred_interaction(fake, channel, alice, ephemeral=False)
        job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(5000), visibility="public")

        assert run_summary_job(str(job.pk)) == "done"
        calls = llm.chat_requests

    summary = Summary.objects.get(job=job)
    assert summary.message_count == 5000
    assert summary.llm_calls == len(calls) > 2  # map-reduce, not one truncated call
    usage = UsageRecord.objects.get(guild_id=guild.id)
    assert usage.prompt_tokens == summary.prompt_tokens > 0 and usage.llm_calls == len(calls)
    assert cited_links(result_edit(fake, payload))



def test_a_window_costing_more_than_the_monthly_token_budget_fails_before_any_llm_call(world, settings):
    fake, guild, channel, alice, bob = world
    chatter(fake, channel, alice, bob, 300)
    # Accepted at request time (nothing spent yet), refused once the fetched window is planned.
    Guild.objects.filter(id=guild.id).update(monthly_token_budget=2_000)
    with FakeOpenAI() as llm:
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = llm.base_url
        payload = deferred_interaction(fake, channel, alice)
        job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(300))

        assert run_summary_job(str(job.pk)) == "failed: budget_exceeded"
        assert llm.chat_requests == []

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "budget_exceeded")
    assert "monthly budget of 2,000 tokens" in job.error_message
    assert not Summary.objects.exists() and not UsageRecord.objects.exists()

def test_rate_limited_history_fetch_is_waited_out(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    chatter(fake, channel, alice, bob, 300)
    fake.fail_next("GET", rf"^/channels/{channel.id}/messages$", status=429, retry_after=0.2, skip=1)
    payload = deferred_interaction(fake, channel, alice)
    job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(300))

    assert run_summary_job(str(job.pk)) == "done"
    assert Summary.objects.get(job=job).message_count == 300
    statuses = [r.status for r in fake.requests_matching("GET", rf"^/channels/{channel.id}/messages$")]
    assert 429 in statuses and statuses[-1] == 200


def test_missing_read_history_fails_the_job_and_says_which_permission(world, settings):
    fake, guild, channel, alice, bob = world
    chatter(fake, channel, alice, bob, 10)
    channel.overwrites.append(Overwrite(id=fake.bot_role(guild).id, deny=Permission.READ_MESSAGE_HISTORY))
    payload = deferred_interaction(fake, channel, alice)
    job = slash_job(payload, guild, channel, alice)

    assert run_summary_job(str(job.pk)) == "failed: discord_missing_access"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "read_message_history" in job.error_message
    last = original_edits(fake, payload)[-1].json
    assert last["content"].startswith("❌") and "read_message_history" in last["content"]
    assert not Summary.objects.exists()


def test_expired_interaction_public_summary_goes_to_the_channel(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    chatter(fake, channel, alice, bob, 40)
    payload = deferred_interaction(fake, channel, alice, ephemeral=False)
    job = slash_job(payload, guild, channel, alice, visibility="public")
    SummaryJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=20))
    fake.expire_interaction(payload)

    assert run_summary_job(str(job.pk)) == "done"
    posted = fake.requests_matching("POST", rf"^/channels/{channel.id}/messages$")
    assert len(posted) == 1 and cited_links(posted[0].json)
    assert not original_edits(fake, payload)


def test_private_summary_after_expiry_is_sent_by_dm(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    chatter(fake, channel, alice, bob, 40)
    payload = deferred_interaction(fake, channel, alice)
    job = slash_job(payload, guild, channel, alice)
    SummaryJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=20))

    assert run_summary_job(str(job.pk)) == "done"
    assert fake.requests_matching("POST", r"^/users/@me/channels$")
    assert not fake.requests_matching("POST", rf"^/channels/{channel.id}/messages$")


def test_a_summary_that_cannot_be_delivered_leaves_the_job_partial_with_the_reason(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    private_person = fake.add_member(guild, fake.add_user("carol", accepts_dms=False))
    chatter(fake, channel, alice, bob, 40)
    payload = deferred_interaction(fake, channel, private_person)
    job = slash_job(payload, guild, channel, private_person, delivery_mode="dm")

    assert run_summary_job(str(job.pk)) == "partial: discord_cannot_message_user"
    job.refresh_from_db()
    assert job.status == JobStatus.PARTIAL and "could not be posted" in job.error_message
    assert Summary.objects.filter(job=job).exists()  # kept: a retry or the API can still use it


def test_thread_delivery_posts_in_a_new_thread_and_points_to_it(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    chatter(fake, channel, alice, bob, 40)
    payload = deferred_interaction(fake, channel, alice, ephemeral=False)
    job = slash_job(payload, guild, channel, alice, delivery_mode="thread", visibility="public")

    assert run_summary_job(str(job.pk)) == "done"
    thread_post = fake.requests_matching("POST", rf"^/channels/{channel.id}/threads$")
    assert len(thread_post) == 1
    pointer = original_edits(fake, payload)[-1].json["content"]
    assert "The summary is in <#" in pointer


def test_since_last_summary_starts_after_the_previous_summary(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    chatter(fake, channel, alice, bob, 60)
    first = slash_job(deferred_interaction(fake, channel, alice), guild, channel, alice, window=SummaryWindow.count(60))
    assert run_summary_job(str(first.pk)) == "done"
    newer = chatter(fake, channel, alice, bob, 25)
    second = slash_job(
        deferred_interaction(fake, channel, bob), guild, channel, bob, window=SummaryWindow.since_last_summary()
    )
    assert run_summary_job(str(second.pk)) == "done"
    summary = Summary.objects.get(job=second)
    assert summary.message_count == 25 and summary.first_message_id == newer[0].id


def test_a_rerun_of_a_finished_job_changes_nothing(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    chatter(fake, channel, alice, bob, 30)
    payload = deferred_interaction(fake, channel, alice)
    job = slash_job(payload, guild, channel, alice)
    assert run_summary_job(str(job.pk)) == "done"
    assert run_summary_job(str(job.pk)).startswith("skipped")
    assert Summary.objects.count() == 1
    result_edit(fake, payload)


@pytest.mark.slow
def test_worker_killed_mid_job_is_picked_up_again_and_delivers_once(world, settings):
    fake, guild, channel, alice, bob = world
    chatter(fake, channel, alice, bob, 400)
    with FakeOpenAI() as llm:
        llm.latency = 1.5  # long enough to kill the worker while it summarizes
        payload = deferred_interaction(fake, channel, alice)
        job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(400))
        env = worker_env(fake, llm, SUMMARY_CONTEXT_TOKENS="8000")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import django; django.setup(); from summaries.tasks import run_summary_job; run_summary_job({str(job.pk)!r})",
            ],
            cwd=ROOT, env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job.refresh_from_db()
                # Killed mid map-reduce: at least one call answered (and so spent), the summary not made.
                if (job.status == JobStatus.SUMMARIZING and UsageRecord.objects.exists()) or job.is_finished:
                    break
                time.sleep(0.1)
            assert job.status == JobStatus.SUMMARIZING, (job.status, job.error_code, job.error_message)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        assert not Summary.objects.exists()
        # What the killed attempt spent is on the guild's meter already.
        spent = UsageRecord.objects.get(guild_id=guild.id)
        assert spent.llm_calls >= 1 and spent.prompt_tokens > 0 and spent.summaries == 0

        # Two minutes without a heartbeat later, the sweeper hands the job to a live worker, once.
        SummaryJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=3))
        assert jobs_sweep_stalled() == 1
        assert jobs_sweep_stalled() == 0  # its task is still pending: no second one
        llm.latency = 0
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = llm.base_url
        settings.SUMMARY_CONTEXT_TOKENS = 8000
        assert run_summary_job(str(job.pk)) == "done"

    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 2
    summary = Summary.objects.get(job=job)
    result_edit(fake, payload)
    # Both attempts' calls, each once: the finished job did not count its calls a second time.
    usage = UsageRecord.objects.get(guild_id=guild.id)
    assert usage.llm_calls == spent.llm_calls + summary.llm_calls
    assert usage.prompt_tokens == spent.prompt_tokens + summary.prompt_tokens
    assert usage.summaries == 1


def told(fake: FakeDiscord, payload: dict) -> list[str]:  # type: ignore[type-arg]
    return [r.json["content"] for r in original_edits(fake, payload) if r.json and r.json.get("content")]


def test_a_job_whose_workers_keep_dying_is_failed_after_the_last_attempt_and_the_member_told(world, settings):
    fake, guild, channel, alice, bob = world
    chatter(fake, channel, alice, bob, 20)
    payload = deferred_interaction(fake, channel, alice)
    job = slash_job(payload, guild, channel, alice)
    # Each earlier worker claimed it and died: the heartbeat is stale and every attempt is used up.
    SummaryJob.objects.filter(pk=job.pk).update(
        status=JobStatus.SUMMARIZING, attempts=settings.JOB_MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )

    assert run_summary_job(str(job.pk)).startswith("skipped")

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "worker_lost")
    assert told(fake, payload) == [f"❌ {job.error_message}"]
    assert not Summary.objects.exists()


def test_a_queued_job_no_worker_started_in_time_is_failed_by_the_sweeper_and_the_member_told(world, settings):
    fake, guild, channel, alice, bob = world
    payload = deferred_interaction(fake, channel, alice)
    job = slash_job(payload, guild, channel, alice)
    fresh = slash_job(deferred_interaction(fake, channel, bob), guild, channel, bob)
    SummaryJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.JOB_START_DEADLINE_SECONDS + 5)
    )

    assert sweep_stalled_jobs() == 1

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "not_started")
    assert told(fake, payload) == [f"❌ {job.error_message}"] and "No worker started" in job.error_message
    assert SummaryJob.objects.get(pk=fresh.pk).status == JobStatus.QUEUED
    # Its task, if a worker takes it after all, finds the job finished and changes nothing.
    assert run_summary_job(str(job.pk)).startswith("skipped")
    assert SummaryJob.objects.get(pk=job.pk).error_code == "not_started"


def test_a_job_for_a_channel_of_another_server_fails_before_reading_it(world, settings):
    # Seen: a guild-A job summarized a guild-B channel and stored it under guild A. However the id got in,
    # the worker asks Discord which server the channel is in before it reads anything.
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    other = fake.add_guild("Other")
    theirs = fake.add_channel(other, "secrets")
    fake.add_message(theirs, fake.users[other.owner_id], "the other server's plans")
    job = SummaryJob.objects.create(guild_id=guild.id, channel_id=theirs.id, source="api", message_limit=50)

    assert run_summary_job(str(job.pk)) == "failed: permission_denied"

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "permission_denied")
    assert "not in this server" in job.error_message
    assert not fake.requests_matching("GET", rf"^/channels/{theirs.id}/messages")
    assert not Summary.objects.exists()


def start_worker(job: SummaryJob, env: dict[str, str]) -> subprocess.Popen:  # type: ignore[type-arg]
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import django; django.setup(); from summaries.tasks import run_summary_job; run_summary_job({str(job.pk)!r})",
        ],
        cwd=ROOT, env=env,
    )


def bot_messages(fake: FakeDiscord, channel_id: int, *, besides: set[int] = frozenset()) -> list:  # type: ignore[type-arg,assignment]
    return [m for m in fake.channel_messages(channel_id) if m.author_id == fake.bot_user.id and m.id not in besides]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["thread", "channel after the token expired"])
def test_worker_killed_after_posting_and_before_recording_it_reruns_without_posting_twice(world, settings, mode):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    chatter(fake, channel, alice, bob, 40)
    payload = deferred_interaction(fake, channel, alice, ephemeral=False)
    if mode == "thread":
        job = slash_job(payload, guild, channel, alice, delivery_mode="thread", visibility="public")
    else:
        job = slash_job(payload, guild, channel, alice, visibility="public")
        SummaryJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=20))
        fake.expire_interaction(payload)
    already = {m.id for m in bot_messages(fake, channel.id)}  # the deferred response, when public
    # The result message is created, but the worker never hears back: it dies before delivered_at is written.
    held = fake.hold_next("POST", r"^/channels/\d+/messages$")
    with FakeOpenAI() as llm:
        worker = start_worker(job, worker_env(fake, llm, SUMMARY_PROVIDER="local"))
        try:
            assert held.reached.wait(30), "the worker never posted the result"
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            held.release.set()
    job.refresh_from_db()
    assert job.delivered_at is None and job.delivery_started_at is not None
    threads = [c for c in fake.channels.values() if c.parent_id == channel.id]
    target = threads[0].id if mode == "thread" else channel.id
    assert len(threads) == (1 if mode == "thread" else 0) and len(bot_messages(fake, target, besides=already)) == 1

    SummaryJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=3))
    assert jobs_sweep_stalled() == 1
    assert run_summary_job(str(job.pk)) == "done"

    job.refresh_from_db()
    assert [c.id for c in fake.channels.values() if c.parent_id == channel.id] == [t.id for t in threads]
    assert len(fake.requests_matching("POST", rf"^/channels/{channel.id}/threads$")) == (1 if mode == "thread" else 0)
    posted = bot_messages(fake, target, besides=already)
    assert len(posted) == 1 and job.discord_message_id == posted[0].id
    # The rerun did post again, with the same nonce: Discord answered with the first message.
    retries = fake.requests_matching("POST", rf"^/channels/{target}/messages$")
    assert len(retries) == 2 and retries[0].json["nonce"] == retries[1].json["nonce"]
    assert retries[0].json["enforce_nonce"] is True


@pytest.mark.slow
def test_a_job_whose_delivery_is_slow_keeps_its_lease_and_no_second_worker_takes_it(world, settings):
    fake, guild, channel, alice, bob = world
    settings.OPENAI_API_KEY = ""
    settings.JOB_HEARTBEAT_STALE_SECONDS = 2
    chatter(fake, channel, alice, bob, 40)
    payload = deferred_interaction(fake, channel, alice, ephemeral=False)
    job = slash_job(payload, guild, channel, alice, delivery_mode="thread", visibility="public")
    # Discord takes longer to answer the result's post than the heartbeat may go stale.
    held = fake.hold_next("POST", r"^/channels/\d+/messages$")
    with FakeOpenAI() as llm:
        env = worker_env(fake, llm, SUMMARY_PROVIDER="local", JOB_HEARTBEAT_STALE_SECONDS="2")
        worker = start_worker(job, env)
        try:
            assert held.reached.wait(30), "the worker never posted the result"
            time.sleep(3)  # longer than the stale window
            assert jobs_sweep_stalled() == 0
            assert job_claim(job_id=job.pk) is None  # the first worker still holds the job
            held.release.set()
            assert worker.wait(timeout=30) == 0
        finally:
            held.release.set()
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)
    assert job.delivered_at is not None and len(bot_messages(fake, job.delivery_thread_id)) == 1
