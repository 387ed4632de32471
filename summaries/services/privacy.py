"""A member's data: what we store about them (`member_export`) and forgetting it (`member_forget`).

Where a member appears:
- summaries citing their messages (found through SummaryCitation.author_id), whose markdown and items quote
  or paraphrase them and name them, and the digests assembled from those summaries;
- cached chunk summaries of their guilds' conversations (summaries/chunk_cache.py);
- jobs and digests they asked for (requested_by_user_id), their catch-up positions, their activity counts,
  their opt-outs; delivery attempts whose logged answer may echo a summary.

Forgetting a summary that cites them empties it instead of editing it: an item's text is the model's
paraphrase and can name them anywhere (also in points citing others' messages, "Bob agreed with Dana"), so
no rule can redact just them with certainty. The row stays, marked stale with the reason, so the API, the
usage counters and the jobs that point at it keep working; its content, items and citations are gone.
Opt-outs stay: they are what keeps the member out of every future summary.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.db import transaction

from guilds.activity import activity_forget_member
from guilds.audit import audit_forget_actor_name, audit_record
from guilds.models import ChannelActivity, Guild, MemberOptOut
from summaries.chunk_cache import chunk_cache_forget_guild
from summaries.models import CatchUp, Digest, DigestKind, Summary, SummaryCitation, SummaryJob
from summarybot.errors import NotFound
from webhooks.models import DeliveryAttempt

logger = logging.getLogger(__name__)

FORGOTTEN_MARKDOWN = "_This summary was removed because a member it cited asked to be forgotten._"
FORGOTTEN_REASON = "A member whose messages it cited asked to be forgotten"


def _guild_or_all(guild_id: int | None) -> list[int]:
    if guild_id is None:
        return list(Guild.objects.values_list("id", flat=True).order_by("id"))
    if not Guild.objects.filter(pk=guild_id).exists():
        raise NotFound(f"No guild {guild_id} is known here.")
    return [guild_id]


def member_forget(*, user_id: int, guild_id: int | None = None) -> dict[str, int]:
    """Remove the member's content and traces (in one guild, or everywhere); returns what was removed."""
    guild_ids = _guild_or_all(guild_id)
    in_scope = {"guild_id__in": guild_ids}
    removed: Counter[str] = Counter()
    with transaction.atomic():
        summary_ids = list(
            SummaryCitation.objects.filter(author_id=user_id, summary__guild_id__in=guild_ids)
            .values_list("summary_id", flat=True).distinct()
        )
        job_ids = list(Summary.objects.filter(pk__in=summary_ids).exclude(job=None).values_list("job_id", flat=True))
        removed["summaries emptied"] = Summary.objects.filter(pk__in=summary_ids).update(
            markdown=FORGOTTEN_MARKDOWN, items=[], redactions={}, stale=True, stale_reason=FORGOTTEN_REASON
        )
        removed["citations"], _ = SummaryCitation.objects.filter(summary_id__in=summary_ids).delete()
        removed["digests emptied"] = (
            Digest.objects.filter(jobs__in=job_ids).exclude(markdown="").distinct()
            .update(markdown=FORGOTTEN_MARKDOWN)
        ) if job_ids else 0
        # Their own catch-ups were written for them alone: emptied, whoever they cite.
        removed["digests emptied"] += (
            Digest.objects.filter(**in_scope, kind=DigestKind.CATCH_UP, requested_by_user_id=user_id)
            .exclude(markdown="").update(markdown=FORGOTTEN_MARKDOWN)
        )
        # A receiver's logged answer may quote the summary it was sent.
        removed["delivery answers erased"] = (
            DeliveryAttempt.objects.filter(delivery__summary_id__in=summary_ids).exclude(response_body="")
            .update(response_body="")
        )
        removed["jobs unlinked"] = SummaryJob.objects.filter(**in_scope, requested_by_user_id=user_id).update(
            requested_by_user_id=None
        )
        removed["digests unlinked"] = Digest.objects.filter(**in_scope, requested_by_user_id=user_id).update(
            requested_by_user_id=None
        )
        removed["catch-ups"], _ = CatchUp.objects.filter(**in_scope, user_id=user_id).delete()
        removed["activity counts"] = activity_forget_member(user_id=user_id, guild_id=guild_id)
        # Their id stays on what they changed (it is what those entries are about); their name goes.
        removed["audit log names blanked"] = audit_forget_actor_name(user_id=user_id, guild_id=guild_id)
        # The cache cannot say which chunks hold the member's messages: every chunk of their guilds goes.
        removed["cached chunk summaries"] = sum(max(0, chunk_cache_forget_guild(g)) for g in guild_ids)
        # Counts only ("citations: 5 → 0"): nothing of what was removed is kept in the entry.
        audit_record(
            action="member.forget", guild_id=guild_id, target_type="member", target_id=user_id,
            changes={kind: [count, 0] for kind, count in removed.items() if count},
        )
    logger.warning(
        "gdpr: member forgotten",
        extra={"audit": "gdpr_forget", "user_id": str(user_id), "guild_id": guild_id,
               "removed": {k: v for k, v in removed.items() if v}},
    )
    return dict(removed)


