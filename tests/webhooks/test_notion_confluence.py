"""Notion and Confluence destinations: the unmodified notion-client and atlassian-python-api against fake
Notion and Confluence servers on real sockets, through the delivery service (and once through the worker)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from guilds.models import Channel
from summaries.models import JobStatus, SummaryJob
from summaries.tasks import run_summary_job
from tests.factories import GuildFactory, SummaryFactory, SummaryJobFactory
from tests.fakes.confluence_server import FakeConfluence
from tests.fakes.confluence_server import Fault as ConfluenceFault
from tests.fakes.notion_server import FakeNotion, Fault
from tests.webhooks.test_api_destinations import key, send
from tests.webhooks.test_worker_delivery import run_queued, world  # noqa: F401  (a fixture)
from webhooks.http import DestinationRefused
from webhooks.models import Delivery, DeliveryEvent, DeliveryStatus
from webhooks.services.deliveries import deliveries_create, delivery_attempt, delivery_run, outbound_message
from webhooks.services.destinations import destination_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_fakes(settings):  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the fakes listen on 127.0.0.1


@pytest.fixture
def notion():
    with FakeNotion() as fake:
        yield fake


@pytest.fixture
def cloud():
    with FakeConfluence(deployment="cloud") as fake:
        yield fake


@pytest.fixture
def datacenter():
    with FakeConfluence(deployment="datacenter") as fake:
        yield fake


NOTION_CONFIG = {"title_property": "Name", "date_property": "Date", "channel_property": "Channel",
                 "tags_property": "Tags"}


def _notion(guild, fake: FakeNotion, **config):  # type: ignore[no-untyped-def]
    database_id = fake.add_database()
    return destination_create(
        guild_id=guild.id, kind="notion", name="wiki", url=fake.url,
        config={"database_id": database_id, **NOTION_CONFIG, **config}, credentials={"token": fake.token},
    ).destination, database_id


def _confluence(guild, fake: FakeConfluence, **config):  # type: ignore[no-untyped-def]
    credentials = ({"email": "admin@example.com", "api_token": "atl-token"} if fake.deployment == "cloud"
                   else {"personal_token": "pat-token"})
    return destination_create(
        guild_id=guild.id, kind="confluence", name="space", url=fake.url,
        config={"space_key": "ENG", "deployment": fake.deployment, **config}, credentials=credentials,
    ).destination


def _done_job(guild, items: list[dict] | None = None, channel_name: str = "general"):  # type: ignore[no-untyped-def]
    job = SummaryJobFactory(guild=guild, status=JobStatus.DONE, finished_at=timezone.now(), format="structured")
    Channel.objects.create(id=job.channel_id, guild_id=guild.id, name=channel_name)
    SummaryFactory(guild=guild, job=job, channel_id=job.channel_id, format="structured", items=items or [
        {"section": "overview", "text": "The team planned the release.", "message_ids": [], "owner": None,
         "unverified": False},
        {"section": "decisions", "text": "Ship on <Tuesday> & not later", "message_ids": [], "owner": None,
         "unverified": False},
        {"section": "action_items", "text": "Write the notes", "message_ids": [], "owner": "Alice",
         "unverified": True},
    ])
    return job


def _deliver(job) -> Delivery:  # type: ignore[no-untyped-def]
    [delivery] = deliveries_create(job=job, event=DeliveryEvent.SUMMARY_COMPLETED)
    return delivery


def _run_with_clock(delivery: Delivery) -> str:
    """delivery_run with its short waits (5 s before the second attempt) passed on a frozen clock."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        return delivery_run(delivery_id=delivery.pk, sleep=lambda seconds: clock.shift(timedelta(seconds=seconds)))


def _plain(rich_text: list[dict]) -> str:
    return "".join(piece["text"]["content"] for piece in rich_text)


# --- Notion ---------------------------------------------------------------------------------------------------


