"""Operators' admin: every model is listed, secrets are never shown, and actions go through services."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse
from django_q.models import OrmQ

from summaries.models import JobStatus, SummaryJob
from tests.factories import GuildFactory, SummaryJobFactory, UserFactory, WebhookDestinationFactory
from webhooks.models import ApiKey, WebhookDestination
from webhooks.services import api_key_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    client.force_login(UserFactory())
    return client


def run_action(client, model: type, action: str, pks: list[object]):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": action, "_selected_action": [str(pk) for pk in pks]}, follow=True)


def test_every_model_has_a_changelist_that_renders(operator):
    GuildFactory(llm_api_key="sk-never-shown")
    WebhookDestinationFactory(secret="whsec-never-shown")
    for model in admin.site._registry:
        if model._meta.app_label not in {"guilds", "summaries", "webhooks"}:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = operator.get(url)
        assert response.status_code == 200, url
        assert b"never-shown" not in response.content


def test_change_pages_show_that_a_secret_is_set_not_the_secret(operator):
    destination = WebhookDestinationFactory(secret="whsec-hidden-value", headers={"X-Token": "hdr-hidden"})
    guild = GuildFactory(llm_api_key="sk-hidden-guild-key")
    for obj in (destination, guild):
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
        body = operator.get(url).content
        for secret in (b"whsec-hidden-value", b"hdr-hidden", b"sk-hidden-guild-key"):
            assert secret not in body


def test_retry_action_creates_a_linked_queued_job_and_enqueues_it(operator, django_capture_on_commit_callbacks):
    failed = SummaryJobFactory(status=JobStatus.FAILED, error_code="llm_unavailable")
    done = SummaryJobFactory(status=JobStatus.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(operator, SummaryJob, "retry", [failed.pk, done.pk])
    assert response.status_code == 200
    retry = SummaryJob.objects.get(parent=failed)
    assert retry.status == JobStatus.QUEUED
    assert (retry.channel_id, retry.window_kind, retry.message_limit) == (failed.channel_id, "count", 100)
    assert not SummaryJob.objects.filter(parent=done).exists()
    assert b"Only failed, partial or cancelled jobs can be retried" in response.content
    queued = [task for task in OrmQ.objects.all() if task.func() == "summaries.tasks.run_summary_job"]
    assert [task.args() for task in queued] == [(str(retry.pk),)]


def test_revoke_action(operator):
    issued = api_key_issue(guild=GuildFactory(), name="k", scopes=["summaries:read"])
    run_action(operator, ApiKey, "revoke", [issued.api_key.pk])
    issued.api_key.refresh_from_db()
    assert issued.api_key.revoked_at is not None and not issued.api_key.is_active


def test_disable_and_enable_destination_actions(operator):
    destination = WebhookDestinationFactory(consecutive_failures=3)
    run_action(operator, WebhookDestination, "disable", [destination.pk])
    destination.refresh_from_db()
    assert destination.enabled is False and "admin" in destination.disabled_reason
    run_action(operator, WebhookDestination, "enable", [destination.pk])
    destination.refresh_from_db()
    assert destination.enabled is True and destination.consecutive_failures == 0


def test_schedule_pause_and_resume_actions_go_through_the_services(operator):
    from django_q.models import Schedule as QSchedule

    from summaries.models import Schedule
    from summaries.services.schedules import schedule_create
    from tests.factories import ChannelFactory

    guild = GuildFactory()
    schedule = schedule_create(guild_id=guild.id, name="daily", frequency="daily", time_of_day="09:00",
                               channel_ids=[ChannelFactory(guild=guild).id])
    response = operator.get(reverse("admin:summaries_schedule_change", args=[schedule.pk]))
    assert response.status_code == 200

    assert b"Paused 1 schedule" in run_action(operator, Schedule, "pause", [schedule.pk]).content
    twins = QSchedule.objects.filter(name__startswith="summarybot-schedule-")
    assert not Schedule.objects.get(pk=schedule.pk).enabled and not twins.exists()
    assert b"Resumed 1 schedule" in run_action(operator, Schedule, "resume", [schedule.pk]).content
    assert Schedule.objects.get(pk=schedule.pk).enabled and twins.count() == 1


def test_the_audit_log_is_read_only_for_operators(operator):
    from guilds.audit import audit_record
    from guilds.models import AuditEntry

    guild = GuildFactory()
    entry = audit_record(action="guild.settings.update", guild_id=guild.id, changes={"redact_pii": [True, False]})
    changelist = reverse("admin:guilds_auditentry_changelist")
    listed = operator.get(changelist + "?actor_kind__exact=system")
    assert listed.status_code == 200 and b"guild.settings.update" in listed.content
    assert operator.get(reverse("admin:guilds_auditentry_add")).status_code == 403
    assert operator.get(reverse("admin:guilds_auditentry_delete", args=[entry.pk])).status_code == 403
    detail = operator.get(reverse("admin:guilds_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200 and b'name="action"' not in detail.content  # shown, not editable
    operator.post(reverse("admin:guilds_auditentry_change", args=[entry.pk]), {"action": "forged"})
    assert AuditEntry.objects.get(pk=entry.pk).action == "guild.settings.update"


def test_an_admin_action_is_audit_logged_as_the_operator(operator):
    from guilds.models import ActorKind, AuditEntry

    issued = api_key_issue(guild=GuildFactory(), name="old", scopes=["usage:read"])
    run_action(operator, ApiKey, "revoke", [issued.api_key.pk])
    entry = AuditEntry.objects.get(action="apikey.revoke")
    username = entry.actor_name
    assert (entry.actor_kind, entry.actor_id) == (ActorKind.OPERATOR, f"admin:{username}")
    assert username.startswith("user")  # the staff account of the fixture (UserFactory)