def member_export(*, user_id: int) -> dict[str, Any]:
    """Everything stored about the member, as JSON-able data (ids as strings, as the API writes them)."""
    citing = (
        SummaryCitation.objects.filter(author_id=user_id).select_related("summary").order_by("summary_id", "message_id")
    )
    summaries: dict[int, dict[str, Any]] = {}
    for citation in citing:
        summary = citation.summary
        entry = summaries.setdefault(summary.pk, {
            "id": str(summary.job_id or summary.pk), "guild_id": str(summary.guild_id),
            "channel_id": str(summary.channel_id) if summary.channel_id else None,
            "created_at": summary.created_at.isoformat(), "cited_message_ids": [], "items_citing_you": [],
        })
        entry["cited_message_ids"].append(str(citation.message_id))
    for summary in Summary.objects.filter(pk__in=summaries):
        cited = {int(m) for m in summaries[summary.pk]["cited_message_ids"]}
        summaries[summary.pk]["items_citing_you"] = [
            item for item in summary.items if cited & {int(m) for m in item.get("message_ids", ())}
        ]
    data = {
        "user_id": str(user_id),
        "opt_outs": [
            {"guild_id": str(o.guild_id) if o.guild_id else None, "since": o.created_at.isoformat()}
            for o in MemberOptOut.objects.filter(user_id=user_id).order_by("created_at")
        ],
        "activity": [
            {"guild_id": str(a.guild_id), "channel_id": str(a.channel_id), "day": a.day.isoformat(), "messages": a.messages}
            for a in ChannelActivity.objects.filter(user_id=user_id).order_by("day", "channel_id")
        ],
        "catch_ups": [
            {"guild_id": str(c.guild_id), "channel_id": str(c.channel_id), "last_message_id": str(c.last_message_id),
             "caught_up_at": c.caught_up_at.isoformat()}
            for c in CatchUp.objects.filter(user_id=user_id).order_by("caught_up_at")
        ],
        "requested_summaries": [
            {"id": str(j.pk), "guild_id": str(j.guild_id), "channel_id": str(j.channel_id) if j.channel_id else None,
             "source": j.source, "status": j.status, "created_at": j.created_at.isoformat()}
            for j in SummaryJob.objects.filter(requested_by_user_id=user_id).order_by("created_at")
        ],
        "requested_digests": [
            {"id": d.pk, "guild_id": str(d.guild_id), "kind": d.kind, "created_at": d.created_at.isoformat(),
             "markdown": d.markdown}
            for d in Digest.objects.filter(requested_by_user_id=user_id).order_by("created_at")
        ],
        "summaries_citing_you": list(summaries.values()),
    }
    # Operator-wide (an export covers every guild); it changes nothing, so the entry has no changes.
    audit_record(action="member.export", guild_id=None, target_type="member", target_id=user_id)
    logger.warning(
        "gdpr: member data exported",
        extra={"audit": "gdpr_export", "user_id": str(user_id), "summaries": len(summaries)},
    )
    return data
