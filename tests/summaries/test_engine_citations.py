"""Citations: model refs verified against the call's input, mapped to real Discord ids in one place."""

from __future__ import annotations

import json
import re

import pytest

from summaries.engine.citations import CitationMap, parse_ref, verify_refs
from summaries.engine.formats import get_format
from summaries.engine.mapreduce import draft_from_cache, draft_from_reply, draft_to_cache, render_draft
from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.schema import Draft, DraftItem, SchemaError, json_schema, parse_reply
from summaries.engine.synthetic import make_message, message_id

STRUCTURED = get_format("structured")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(4, 4), ("4", 4), ("#12", 12), (" ^7 ", 7), ("x1", None), (-1, None), (True, None), (None, None)],
)
def test_refs_are_read_leniently(raw: object, expected: int | None) -> None:
    assert parse_ref(raw) == expected


def test_only_refs_from_the_input_survive_in_order_without_repeats() -> None:
    assert verify_refs([5, "3", 99, 5, "#4"], range(3, 6)) == [5, 3, 4]
    assert verify_refs([1, 2], {2}) == [2]
    # A chunk's transcript counts refs from its first message: what survives is read back as positions.
    assert verify_refs([0, "2", 3, 0], range(3), first=1000) == [1000, 1002]


def test_invented_refs_are_dropped_and_an_uncited_point_is_flagged() -> None:
    reply = {
        "language": "en",
        "overview": [{"text": "Talked about the release", "refs": [10, 11]}],
        "key_points": [
            {"text": "Real point", "refs": [10, 987654]},
            {"text": "Made-up point", "refs": [987654]},
            {"text": "   ", "refs": [10]},
        ],
        "decisions": [],
        "action_items": [{"text": "Write notes", "refs": ["12"], "owner": "Bob"}],
        "open_questions": [],
    }
    draft = draft_from_reply(parse_reply_dict(reply), STRUCTURED, range(10, 13))
    points = draft.sections["key_points"]
    assert [(p.text, p.refs, p.unverified) for p in points] == [
        ("Real point", [10], False),
        ("Made-up point", [], True),
    ]
    assert draft.sections["action_items"][0].owner == "Bob"
    assert draft.cited() == {10, 11, 12}


def parse_reply_dict(reply: dict) -> dict:
    return parse_reply(json.dumps(reply), STRUCTURED)


def test_schemas_are_strict_compatible() -> None:
    for name in ("brief", "structured", "detailed", "technical"):
        schema = json_schema(name)["schema"]
        stack = [schema]
        while stack:
            node = stack.pop()
            if node.get("type") == "object":
                assert node["additionalProperties"] is False
                assert set(node["required"]) == set(node["properties"])
                stack.extend(node["properties"].values())
            elif node.get("type") == "array":
                stack.append(node["items"])
    assert "links" not in json_schema("structured")["schema"]["properties"]  # extracted, not asked for


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "top level"),
        ('{"language": "en", "overview": "text"}', "'overview' must be an array"),
        ('{"language": "en", "overview": [{"refs": []}]}', "overview[0].text"),
        ('{"language": "en", "action_items": [{"text": "x", "refs": [], "owner": 3}]}', "owner"),
        ('{"language": "en", "key_points": [{"text": "x", "refs": 3}]}', "refs must be an array"),
    ],
)
def test_invalid_replies_say_what_is_wrong(content: str, message: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(message)):
        parse_reply(content, STRUCTURED)


def test_a_fenced_reply_and_missing_empty_sections_are_accepted() -> None:
    data = parse_reply('```json\n{"language": "fr", "overview": [{"text": "x", "refs": [1]}]}\n```', STRUCTURED)
    assert data["language"] == "fr"


def test_positions_map_to_discord_ids_and_back() -> None:
    conversation = prepare([make_message(i, f"m{i}") for i in range(5)], SummaryOptions())
    citations = CitationMap(conversation.messages)
    assert citations.message_ids([0, 4]) == [message_id(0), message_id(4)]
    assert citations.positions([message_id(3), message_id(1)]) == [3, 1]
    assert citations.positions([message_id(99)]) is None


def test_cached_drafts_store_discord_ids_so_they_survive_a_shifted_window() -> None:
    messages = [make_message(i, f"m{i}") for i in range(6)]
    first_window = CitationMap(prepare(messages, SummaryOptions()).messages)
    draft = Draft(language="en", sections={"key_points": [DraftItem(text="p", refs=[4, 5])]})
    stored = draft_to_cache(draft, first_window)
    assert stored["sections"]["key_points"][0]["message_ids"] == [message_id(4), message_id(5)]
    # The same messages seen in a window starting two messages later: positions shift, ids do not.
    later_window = CitationMap(prepare(messages[2:], SummaryOptions()).messages)
    restored = draft_from_cache(stored, later_window)
    assert restored is not None and restored.sections["key_points"][0].refs == [2, 3]
    assert draft_from_cache(stored, CitationMap(prepare(messages[:3], SummaryOptions()).messages)) is None


def test_reduce_inputs_carry_the_original_refs() -> None:
    draft = Draft(
        language="en",
        sections={
            "decisions": [DraftItem(text="Use Postgres", refs=[120, 7])],
            "action_items": [DraftItem(text="Migrate", refs=[300], owner="Ivan")],
        },
    )
    assert render_draft(draft, STRUCTURED, "Part 2:") == (
        "Part 2:\ndecisions:\n- Use Postgres [120, 7]\naction_items:\n- Migrate (owner: Ivan) [300]"
    )
