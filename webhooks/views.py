"""Dashboard pages of a server's integrations (HTML): API keys, destinations and their deliveries. The guild
comes from guilds.dashboard.guild_page; the services are the ones the `apikey` command and the API use."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from guilds.dashboard import guild_page
from guilds.models import Guild
from guilds.selectors import log_channel_choices
from summarybot.errors import Conflict, InvalidInput, NotFound, SummaryBotError
from webhooks.forms import ApiKeyForm, DestinationForm
from webhooks.selectors import (
    api_key_list,
    api_key_of_guild,
    delivery_api_status,
    delivery_get,
    delivery_list,
    destination_get,
    destination_list,
    mask_url,
)
from webhooks.services.deliveries import delivery_replay
from webhooks.services.destinations import (
    destination_create,
    destination_disable,
    destination_enable,
    destination_kind_choices,
    destination_test,
)
from webhooks.services.keys import api_key_issue, api_key_revoke


@require_http_methods(["GET", "POST"])
@guild_page
def api_keys(request: HttpRequest, guild: Guild) -> HttpResponse:
    issued = None
    status = 200
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                issued = api_key_issue(
                    guild=guild,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    created_by=request.user,
                    created_by_discord_id=request.discord_identity.user_id,  # type: ignore[attr-defined]
                    expires_at=form.expires_at(),
                )
            except InvalidInput as exc:
                form.add_error(None, exc.message)
        if issued is None:
            status = 400
        else:
            form = ApiKeyForm()
            status = 201
    else:
        form = ApiKeyForm()
    response = render(
        request,
        "webhooks/api_keys.html",
        {"guild": guild, "form": form, "keys": api_key_list(guild_id=guild.id), "issued": issued, "tab": "api-keys"},
        status=status,
    )
    # The page with a new key on it is shown once: never from a cache or the browser's history.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@guild_page
def api_key_revoke_view(request: HttpRequest, guild: Guild, prefix: str) -> HttpResponse:
    try:
        api_key = api_key_of_guild(guild_id=guild.id, prefix=prefix)
    except NotFound as exc:
        raise Http404(exc.message) from None
    if api_key_revoke(api_key=api_key):
        messages.success(request, f"API key {api_key.prefix}… revoked.")
    return redirect("dashboard-api-keys", guild_id=guild.id)


RECENT_DELIVERIES = 25


def _destination_form(guild: Guild, data: Any = None) -> DestinationForm:
    return DestinationForm(
        data, kinds=destination_kind_choices(), channels=log_channel_choices(guild_id=guild.id)
    )


@require_http_methods(["GET", "POST"])
@guild_page
def destinations(request: HttpRequest, guild: Guild) -> HttpResponse:
    created = None
    status = 200
    form = _destination_form(guild, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                created = destination_create(guild_id=guild.id, **form.create_arguments())
            except SummaryBotError as exc:
                # A refusal of what was asked (a bad value, a URL the outbound guard refuses): the form says why.
                if exc.http_status >= 500:
                    raise
                form.add_error(None, exc.message)
        status = 201 if created is not None else 400
        if created is not None:
            form = _destination_form(guild)
    deliveries = (
        delivery_list(guild_id=guild.id).select_related("destination").order_by("-created_at", "-pk")[:RECENT_DELIVERIES]
    )
    response = render(
        request,
        "webhooks/destinations.html",
        {
            "guild": guild,
            "form": form,
            "created": created,
            "destinations": [(d, mask_url(d.url)) for d in destination_list(guild_id=guild.id)],
            "deliveries": [(d, delivery_api_status(d)) for d in deliveries],
            "tab": "destinations",
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"  # a new destination's secret is on it once
    return response


@require_POST
@guild_page
def destination_action(request: HttpRequest, guild: Guild, destination_id: int, action: str) -> HttpResponse:
    try:
        destination = destination_get(guild_id=guild.id, destination_id=destination_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    if action == "test":
        result = destination_test(destination=destination)
        if result.ok:
            messages.success(request, f"Test sent to {destination.name}: {result.status_code}, {result.latency_ms} ms.")
        else:
            messages.error(request, f"Test to {destination.name} failed: {result.error or result.status_code}.")
    elif action == "enable":
        destination_enable(destination=destination)
        messages.success(request, f"{destination.name} enabled.")
    elif action == "disable":
        destination_disable(destination=destination, reason="Disabled by an admin.")
        messages.success(request, f"{destination.name} disabled.")
    else:
        raise Http404("No such action.")
    return redirect("dashboard-destinations", guild_id=guild.id)


@require_POST
@guild_page
def delivery_replay_view(request: HttpRequest, guild: Guild, delivery_id: int) -> HttpResponse:
    try:
        delivery = delivery_get(guild_id=guild.id, delivery_id=delivery_id)
        delivery_replay(delivery=delivery)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Delivery {delivery_id} queued again.")
    return redirect("dashboard-destinations", guild_id=guild.id)
