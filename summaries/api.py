"""REST API for summaries, usage and schedules: each view parses, calls one service or selector, and formats.

Every read is filtered to the key's guild (another guild's summary or schedule is a 404, like a missing
one); a request goes through `summary_request` like every other front door, so channel rules, limits,
budgets and idempotency hold here exactly as they do for the slash command. Schedules go through
summaries/services/schedules.py, as the /schedule commands and the dashboard do.
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

from summaries.models import JobSource, Schedule, SummaryJob
from summaries.selectors import (
    api_schedule_run_summary_ids,
    api_status,
    api_summaries,
    api_summary_get,
    schedule_get,
    schedules_for_guild,
    summary_cited_items,
)
from summaries.serializers.common import StrictInput
from summaries.serializers.schedules import (
    ScheduleInput,
    ScheduleListFilter,
    ScheduleOutput,
    SchedulePauseInput,
    ScheduleRunOutput,
)
from summaries.serializers.summaries import (
    MonthUsageOutput,
    SummaryBriefOutput,
    SummaryCreateInput,
    SummaryListFilter,
    SummaryOutput,
)
from summaries.services.jobs import integration_summary_request
from summaries.services.schedules import (
    schedule_create,
    schedule_delete,
    schedule_pause,
    schedule_resume,
    schedule_run_now,
    schedule_update,
)
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
        "schedule_id": job.schedule_id,
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
            schedule_id=filters.validated_data.get("schedule_id"),
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


# --- Schedules ----------------------------------------------------------------------------------------

SCHEDULE_ID = OpenApiParameter("schedule_id", str, OpenApiParameter.PATH, description="The schedule's id")


def _schedule_url(request: Request, schedule: Schedule) -> str:
    return request.build_absolute_uri(reverse("api-schedule", args=[schedule.pk]))


class ScheduleListCreateView(ApiView):
    required_scopes = {"GET": ApiScope.SCHEDULES_READ, "POST": ApiScope.SCHEDULES_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="schedules_list",
        parameters=[ScheduleListFilter],
        responses=ScheduleOutput(many=True),
        description="The server's schedules, newest first; follow `next` for more.",
    )
    def get(self, request: Request) -> Response:
        filters = ScheduleListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        schedules = schedules_for_guild(guild_id=request.auth.guild_id, enabled=filters.validated_data["enabled"])
        paginator = CursorPage()
        page = paginator.paginate_queryset(schedules, request, view=self)
        return paginator.get_paginated_response(ScheduleOutput(page or [], many=True).data)

    @extend_schema(
        operation_id="schedules_create",
        request=ScheduleInput,
        responses={201: ScheduleOutput},
        description="Define a recurring summary; it is armed for its first slot unless created with "
        "`enabled: false`. Give one scope: `channel_ids`, `category_id` or `whole_guild`.",
    )
    def post(self, request: Request) -> Response:
        data = ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = schedule_create(guild_id=request.auth.guild_id, **data.validated_data)
        return Response(
            ScheduleOutput(schedule).data, status=status.HTTP_201_CREATED,
            headers={"Location": _schedule_url(request, schedule)},
        )


ScheduleListCreateView.pagination_class = CursorPage


class ScheduleDetailView(ApiView):
    required_scopes = {
        "GET": ApiScope.SCHEDULES_READ, "PATCH": ApiScope.SCHEDULES_WRITE, "DELETE": ApiScope.SCHEDULES_WRITE,
    }
    renderer_classes = [JSONRenderer]

    @extend_schema(operation_id="schedules_retrieve", parameters=[SCHEDULE_ID], responses=ScheduleOutput)
    def get(self, request: Request, schedule_id: str) -> Response:
        return Response(ScheduleOutput(schedule_get(guild_id=request.auth.guild_id, schedule_id=schedule_id)).data)

    @extend_schema(
        operation_id="schedules_partial_update",
        parameters=[SCHEDULE_ID],
        request=ScheduleInput(partial=True),
        responses=ScheduleOutput,
        description="Change any of the definition's fields. A changed timing moves `next_run_at` to the new "
        "timetable's next slot; a new scope replaces the old one.",
    )
    def patch(self, request: Request, schedule_id: str) -> Response:
        data = ScheduleInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        schedule = schedule_update(guild_id=request.auth.guild_id, schedule_id=schedule_id, **data.validated_data)
        return Response(ScheduleOutput(schedule).data)

    @extend_schema(
        operation_id="schedules_destroy",
        parameters=[SCHEDULE_ID],
        responses={204: None},
        description="Delete the schedule; the summaries it made stay.",
    )
    def delete(self, request: Request, schedule_id: str) -> Response:
        schedule_delete(guild_id=request.auth.guild_id, schedule_id=schedule_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduleRunView(ApiView):
    required_scopes = {"POST": ApiScope.SCHEDULES_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="schedules_run",
        parameters=[SCHEDULE_ID],
        request=None,
        responses={202: ScheduleRunOutput},
        description="Queue one run now (a paused schedule too), covering a regular run's period up to now; "
        "the timetable is not touched. Its summaries appear under `summaries_url` with this `slot`.",
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        _no_body(request)
        guild_id = request.auth.guild_id
        slot = schedule_run_now(guild_id=guild_id, schedule_id=schedule_id)
        pk = int(schedule_id)  # schedule_run_now found it: the id is a number
        return Response(
            ScheduleRunOutput({
                "schedule_id": pk,
                "slot": slot,
                "summary_ids": api_schedule_run_summary_ids(guild_id=guild_id, schedule_id=pk, slot=slot),
                "summaries_url": request.build_absolute_uri(f"{reverse('api-summaries')}?schedule_id={pk}"),
            }).data,
            status=status.HTTP_202_ACCEPTED,
        )


class SchedulePauseView(ApiView):
    required_scopes = {"POST": ApiScope.SCHEDULES_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="schedules_pause",
        parameters=[SCHEDULE_ID],
        request=SchedulePauseInput,
        responses=ScheduleOutput,
        description="Stop its runs until it is resumed; `reason` is shown as its `paused_reason`.",
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        data = SchedulePauseInput(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = schedule_pause(guild_id=request.auth.guild_id, schedule_id=schedule_id, **data.validated_data)
        return Response(ScheduleOutput(schedule).data)


class ScheduleResumeView(ApiView):
    required_scopes = {"POST": ApiScope.SCHEDULES_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="schedules_resume",
        parameters=[SCHEDULE_ID],
        request=None,
        responses=ScheduleOutput,
        description="Run again from the next slot after now (slots missed while paused are not made up); "
        "its count of failed runs starts again at 0.",
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        _no_body(request)
        return Response(ScheduleOutput(schedule_resume(guild_id=request.auth.guild_id, schedule_id=schedule_id)).data)


def _no_body(request: Request) -> None:
    """An action that takes nothing refuses a body that says something (it would be silently ignored)."""
    if request.data:
        StrictInput(data=request.data).is_valid(raise_exception=True)
