"""Option choices and autocompletes shared by the cogs (formats, languages, time zones)."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from discord import app_commands

from guilds.models import SummaryFormat

FORMAT_CHOICES: list[app_commands.Choice[str]] = [
    app_commands.Choice(name=label, value=value) for value, label in SummaryFormat.choices
]

# The languages offered first; any code the model understands ("pt-BR", "fa") can still be typed.
LANGUAGES: dict[str, str] = {
    "auto": "Same as the conversation",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "pt-BR": "Portuguese (Brazil)",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ru": "Russian",
    "ar": "Arabic",
    "he": "Hebrew",
    "hi": "Hindi",
    "ja": "Japanese",
    "ko": "Korean",
    "zh": "Chinese",
}
_MAX_CHOICES = 25  # Discord's limit for an autocomplete answer


def language_choices(current: str) -> list[app_commands.Choice[str]]:
    """Languages whose code or name starts with (then contains) what the member typed."""
    needle = current.strip().lower()
    first, then = [], []
    for code, name in LANGUAGES.items():
        label = f"{name} ({code})"
        if not needle or code.lower().startswith(needle) or name.lower().startswith(needle):
            first.append(app_commands.Choice(name=label, value=code))
        elif needle in label.lower():
            then.append(app_commands.Choice(name=label, value=code))
    choices = first + then
    if needle and not any(c.value.lower() == needle for c in choices) and len(needle) <= 16:
        # Let a code we do not list through; the service validates it.
        choices.append(app_commands.Choice(name=current.strip(), value=current.strip()))
    return choices[:_MAX_CHOICES]


async def language_autocomplete(interaction: object, current: str) -> list[app_commands.Choice[str]]:
    return language_choices(current)


# Offered before anything is typed; every other IANA name is found by typing part of it.
_COMMON_TIMEZONES = (
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Moscow", "America/New_York",
    "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Shanghai",
    "Asia/Tokyo", "Australia/Sydney",
)


@lru_cache(maxsize=1)
def _timezone_names() -> tuple[str, ...]:
    # Region/City names and UTC; the legacy aliases ("EST5EDT", "Cuba") only crowd the list.
    return tuple(sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC"))


def timezone_choices(current: str) -> list[app_commands.Choice[str]]:
    """IANA time zones whose name or city starts with (then contains) what was typed ("new york" finds
    America/New_York)."""
    needle = current.strip().lower().replace(" ", "_")
    if not needle:
        return [app_commands.Choice(name=name, value=name) for name in _COMMON_TIMEZONES]
    first, then = [], []
    for name in _timezone_names():
        lowered = name.lower()
        if lowered.startswith(needle) or lowered.rsplit("/", 1)[-1].startswith(needle):
            first.append(name)
        elif needle in lowered:
            then.append(name)
    return [app_commands.Choice(name=name, value=name) for name in (first + then)[:_MAX_CHOICES]]


async def timezone_autocomplete(interaction: object, current: str) -> list[app_commands.Choice[str]]:
    return timezone_choices(current)
