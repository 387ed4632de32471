"""django-q2 entry point of mention Q&A (kept apart from summaries/tasks.py, the summary jobs' module)."""

from __future__ import annotations

import asyncio

from summaries.services.qa import qa_answer


def answer_question(guild_id: int, channel_id: int, message_id: int, user_id: int) -> int | None:
    """Answer one question accepted by the bot; returns the reply's message id."""
    # The Discord and LLM clients are created and closed inside this one event loop.
    return asyncio.run(qa_answer(guild_id=guild_id, channel_id=channel_id, message_id=message_id, user_id=user_id))
