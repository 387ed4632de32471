"""Dashboard pages of a server's own configuration, the server picker and the login page (HTML).

Thin: parse (a form), call one service or selector, render. guilds.dashboard.guild_page decides who
may see which server.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from guilds.access import guild_picker, invite_url, user_guilds_forget
from guilds.dashboard import discord_identity, discord_unavailable, guild_page, login_again
from guilds.forms import ChannelSwitchForm, GuildSettingsForm
from guilds.models import Guild
from guilds.selectors import dashboard_channels, log_channel_choices
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