def test_a_summary_becomes_one_notion_page_with_properties_headings_and_points(notion):
    guild = GuildFactory()
    destination, database_id = _notion(guild, notion)
    delivery = _deliver(_done_job(guild))

    assert delivery_run(delivery_id=delivery.pk) == "succeeded"

    [page] = notion.pages_in(database_id)
    props = page["properties"]
    assert _plain(props["Name"]["title"]).startswith("Summary of #general · ")
    assert props["Date"]["date"]["start"] and _plain(props["Channel"]["rich_text"]) == "#general"
    assert props["Tags"]["multi_select"] == [{"name": "structured"}]
    blocks = notion.children[page["id"]]
    shown = [(b["type"], _plain(b[b["type"]]["rich_text"])) for b in blocks]
    assert ("heading_2", "Overview") in shown and ("paragraph", "The team planned the release.") in shown
    assert ("heading_2", "Decisions") in shown and ("bulleted_list_item", "Ship on <Tuesday> & not later") in shown
    assert ("bulleted_list_item", "Alice: Write the notes (unverified)") in shown
    owner = next(b for b in blocks if _plain(b.get("bulleted_list_item", {}).get("rich_text", [])).startswith("Alice"))
    assert owner["bulleted_list_item"]["rich_text"][0]["annotations"]["bold"] is True
    delivery.refresh_from_db()
    assert delivery.external_id == page["id"] and delivery.attempts.get().response_body.startswith("Notion page")
    # Every request carried the version the transport pins and the integration's token.
    assert {h["notion-version"] for _m, _p, h, _b in notion.requests} == {"2022-06-28"}


def test_jump_links_are_links_on_the_citation_numbers(notion):
    guild = GuildFactory()
    _destination, database_id = _notion(guild, notion)
    job = _done_job(guild)
    summary = job.summary
    # The point cites two messages of the channel: summary_cited_items makes their jump links.
    summary.items = [{"section": "key_points", "text": "Ship it", "message_ids": [111, 222], "owner": None,
                      "unverified": False}]
    summary.first_message_id, summary.last_message_id = 111, 222
    summary.save()
    delivery = _deliver(job)
    links = outbound_message(delivery).data["items"][0]["links"]
    assert len(links) == 2
    assert delivery_run(delivery_id=delivery.pk) == "succeeded"
    [page] = notion.pages_in(database_id)
    point = next(b for b in notion.children[page["id"]] if b["type"] == "bulleted_list_item")
    rich = point["bulleted_list_item"]["rich_text"]
    linked = [(p["text"]["content"], p["text"]["link"]["url"]) for p in rich if p["text"].get("link")]
    assert linked == [(str(n), url) for n, url in enumerate(links, 1)]
    assert _plain(rich) == "Ship it (1 2)"


def test_more_than_100_blocks_are_appended_100_at_a_time_and_long_text_is_split(notion):
    guild = GuildFactory()
    _destination, database_id = _notion(guild, notion)
    items = [{"section": "key_points", "text": f"Point {n}", "message_ids": [], "owner": None, "unverified": False}
             for n in range(250)]
    items.append({"section": "decisions", "text": "x" * 4500, "message_ids": [], "owner": None, "unverified": False})
    delivery = _deliver(_done_job(guild, items))

    assert delivery_run(delivery_id=delivery.pk) == "succeeded"

    [page] = notion.pages_in(database_id)
    blocks = notion.children[page["id"]]
    assert len(blocks) == 1 + 1 + 250 + 1 + 1  # description, heading, points, heading, long point
    appends = [body for method, path, _h, body in notion.requests if method == "PATCH"]
    assert [len(body["children"]) for body in appends] == [100, 54]
    long_point = blocks[-1]["bulleted_list_item"]["rich_text"]
    assert [len(p["text"]["content"]) for p in long_point] == [2000, 2000, 500]


