"""Dashboard pages of a server's own configuration, the server picker and the login page (HTML).

Thin: parse (a form), call one service or selector, render. guilds.dashboard.guild_page decides who
may see which server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from guilds.access import guild_picker, invite_url, user_guilds_forget
from guilds.audit import ACTIONS, TARGET_TYPES
from guilds.dashboard import discord_identity, discord_unavailable, guild_page, login_again
from guilds.forms import AuditFilterForm, ChannelSwitchForm, GuildSettingsForm
from guilds.models import ActorKind, AuditEntry, Guild
from guilds.selectors import audit_entries, dashboard_channels, log_channel_choices
from guilds.services import (
    LockedChannelNeedsConfirmation,
    channel_summaries_set,
    dev_login_user,
    guild_config_update,
)
from summarybot.discord.errors import DiscordAuthFailed, DiscordError
from summarybot.discord_login.session import identity_remember_dev
from summarybot.discord_login.views import oauth2_login
from summarybot.errors import InvalidInput, NotFound


def _login_configured() -> bool:
    return bool(settings.DISCORD_CLIENT_ID and settings.DISCORD_CLIENT_SECRET)


def login_page(request: HttpRequest) -> HttpResponse:
    if discord_identity(request) is not None:
        return redirect("dashboard-home")
    configured = _login_configured()
    return render(
        request,
        "dashboard/login.html",
        {"configured": configured, "dev_login": settings.DASHBOARD_DEV_LOGIN, "next": request.GET.get("next", "")},
        status=200 if configured or settings.DASHBOARD_DEV_LOGIN else 503,
    )


@require_POST
def dev_login(request: HttpRequest) -> HttpResponse:
    """The development login: no Discord, every server in the database. Exists only with DASHBOARD_DEV_LOGIN."""
    if not settings.DASHBOARD_DEV_LOGIN:
        raise Http404("No development login here.")
    login(request, dev_login_user(), backend="django.contrib.auth.backends.ModelBackend")
    identity_remember_dev(request)
    return redirect("dashboard-home")


def discord_login(request: HttpRequest) -> HttpResponse:
    """allauth's Discord login, or the "login unavailable" page when no OAuth app is configured."""
    if not _login_configured():
        return render(request, "dashboard/login.html", {"configured": False}, status=503)
    return oauth2_login(request)


def home(request: HttpRequest) -> HttpResponse:
    """The server picker: servers the user may manage, with the bot or an invite link."""
    identity = discord_identity(request)
    if identity is None:
        return redirect("dashboard-login")
    if request.GET.get("refresh") and not identity.dev:
        user_guilds_forget(user_id=identity.user_id)
    try:
        entries = guild_picker(identity=identity)
    except DiscordAuthFailed:
        return login_again(request)
    except DiscordError as exc:
        return discord_unavailable(request, exc)
    return render(request, "guilds/picker.html", {"entries": entries, "invite_url": invite_url()})


@require_http_methods(["GET", "POST"])
@guild_page
def guild_settings(request: HttpRequest, guild: Guild) -> HttpResponse:
    log_channels = log_channel_choices(guild_id=guild.id)
    status = 200
    if request.method == "POST":
        form = GuildSettingsForm(request.POST, log_channels=log_channels)
        if form.is_valid():
            try:
                guild = guild_config_update(guild_id=guild.id, changes=form.changes())
            except InvalidInput as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("dashboard-settings", guild_id=guild.id)
        status = 400
    else:
        form = GuildSettingsForm(initial=GuildSettingsForm.initial_for(guild), log_channels=log_channels)
    return render(
        request,
        "guilds/settings.html",
        {"guild": guild, "form": form, "openai_key_set": bool(guild.llm_api_key), "tab": "settings"},
        status=status,
    )


def _form_errors(form: GuildSettingsForm, exc: InvalidInput) -> None:
    """The service's refusal, under the fields it names (else at the top of the form)."""
    named = {"llm_api_key": "openai_api_key"}
    fields = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for name, msgs in fields.items():
        field = named.get(name, name)
        if field in form.fields and isinstance(msgs, list):
            form.add_error(field, [str(m) for m in msgs])
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@require_http_methods(["GET"])
@guild_page
def guild_channels(request: HttpRequest, guild: Guild) -> HttpResponse:
    return render(
        request,
        "guilds/channels.html",
        {"guild": guild, "channels": dashboard_channels(guild_id=guild.id), "tab": "channels"},
    )


@require_POST
@guild_page
def channel_switch(request: HttpRequest, guild: Guild, channel_id: int) -> HttpResponse:
    form = ChannelSwitchForm(request.POST)
    back = reverse("dashboard-channels", kwargs={"guild_id": guild.id})
    if not form.is_valid():
        messages.error(request, "Choose on or off.")
        return redirect(back)
    identity = request.discord_identity  # type: ignore[attr-defined]
    try:
        channel = channel_summaries_set(
            guild_id=guild.id,
            channel_id=channel_id,
            on=form.cleaned_data["on"],
            confirm_locked=form.cleaned_data["confirm"],
            by_user_id=identity.user_id,
        )
    except LockedChannelNeedsConfirmation as exc:
        context: dict[str, Any] = {"guild": guild, "channel_id": channel_id, "message": exc.message, "tab": "channels"}
        return render(request, "guilds/channel_confirm.html", context)
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect(back)
    state = "on" if channel.summaries_allowed else "off"
    messages.success(request, f"Summaries in #{channel.name} are now {state}.")
    return redirect(back)


AUDIT_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class ChangeRow:
    field: str
    before: str
    after: str
    word: str  # a write-only field's "set", "changed" or "cleared" (before and after are never stored)


def _shown(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_shown(item)}" for key, item in value.items())
    return str(value)


@dataclass(frozen=True, slots=True)
class AuditRow:
    entry: AuditEntry
    who: str
    target: str
    changes: list[ChangeRow]


def _who(entry: AuditEntry) -> str:
    if entry.actor_kind == ActorKind.SYSTEM:
        return "Summary Bot"
    # A forgotten member's name is blanked (gdpr_forget): their id still says who it was.
    return entry.actor_name or entry.actor_id or "(unknown)"


def _audit_row(entry: AuditEntry) -> AuditRow:
    kind = TARGET_TYPES.get(entry.target_type, entry.target_type)
    target = " ".join(part for part in (kind, entry.target_label) if part)
    return AuditRow(entry=entry, who=_who(entry), target=target, changes=_change_rows(entry.changes))


def _change_rows(changes: dict[str, Any]) -> list[ChangeRow]:
    rows = []
    for field, change in changes.items():
        label = field.replace("_", " ")
        if isinstance(change, list) and len(change) == 2:
            rows.append(ChangeRow(field=label, before=_shown(change[0]), after=_shown(change[1]), word=""))
        else:
            rows.append(ChangeRow(field=label, before="", after="", word=str(change)))
    return rows


@require_http_methods(["GET"])
@guild_page
def audit_log(request: HttpRequest, guild: Guild) -> HttpResponse:
    """Who changed what in this server, newest first, filtered by the GET form."""
    form = AuditFilterForm(request.GET)
    page = None
    rows: list[AuditRow] = []
    if form.is_valid():
        filters = {name: value for name, value in form.cleaned_data.items() if value}
        page = Paginator(audit_entries(guild_id=guild.id, **filters), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [_audit_row(entry) for entry in page.object_list]
    return render(
        request,
        "guilds/audit.html",
        {
            "guild": guild,
            "form": form,
            "page": page,
            "rows": rows,
            "actions": ACTIONS,
            "tab": "audit",
        },
        status=200 if form.is_valid() else 400,
    )
