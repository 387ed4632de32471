"""Pure summarization: a list of messages in, a cited summary out.

Knows no Django request, no discord.py object and no model save, so it can be tested and benchmarked alone.

    result = await summarize(messages, SummaryOptions(format="structured"), provider=provider_or_None)
    render_markdown(result); render_discord(result).pages; result.to_dict()

The pre-flight estimate is `summaries.engine.estimate.estimate` (not re-exported here: the name would
shadow its module).
"""

from .cache import ChunkCache, InMemoryChunkCache
from .formats import FORMATS
from .options import SummaryOptions
from .pipeline import summarize
from .prompts import PROMPT_VERSION
from .types import Attachment, Author, CallUsage, ChatMessage, EmbedInfo, SummaryItem, SummaryResult, Usage

__all__ = [
    "FORMATS",
    "PROMPT_VERSION",
    "Attachment",
    "Author",
    "CallUsage",
    "ChatMessage",
    "ChunkCache",
    "EmbedInfo",
    "InMemoryChunkCache",
    "SummaryItem",
    "SummaryOptions",
    "SummaryResult",
    "Usage",
    "summarize",
]
