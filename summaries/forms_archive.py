"""The archive's search and filters, read from the query string (a GET form: a search is a link to share)."""

from __future__ import annotations

from django import forms

from guilds.models import SummaryFormat
from summaries.selectors_archive import ArchiveFilters

MAX_QUERY = 200


class ArchiveFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=MAX_QUERY, strip=True)
    channel = forms.TypedChoiceField(label="Channel", required=False, coerce=int, empty_value=None)
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(label="Format", required=False, choices=[("", "Any format"), *SummaryFormat.choices])

    def __init__(self, *args: object, channels: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["channel"].choices = [("", "Any channel"), *((pk, f"#{name}") for pk, name in channels)]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self) -> ArchiveFilters:
        """What to search for; call after is_valid(). A field that did not validate is left out (and shown)."""
        data = self.cleaned_data
        return ArchiveFilters(
            query=data.get("q") or "",
            channel_id=data.get("channel"),
            since=data.get("since"),
            until=data.get("until"),
            format=data.get("format") or "",
        )
