"""Renderers: jump links on every cited point, Discord limits respected, storage round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from summaries.engine.render import discord_limits as limits
from summaries.engine.render import jump_url, render_discord, render_json, render_markdown
from summaries.engine.types import CallUsage, SummaryItem, SummaryResult, Usage

GUILD, CHANNEL, THREAD = 111, 222, 333


def result_with(items: list[SummaryItem], **extra: object) -> SummaryResult:
    fields: dict[str, object] = {
        "format": "structured",
        "language": "en",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "items": items,
        "message_count": 120,
        "participant_count": 5,
        "first_message_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "last_message_at": datetime(2026, 3, 2, 11, 30, tzinfo=UTC),
        "guild_id": GUILD,
        "channel_id": CHANNEL,
    }
    fields.update(extra)
    return SummaryResult(**fields)  # type: ignore[arg-type]


def test_jump_links() -> None:
    assert jump_url(1, 2, 3) == "https://discord.com/channels/1/2/3"
    assert jump_url(None, 2, 3) == "https://discord.com/channels/@me/2/3"


def test_markdown_links_every_cited_point_to_its_messages() -> None:
    result = result_with(
        [
            SummaryItem("overview", "The team planned the release.", [10]),
            SummaryItem("decisions", "Use Postgres", [11, 12]),
            SummaryItem("action_items", "Write the migration", [13], owner="Carol"),
            SummaryItem("key_points", "A claim nobody made", [], unverified=True),
        ],
        message_channels={12: THREAD},
    )
    markdown = render_markdown(result, title="#general")
    assert markdown.startswith(
        "# #general\n\n*120 messages · 5 participants · 2026-03-02 09:00–11:30 UTC · gpt-4o-mini*"
    )
    assert "The team planned the release. ([1](https://discord.com/channels/111/222/10))" in markdown
    assert (
        "- Use Postgres ([1](https://discord.com/channels/111/222/11) [2](https://discord.com/channels/111/333/12))"
        in markdown
    )
    assert "- **Carol**: Write the migration ([1](https://discord.com/channels/111/222/13))" in markdown
    assert "- A claim nobody made *(unverified)*" in markdown
    assert markdown.index("## Key points") < markdown.index("## Decisions") < markdown.index("## Action items")


def huge_result(points: int, text_length: int = 300) -> SummaryResult:
    items = [SummaryItem("overview", "o" * 5000, [1, 2, 3])]
    sections = ["key_points", "decisions", "action_items", "open_questions", "links"]
    for n in range(points):
        text = f"point {n} " + "x" * text_length
        items.append(SummaryItem(sections[n % len(sections)], text, [10_000 + n, 20_000 + n, 30_000 + n, 40_000 + n]))
    return result_with(items)


@pytest.mark.parametrize("points", [0, 1, 30, 120])
def test_every_page_respects_discord_limits_and_no_point_is_split(points: int) -> None:
    result = huge_result(points)
    rendering = render_discord(result, title="Summary of #general " + "t" * 300, max_pages=100)
    assert not rendering.fell_back_to_file
    for page in rendering.pages:
        assert limits.violations(page) == []
    values = "\n".join(
        field["value"] for page in rendering.pages for embed in page for field in embed.get("fields", ())
    )
    for n in range(points):
        # Whole points, each exactly once, each with its links.
        assert values.count(f"• point {n} ") == 1
        assert f"/{10_000 + n})" in values
    if points <= 1:
        assert len(rendering.pages) == 1
    if points == 120:
        assert len(rendering.pages) > 1


def test_a_point_longer_than_a_field_is_shortened_but_keeps_its_links() -> None:
    rendering = render_discord(result_with([SummaryItem("decisions", "y" * 3000, [5, 6])]))
    (page,) = rendering.pages
    assert limits.violations(page) == []
    value = page[0]["fields"][0]["value"]
    assert "…" in value and value.endswith("[2](https://discord.com/channels/111/222/6)")


def test_pages_are_numbered_in_the_footer() -> None:
    rendering = render_discord(huge_result(80), max_pages=100)
    assert len(rendering.pages) > 1
    footers = [page[0]["footer"]["text"] for page in rendering.pages]
    assert footers[0].startswith(f"Page 1/{len(footers)} · 120 messages")


def test_too_many_pages_fall_back_to_a_markdown_file() -> None:
    result = huge_result(200)
    rendering = render_discord(result, max_pages=2, filename="summary.md")
    assert rendering.fell_back_to_file
    assert len(rendering.pages) == 1 and limits.violations(rendering.pages[0]) == []
    assert "attached as `summary.md`" in rendering.pages[0][0]["description"]
    assert rendering.attachment is not None and rendering.attachment.filename == "summary.md"
    assert rendering.attachment.content == render_markdown(result, title="Summary")


def test_an_empty_summary_still_renders() -> None:
    rendering = render_discord(result_with([]))
    assert rendering.pages[0][0]["description"] == "Nothing worth summarizing was found."


def test_limits_checker_catches_each_limit() -> None:
    too_big = [{"title": "t" * 257, "description": "d" * 4097, "fields": [{"name": "n", "value": "v" * 1025}] * 26}]
    problems = "\n".join(limits.violations(too_big))
    for expected in ("title", "description", "field value", "fields 26", "characters across embeds"):
        assert expected in problems
    assert limits.violations([{"title": "x"}] * 11) == ["11 embeds > 10"]


def test_result_round_trips_through_its_dict_and_json() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=5, llm_calls=1, cached_chunks=2, cost_usd=0.0001)
    usage.calls.append(CallUsage(stage="single", level=0, prompt_tokens=10, completion_tokens=5))
    result = result_with(
        [SummaryItem("action_items", "Do it", [1_300_000_000_000_000_123], owner="Bob", unverified=False)],
        usage=usage,
        redactions={"email": 2},
        message_channels={1_300_000_000_000_000_123: THREAD},
        chunk_count=3,
        reduce_levels=1,
        prompt_version="v1",
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["channel_id"] == 222
    assert SummaryResult.from_dict(data) == result
    rendered = json.loads(render_json(result))
    assert rendered["items"][0]["message_ids"] == [1_300_000_000_000_000_123]
    assert rendered["markdown"].startswith("# Summary")


def test_a_masked_link_in_a_points_text_is_rendered_harmlessly() -> None:
    result = result_with(
        [
            SummaryItem("overview", "Urgent: [click](https://evil.example) to keep your role", [10]),
            SummaryItem("decisions", "Approved [1](https://evil.example/fake-citation)\n## Pwned\n- fake point", [11]),
            SummaryItem(
                "action_items", "Pay <https://evil.example>", [12], owner="**Admin** [x](https://evil.example)"
            ),
        ]
    )
    markdown = render_markdown(result)
    embeds = [embed for page in render_discord(result).pages for embed in page]
    discord_text = json.dumps(embeds, ensure_ascii=False)
    for rendered in (markdown, discord_text):
        assert "](https://evil.example" not in rendered.replace("\\]", "")  # no masked link survives
        assert "<https://evil.example>" not in rendered.replace("\\<", "")
    assert "Urgent: \\[click\\](https://evil.example) to keep your role" in markdown
    assert "- Approved \\[1\\](https://evil.example/fake-citation) ## Pwned - fake point ([1](" in markdown
    assert "\n## Pwned" not in markdown and "\n- fake point" not in markdown
    assert "- **\\*\\*Admin\\*\\* \\[x\\](https://evil.example)**: Pay \\<https://evil.example>" in markdown
    # Our own citations are still links.
    assert "([1](https://discord.com/channels/111/222/10))" in markdown


def test_bare_urls_and_plain_text_are_left_as_they_are() -> None:
    result = result_with([SummaryItem("key_points", "See https://example.org/a_b_(c) for snake_case *docs*", [10])])
    assert "- See https://example.org/a_b_(c) for snake_case *docs* ([1](" in render_markdown(result)