def test_a_retry_after_a_failed_append_continues_the_same_page(notion):
    guild = GuildFactory()
    _destination, database_id = _notion(guild, notion)
    items = [{"section": "key_points", "text": f"Point {n}", "message_ids": [], "owner": None, "unverified": False}
             for n in range(150)]
    delivery = _deliver(_done_job(guild, items))
    notion.faults.append(Fault("PATCH", "/v1/blocks/", 500))

    first = delivery_attempt(delivery_id=delivery.pk)
    assert first.status == DeliveryStatus.RETRYING
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SUCCEEDED

    [page] = notion.pages_in(database_id)
    assert len(notion.children[page["id"]]) == 1 + 1 + 150
    assert [_plain(b[b["type"]]["rich_text"]) for b in notion.children[page["id"]][2:]] == [
        f"Point {n}" for n in range(150)
    ]


def test_a_500_after_the_page_was_made_finds_it_by_the_webhook_id_instead_of_a_second(notion):
    guild = GuildFactory()
    _destination, database_id = _notion(guild, notion, id_property="Webhook ID")
    delivery = _deliver(_done_job(guild))
    notion.faults.append(Fault("POST", "/v1/pages", 500, after=True))  # made, but the answer says 500

    assert _run_with_clock(delivery) == "succeeded"

    [page] = notion.pages_in(database_id)
    assert _plain(page["properties"]["Webhook ID"]["rich_text"]) == delivery.message_id
    assert Delivery.objects.get(pk=delivery.pk).attempts.count() == 2


def test_a_500_before_anything_was_made_retries_into_one_page(notion):
    guild = GuildFactory()
    _destination, database_id = _notion(guild, notion)
    delivery = _deliver(_done_job(guild))
    notion.faults.append(Fault("POST", "/v1/pages", 500))

    assert _run_with_clock(delivery) == "succeeded"
    assert len(notion.pages_in(database_id)) == 1


