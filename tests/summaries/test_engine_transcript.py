"""The compact transcript: what the model reads, and what it costs."""

from __future__ import annotations

from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.planner import line_costs
from summaries.engine.synthetic import make_message, message_id, synthetic_conversation
from summaries.engine.tokens import TokenCounter
from summaries.engine.transcript import alias_for, format_gap, header, legend_entry_cost, render_chunk, render_plain

GAP = 20 * 60


def test_lines_carry_ref_alias_gap_and_reply() -> None:
    messages = [
        make_message(0, "should we move the db?", author_id=1, author_name="alice", display_name="Alice"),
        make_message(1, "yes, after the release", author_id=2, author_name="bob", reply_to=message_id(0), kind="reply"),
        make_message(95, "done", author_id=1, author_name="alice", display_name="Alice"),
    ]
    prepared = prepare(messages, SummaryOptions()).messages
    assert render_chunk(prepared, GAP) == (
        "Chat log from 2026-03-02 09:00 UTC. People: a=Alice, b=bob\n"
        "0 a: should we move the db?\n"
        "1 b ^0: yes, after the release\n"
        "2 a +94m: done"
    )


def test_refs_are_positions_in_the_whole_conversation_in_every_chunk() -> None:
    prepared = prepare([make_message(i, f"m{i}", author_id=i % 3) for i in range(6)], SummaryOptions()).messages
    second_half = render_chunk(prepared[3:], GAP)
    assert [line.split(" ")[0] for line in second_half.splitlines()[1:]] == ["3", "4", "5"]
    # Aliases restart per chunk: the legend is that chunk's own.
    assert "People: a=alice, b=alice, c=alice" in second_half


def test_aliases_are_short_and_unique() -> None:
    aliases = [alias_for(i) for i in range(800)]
    assert aliases[:3] == ["a", "b", "c"] and aliases[25] == "z" and aliases[26] == "aa"
    assert len(set(aliases)) == 800


def test_gaps_are_shown_in_minutes_hours_or_days() -> None:
    assert [format_gap(s) for s in (25 * 60, 3 * 3600, 3 * 86400)] == ["+25m", "+3h", "+3d"]


def test_line_cost_bounds_the_real_tokens_of_any_chunk() -> None:
    counter = TokenCounter("gpt-4o-mini")
    conversation = prepare(synthetic_conversation(600, seed=3), SummaryOptions())
    for message in conversation.messages:
        message.tokens = counter.count(message.text)
    costs = line_costs(conversation.messages, GAP)
    legend = {m.author_id: legend_entry_cost(m.author_name, counter) for m in conversation.messages}
    header_cost = counter.count(header(conversation.messages[0].created_at))
    for start, end in ((0, 600), (17, 240), (300, 301), (555, 600)):
        chunk = conversation.messages[start:end]
        bound = sum(costs[start:end]) + sum(legend[a] for a in {m.author_id for m in chunk}) + header_cost
        assert counter.count(render_chunk(chunk, GAP)) <= bound


def test_compact_transcript_spends_far_fewer_tokens_than_the_plain_format() -> None:
    counter = TokenCounter("gpt-4o-mini")
    prepared = prepare(synthetic_conversation(1000, seed=11), SummaryOptions()).messages
    compact = counter.count(render_chunk(prepared, GAP))
    plain = counter.count(render_plain(prepared))
    assert compact <= 0.7 * plain
