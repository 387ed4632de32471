"""One page of a stored summary, as the pager buttons show it (a sync unit of work for the bot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guilds.models import Channel
from summaries.models import Summary, Visibility
from summaries.services.discord_results import render_for_discord, summary_title
from summarybot.errors import NotFound, PermissionDenied


@dataclass(frozen=True, slots=True)
class SummaryPage:
    summary_id: int
    page: int  # 0-based, like the worker's page buttons
    pages: int
    embeds: list[dict[str, Any]]


def summary_page(*, summary_id: int, page: int, user_id: int, guild_id: int | None) -> SummaryPage:
    """Render page `page` of a summary for `user_id`; NotFound/PermissionDenied explain a refusal.

    Only the requester may page a private summary; anyone who sees a public (or scheduled) one may.
    """
    summary = Summary.objects.select_related("job").filter(pk=summary_id).first()
    if summary is None or (guild_id is not None and summary.guild_id != guild_id):
        raise NotFound("This summary is no longer stored (old summaries are removed after a while).")
    job = summary.job
    if (
        job is not None
        and job.visibility == Visibility.PRIVATE
        and job.requested_by_user_id is not None
        and job.requested_by_user_id != user_id
    ):
        raise PermissionDenied("Only the member who asked for this summary can turn its pages.")
    channel_name = Channel.objects.filter(pk=summary.channel_id).values_list("name", flat=True).first()
    rendering = render_for_discord(summary, title=summary_title(summary, channel_name))
    count = len(rendering.pages)
    page = max(0, min(page, count - 1))
    embeds = [dict(embed) for embed in rendering.pages[page]]
    if summary.stale and embeds:
        # Say so on every page: the points may no longer match what the channel shows.
        footer = dict(embeds[-1].get("footer") or {})
        footer["text"] = (
            f"⚠ {summary.stale_reason or 'Sources changed'} since this summary was made · {footer.get('text', '')}"[
                :2048
            ]
        )
        embeds[-1] = {**embeds[-1], "footer": footer}
    return SummaryPage(summary_id=summary.pk, page=page, pages=count, embeds=embeds)
