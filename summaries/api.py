"""REST API for summaries and usage: each view parses, calls one service or selector, and formats.

Every read is filtered to the key's guild (another guild's summary is a 404, like a missing one); a
request goes through `summary_request` like every other front door, so channel rules, limits, budgets
and idempotency hold here exactly as they do for the slash command.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from summaries.models import JobSource, SummaryJob
from summaries.selectors import api_status, api_summaries, api_summary_get, summary_cited_items
from summaries.serializers import (
    MonthUsageOutput,
    SummaryBriefOutput,
    SummaryCreateInput,
    SummaryListFilter,
    SummaryOutput,
)
from summaries.services.jobs import integration_summary_request
from summaries.services.usage import guild_usage
from summarybot.api import ApiView, CursorPage
from summarybot.errors import Conflict, InvalidInput
from webhooks.models import ApiScope

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER,
    description="Repeat a request safely: the same key and body return the same summary (at most 128 characters)",
)
MAX_IDEMPOTENCY_KEY = 128


def _summary_data(job: SummaryJob, request: Request, *, full: bool, created: bool = False) -> dict[str, Any]:
    # A job this request created has no summary yet: no query to find that out.
    summary = None if created else getattr(job, "summary", None)
    data: dict[str, Any] = {
        "id": job.pk,
        "url": request.build_absolute_uri(reverse("api-summary", args=[job.pk])),
        "channel_id": job.channel_id,
        "status": api_status(job),
        "progress": job.progress,
        "format": job.format,
        "language": job.language,
        "usage": None if summary is None else {
            "prompt_tokens": summary.prompt_tokens, "completion_tokens": summary.completion_tokens,
            "llm_calls": summary.llm_calls, "cost_usd": summary.cost_usd, "model": summary.model,
        },
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "created_at": job.created_at,
        "completed_at": job.finished_at,
    }
    if full:
        data["markdown"] = summary.markdown if summary is not None else None
        data["items"] = summary_cited_items(summary=summary) if summary is not None else []
        return SummaryOutput(data).data
    return SummaryBriefOutput(data).data


class SummaryListCreateView(ApiView):
    required_scopes = {"GET": ApiScope.SUMMARIES_READ, "POST": ApiScope.SUMMARIES_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="summaries_create",
        request=SummaryCreateInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: SummaryBriefOutput, 200: SummaryBriefOutput},
        description="Ask for a summary of a channel. 202 for a new one; 200 with the same summary when the "
        "Idempotency-Key was already used with this body (422 with another body). Poll its `url`.",
    )
    def post(self, request: Request) -> Response:
        idempotency_key = request.headers.get("Idempotency-Key", "").strip() or None
        if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidInput(f"The Idempotency-Key header is longer than {MAX_IDEMPOTENCY_KEY} characters.")
        data = SummaryCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = request.auth
        job, created = integration_summary_request(
            guild_id=api_key.guild_id,
            source=JobSource.API,
            api_key=api_key,
            idempotency_key=idempotency_key,
            **data.validated_data,
        )
        body = _summary_data(job, request, full=False, created=created)
        return Response(
            body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK, headers={"Location": body["url"]}
        )

    @extend_schema(
        operation_id="summaries_list",
        parameters=[SummaryListFilter],
        responses=SummaryBriefOutput(many=True),
        description="The server's summaries, newest first; follow `next` for more.",
    )
    def get(self, request: Request) -> Response:
        filters = SummaryListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        jobs = api_summaries(
            guild_id=request.auth.guild_id,
            channel_id=filters.validated_data.get("channel_id"),
            status=filters.validated_data.get("status"),
            since=filters.validated_data.get("since"),
        )
        paginator = CursorPage()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response([_summary_data(job, request, full=False) for job in page or []])


# drf-spectacular reads the list envelope from the paginator.
SummaryListCreateView.pagination_class = CursorPage


class SummaryDetailView(ApiView):
    required_scopes = {"GET": ApiScope.SUMMARIES_READ}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="summaries_retrieve",
        parameters=[
            OpenApiParameter("format", str, enum=["json", "markdown"], description="markdown: the text/markdown body alone"),
        ],
        responses={200: SummaryOutput, (200, "text/markdown"): OpenApiTypes.STR},
    )
    def get(self, request: Request, summary_id: str) -> Response | HttpResponse:
        wanted = request.query_params.get("format", "json")
        if wanted not in ("json", "markdown"):
            raise InvalidInput("format must be json or markdown.")
        job = api_summary_get(guild_id=request.auth.guild_id, summary_id=summary_id)
        if wanted == "markdown":
            summary = getattr(job, "summary", None)
            if summary is None:
                raise Conflict(
                    f"This summary is {api_status(job)}; its markdown exists once it is done.",
                    details={"status": api_status(job)},
                )
            return HttpResponse(summary.markdown, content_type="text/markdown; charset=utf-8")
        return Response(_summary_data(job, request, full=True))


class UsageView(ApiView):
    required_scopes = {"GET": ApiScope.USAGE_READ}
    renderer_classes = [JSONRenderer]

    @extend_schema(operation_id="usage_retrieve", responses=MonthUsageOutput)
    def get(self, request: Request) -> Response:
        usage = guild_usage(guild_id=request.auth.guild_id)
        return Response(
            MonthUsageOutput({
                "month_start": usage.month_start, "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens, "tokens": usage.tokens, "llm_calls": usage.llm_calls,
                "summaries": usage.summaries, "cost_usd": usage.cost_usd, "token_budget": usage.token_budget,
                "tokens_left": usage.tokens_left, "cost_budget_usd": usage.cost_budget_usd,
            }).data
        )
