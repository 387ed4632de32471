"""Summaries whose cited messages were edited or deleted: marked stale, excerpts of deleted ones removed.

A stored summary keeps the words of the messages it cites. When a member deletes a message, what it
said must not live on in our database, so the points that quoted only that message lose their text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from summaries.engine.render import render_markdown
from summaries.models import Summary, SummaryCitation
from summaries.selectors import summary_result, summary_title

logger = logging.getLogger(__name__)

REMOVED_TEXT = "[removed: source message deleted]"
REASON_DELETED = "A cited message was deleted"
REASON_EDITED = "A cited message was edited"


def _scrub_items(items: list[dict[str, Any]], deleted_ids: set[int]) -> tuple[list[dict[str, Any]], int]:
    """Drop deleted ids from each point; a point left with no citation loses its text. Returns (items, removed)."""
    removed = 0
    scrubbed = []
    for item in items:
        cited = [int(i) for i in item.get("message_ids", ())]
        kept = [i for i in cited if i not in deleted_ids]
        if len(kept) == len(cited):
            scrubbed.append(item)
            continue
        item = {**item, "message_ids": kept}
        if not kept:
            # Its only sources are gone: the point (and the owner attributed to it) was their excerpt.
            item.update(text=REMOVED_TEXT, owner=None, removed=True)
            removed += 1
        scrubbed.append(item)
    return scrubbed, removed


def summaries_mark_stale(*, message_ids: Iterable[int], deleted: bool) -> int:
    """Mark every summary citing one of `message_ids` stale; on deletion also scrub their excerpts.

    Returns how many summaries changed. Safe to repeat: a second delivery of the same event finds
    nothing more to scrub.
    """
    ids = {int(i) for i in message_ids}
    if not ids:
        return 0
    summary_ids = set(SummaryCitation.objects.filter(message_id__in=ids).values_list("summary_id", flat=True))
    if not summary_ids:
        return 0
    reason = REASON_DELETED if deleted else REASON_EDITED
    changed = 0
    with transaction.atomic():
        # Locked rows: two bulk deletions touching one summary must not overwrite each other's scrub.
        for summary in Summary.objects.select_for_update().filter(pk__in=summary_ids).order_by("pk"):
            fields = ["stale", "stale_reason", "updated_at"]
            removed = 0
            if deleted:
                summary.items, removed = _scrub_items(list(summary.items or []), ids)
                fields.append("items")
                if removed:
                    # The Markdown copy quotes the same points: rendered again from the scrubbed items.
                    summary.markdown = render_markdown(
                        summary_result(summary=summary), title=summary_title(summary.markdown)
                    )
                    fields.append("markdown")
            if summary.stale and summary.stale_reason == REASON_DELETED and not deleted and not removed:
                continue  # an edit after a deletion: the stronger reason stays
            summary.stale = True
            summary.stale_reason = REASON_DELETED if deleted or summary.stale_reason == REASON_DELETED else reason
            summary.save(update_fields=fields)
            changed += 1
            logger.info(
                "summary marked stale",
                extra={"summary_id": summary.pk, "deleted": deleted, "points_removed": removed},
            )
        if deleted:
            # The deleted messages are no longer cited; their citation rows would only point at nothing.
            SummaryCitation.objects.filter(summary_id__in=summary_ids, message_id__in=ids).delete()
    return changed