def test_a_bad_token_is_a_permanent_failure(notion):
    guild = GuildFactory()
    destination, database_id = _notion(guild, notion)
    destination.credentials = {"token": "secret_wrong"}
    destination.save()
    delivery = _deliver(_done_job(guild))

    assert delivery_run(delivery_id=delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert delivery.response_code == 401 and "Notion answered 401" in delivery.error and "unauthorized" in delivery.error
    assert notion.pages_in(database_id) == []


def test_a_missing_database_is_permanent(notion):
    guild = GuildFactory()
    destination, _database_id = _notion(guild, notion)
    destination.config = {**destination.config, "database_id": "0" * 32}
    destination.save()
    assert delivery_run(delivery_id=_deliver(_done_job(guild)).pk) == "failed"


def test_a_429_is_retried_after_notions_retry_after(notion):
    guild = GuildFactory()
    _destination, database_id = _notion(guild, notion)
    delivery = _deliver(_done_job(guild))
    notion.faults.append(Fault("POST", "/v1/pages", 429, headers={"Retry-After": "120"}))

    outcome = delivery_attempt(delivery_id=delivery.pk)

    assert outcome.status == DeliveryStatus.RETRYING and outcome.retry_in == 120
    assert notion.pages_in(database_id) == []


# --- Confluence -----------------------------------------------------------------------------------------------


def test_a_summary_becomes_one_confluence_cloud_page_in_storage_format(cloud):
    guild = GuildFactory()
    _confluence(guild, cloud, parent_page_id="1000")
    job = _done_job(guild)
    delivery = _deliver(job)

    assert delivery_run(delivery_id=delivery.pk) == "succeeded"

    [page] = cloud.pages_in("ENG")
    assert page["title"].startswith("Summary of #general · ") and page["title"].endswith(str(job.pk)[:8])
    assert page["parent"] == "1000"
    body = page["body"]
    assert "<h2>Overview</h2><p>The team planned the release.</p>" in body
    assert "<h2>Decisions</h2><ul><li>Ship on &lt;Tuesday&gt; &amp; not later</li></ul>" in body
    assert "<li><strong>Alice</strong>: Write the notes <em>(unverified)</em></li>" in body
    # Cloud: basic auth with the account's email and API token, under /wiki.
    assert all(h["authorization"].startswith("Basic ") for _m, _t, h in cloud.requests)
    assert all(t.startswith("/wiki/rest/api/content") for _m, t, _h in cloud.requests)


def test_data_center_uses_the_personal_token_as_a_bearer(datacenter):
    guild = GuildFactory()
    _confluence(guild, datacenter)
    assert delivery_run(delivery_id=_deliver(_done_job(guild)).pk) == "succeeded"
    assert len(datacenter.pages_in("ENG")) == 1
    assert {h["authorization"] for _m, _t, h in datacenter.requests} == {"Bearer pat-token"}
    assert all(t.startswith("/rest/api/content") for _m, t, _h in datacenter.requests)


def test_confluence_jump_links_are_anchors(cloud):
    guild = GuildFactory()
    _confluence(guild, cloud)
    job = _done_job(guild)
    job.summary.items = [{"section": "key_points", "text": "Ship it", "message_ids": [111, 222], "owner": None,
                          "unverified": False}]
    job.summary.save()
    delivery = _deliver(job)
    links = outbound_message(delivery).data["items"][0]["links"]
    assert len(links) == 2
    assert delivery_run(delivery_id=delivery.pk) == "succeeded"
    [page] = cloud.pages_in("ENG")
    for n, url in enumerate(links, 1):
        assert f'<a href="{url}">{n}</a>' in page["body"]


def test_a_confluence_500_after_creating_finds_the_page_by_title_on_retry(cloud):
    guild = GuildFactory()
    _confluence(guild, cloud)
    delivery = _deliver(_done_job(guild))
    cloud.faults.append(ConfluenceFault("POST", 500, after=True))

    assert _run_with_clock(delivery) == "succeeded"

    assert len(cloud.pages_in("ENG")) == 1
    assert "made by an earlier attempt" in Delivery.objects.get(pk=delivery.pk).attempts.get(number=2).response_body


def test_confluence_bad_credentials_are_permanent_and_429_is_retried(cloud):
    guild = GuildFactory()
    destination = _confluence(guild, cloud)
    cloud.faults.append(ConfluenceFault("GET", 429, headers={"Retry-After": "60"}))
    delivery = _deliver(_done_job(guild))
    outcome = delivery_attempt(delivery_id=delivery.pk)
    assert outcome.status == DeliveryStatus.RETRYING and outcome.retry_in == 60

    destination.credentials = {"email": "admin@example.com", "api_token": "wrong"}
    destination.save()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    assert Delivery.objects.get(pk=delivery.pk).response_code == 401


# --- Validation, the guard, secrets at rest, the API ----------------------------------------------------------


def test_a_base_url_on_a_private_address_is_refused_unless_private_networks_are_allowed(settings, notion):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    guild = GuildFactory()
    with pytest.raises(DestinationRefused):
        _notion(guild, notion)
    with pytest.raises(DestinationRefused):
        destination_create(guild_id=guild.id, kind="confluence", name="c", url="https://10.0.0.5/wiki",
                           config={"space_key": "ENG", "deployment": "cloud"},
                           credentials={"email": "a@b.c", "api_token": "t"})
    # Saved while allowed, then the guard comes back: the connection itself is refused, permanently.
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    _destination, database_id = _notion(guild, notion)
    delivery = _deliver(_done_job(guild))
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    assert delivery_run(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.error.startswith("destination_refused") and notion.pages_in(database_id) == []


def test_credentials_are_encrypted_at_rest(notion):
    guild = GuildFactory()
    destination, _ = _notion(guild, notion)
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM webhooks_webhookdestination WHERE id = %s", [destination.pk])
        [stored] = cursor.fetchone()
    assert notion.token not in str(stored)


def test_the_api_creates_both_kinds_validates_them_and_never_shows_credentials(client, notion, cloud):
    guild = GuildFactory()
    auth = key(guild)
    database_id = notion.add_database()
    created = send(client, "post", "/api/v1/destinations", auth, {
        "kind": "notion", "name": "Wiki", "config": {"base_url": notion.url, "database_id": database_id,
                                                     "tags_property": "Tags"},
        "credentials": {"token": notion.token},
    })
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["config"]["database_id"] == database_id.replace("-", "") and body["config"]["base_url"] == notion.url
    assert body["config"]["credentials"] == {"token": "…"} and notion.token not in json.dumps(body)
    shown = send(client, "get", f"/api/v1/destinations/{body['id']}", auth).json()
    assert notion.token not in json.dumps(shown) and "credentials" in shown["config"]

    tested = send(client, "post", f"/api/v1/destinations/{body['id']}/test", auth).json()
    assert tested["ok"] is True and tested["body"].startswith("Notion page"), tested
    [page] = notion.pages_in(database_id)
    assert _plain(page["properties"]["Name"]["title"]).startswith("Test event")

    conf = send(client, "post", "/api/v1/destinations", auth, {
        "kind": "confluence", "name": "Space", "config": {"base_url": cloud.url, "space_key": "ENG",
                                                          "deployment": "cloud"},
        "credentials": {"email": "admin@example.com", "api_token": "atl-token"},
    })
    assert conf.status_code == 201 and "atl-token" not in conf.content.decode()
    tested = send(client, "post", f"/api/v1/destinations/{conf.json()['id']}/test", auth).json()
    assert tested["ok"] is True and len(cloud.pages_in("ENG")) == 1

    missing = send(client, "post", "/api/v1/destinations", auth, {
        "kind": "confluence", "name": "DC", "config": {"base_url": cloud.url, "space_key": "ENG",
                                                      "deployment": "datacenter"},
        "credentials": {"email": "admin@example.com", "api_token": "atl-token"},
    })
    assert missing.status_code == 400 and "personal_token" in missing.json()["error"]["message"]
    no_db = send(client, "post", "/api/v1/destinations", auth, {
        "kind": "notion", "name": "Wiki", "config": {"base_url": notion.url}, "credentials": {"token": "x"},
    })
    assert no_db.status_code == 400 and "database_id" in no_db.json()["error"]["message"]
    stray = send(client, "post", "/api/v1/destinations", auth, {
        "kind": "webhook", "name": "hook", "url": notion.url, "credentials": {"token": "x"},
    })
    assert stray.status_code == 400

    # PATCH merges config (one property renamed, the database kept) and leaves credentials alone.
    patched = send(client, "patch", f"/api/v1/destinations/{body['id']}", auth, {"config": {"tags_property": "Labels"}})
    assert patched.status_code == 200 and patched.json()["config"]["tags_property"] == "Labels"
    assert patched.json()["config"]["database_id"] == database_id.replace("-", "")


# --- Through the worker -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_completed_summary_reaches_notion_and_confluence_once_each_through_the_worker(world):  # noqa: F811
    _fake, guild, channel = world
    with FakeNotion() as notion_fake, FakeConfluence(deployment="datacenter") as confluence_fake:
        _destination, database_id = _notion(guild, notion_fake)
        _confluence(guild, confluence_fake)
        job = SummaryJob.objects.create(guild=guild, channel_id=channel.id, source="api", window_kind="count",
                                        message_limit=20, delivery_mode="none")
        assert run_summary_job(str(job.pk)) == "done"
        assert sorted(run_queued()) == ["succeeded", "succeeded"]
        assert run_queued() == []
        [page] = notion_fake.pages_in(database_id)
        [wiki_page] = confluence_fake.pages_in("ENG")
        blocks = notion_fake.children[page["id"]]
    linked = [p["text"]["link"]["url"] for b in blocks for p in b[b["type"]]["rich_text"] if p["text"].get("link")]
    assert linked and all(url.startswith(f"https://discord.com/channels/{guild.id}/{channel.id}/") for url in linked)
    assert all(f'<a href="{url}">' in wiki_page["body"] for url in linked)
    assert Delivery.objects.filter(job=job, status=DeliveryStatus.SUCCEEDED).count() == 2
