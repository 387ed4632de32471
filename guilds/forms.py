"""Dashboard forms: they parse and type the input; guilds.services decides what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms

from guilds.audit import TARGET_TYPES
from guilds.models import ActorKind, Guild, SummaryFormat

# The form fields that map one-to-one onto guild settings (guilds.services.GUILD_CONFIG_FIELDS).
SETTINGS_FIELDS = (
    "default_format",
    "default_language",
    "redact_pii",
    "opt_out_marker",
    "reaction_trigger_emoji",
    "member_cooldown_seconds",
    "monthly_token_budget",
    "monthly_cost_budget_usd",
    "log_channel_id",
)


class GuildSettingsForm(forms.Form):
    default_format = forms.ChoiceField(choices=SummaryFormat.choices, label="Default format")
    default_language = forms.CharField(
        max_length=16, label="Default language", help_text="auto (the conversation's), or a code like en or pt-BR"
    )
    redact_pii = forms.BooleanField(
        required=False, label="Redact personal data", help_text="Emails, phone numbers, tokens… before the LLM"
    )
    opt_out_marker = forms.CharField(
        max_length=32, required=False, label="Opt-out marker", help_text="Messages starting with it are never summarized"
    )
    reaction_trigger_emoji = forms.CharField(
        max_length=64, required=False, label="Reaction emoji", help_text="Reacting with it summarizes; empty = off"
    )
    member_cooldown_seconds = forms.IntegerField(
        min_value=0, max_value=86400, label="Cooldown (seconds)", help_text="Between two summaries of one member"
    )
    monthly_token_budget = forms.IntegerField(
        min_value=0, required=False, label="Monthly token budget", help_text="Empty = unlimited"
    )
    monthly_cost_budget_usd = forms.DecimalField(
        min_value=0, max_digits=10, decimal_places=2, required=False, label="Monthly budget (USD)",
        help_text="Empty = unlimited",
    )
    log_channel_id = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Log channel",
        help_text="Where the bot tells you about problems (a paused schedule)",
    )
    openai_api_key = forms.CharField(
        required=False, max_length=512, strip=True, label="Own OpenAI key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only; leave empty to keep the current one",
    )
    clear_openai_key = forms.BooleanField(required=False, label="Remove the stored OpenAI key")

    def __init__(self, *args: Any, log_channels: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["log_channel_id"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "— none —"), *((str(pk), f"#{name}") for pk, name in log_channels)]

    @classmethod
    def initial_for(cls, guild: Guild) -> dict[str, Any]:
        return {name: getattr(guild, name) for name in SETTINGS_FIELDS}

    def changes(self) -> dict[str, Any]:
        """The settings to pass to guild_config_update (only after is_valid())."""
        data = self.cleaned_data
        changes = {name: data[name] for name in SETTINGS_FIELDS}
        if data.get("clear_openai_key"):
            changes["llm_api_key"] = ""
        elif data.get("openai_api_key"):
            changes["llm_api_key"] = data["openai_api_key"]
        return changes


class ChannelSwitchForm(forms.Form):
    on = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1")
    confirm = forms.BooleanField(required=False)


class AuditFilterForm(forms.Form):
    """The audit page's filters (GET): every field optional, the dates are UTC days, both included."""

    actor_kind = forms.ChoiceField(choices=[("", "Anyone"), *ActorKind.choices], required=False, label="Who")
    action = forms.CharField(
        max_length=64, required=False, label="Action starts with", help_text="e.g. schedule. or channel.enable"
    )
    target_type = forms.ChoiceField(
        choices=[("", "Anything"), *TARGET_TYPES.items()], required=False, label="What it changed"
    )
    since = forms.DateField(required=False, label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="Until (UTC)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].widget.attrs["list"] = "audit-actions"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data
