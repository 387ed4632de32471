"""Dashboard pages of a server's integrations (HTML): its API keys. The guild comes from
guilds.dashboard.guild_page; the services are the ones the `apikey` command uses."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from guilds.dashboard import guild_page
from guilds.models import Guild
from summarybot.errors import InvalidInput, NotFound
from webhooks.forms import ApiKeyForm
from webhooks.selectors import api_key_list, api_key_of_guild
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
