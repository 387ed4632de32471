"""Dashboard forms for API keys: they parse; webhooks.services.keys decides."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from webhooks.models import ApiScope, DeliveryEvent


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="What uses it, e.g. notion-sync")
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, label="Scopes", required=True
    )
    expires_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, label="Expires after (days)", help_text="Empty = never"
    )

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_days")
        return timezone.now() + timedelta(days=days) if days else None


class DestinationForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name")
    kind = forms.ChoiceField(label="Kind")
    url = forms.CharField(
        max_length=2000, required=False, label="URL", help_text="HTTPS; for a signed webhook or a Discord webhook URL"
    )
    discord_channel_id = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Discord channel", help_text="For the Discord channel kind"
    )
    events = forms.MultipleChoiceField(
        choices=DeliveryEvent.choices, widget=forms.CheckboxSelectMultiple, label="Events", required=True
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], channels: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = kinds
        channel = self.fields["discord_channel_id"]
        assert isinstance(channel, forms.TypedChoiceField)
        channel.choices = [("", "—"), *((str(pk), f"#{name}") for pk, name in channels)]

    def create_arguments(self) -> dict[str, Any]:
        """The keyword arguments of destination_create (after is_valid())."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "url": data["url"],
            "discord_channel_id": data["discord_channel_id"],
            "events": data["events"],
        }
