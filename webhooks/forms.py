"""Dashboard forms for API keys: they parse; webhooks.services.keys decides."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from webhooks.models import ApiScope


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
