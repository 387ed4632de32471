"""The summary formats: which sections each has, in which order, and how they are titled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    title: str
    # What the model is asked to put there (also the JSON schema's description).
    guidance: str
    has_owner: bool = False
    # Filled by the engine from the messages themselves rather than by the model.
    extracted: bool = False


# Filled only for a member's catch-up: what was said to them comes first.
FOR_YOU = Section("for_you", "For you", "Messages that mention you or reply to you.", extracted=True)
OVERVIEW = Section(
    "overview", "Overview", "One to three sentences on what the conversation was about and where it ended."
)
KEY_POINTS = Section("key_points", "Key points", "The most important points, one idea each.")
DECISIONS = Section("decisions", "Decisions", "What was decided or agreed, and by whom when clear.")
ACTION_ITEMS = Section("action_items", "Action items", "Tasks someone committed to or was asked to do.", has_owner=True)
OPEN_QUESTIONS = Section("open_questions", "Open questions", "Questions asked and left unanswered.")
LINKS = Section("links", "Links shared", "Links people shared.", extracted=True)
# Filled only for a schedule's run: earlier runs' action items and open questions no message resolved since
# (engine/carry.py); each cites the message where it was raised.
STILL_OPEN = Section(
    "still_open", "Still open", "Earlier action items and open questions not resolved since.", extracted=True
)
DISCUSSION = Section(
    "discussion", "Discussion", "The discussion topic by topic, with the arguments and who made them, in order."
)
PROBLEMS = Section("problems", "Problems", "Bugs, errors and technical problems raised, with their symptoms.")
SOLUTIONS = Section("solutions", "Solutions", "Fixes, workarounds and answers found, and which problem each solves.")
TECH_DECISIONS = Section(
    "code_decisions",
    "Code and architecture decisions",
    "Decisions about code, libraries, architecture, APIs or infrastructure, with the reason given.",
)


@dataclass(frozen=True, slots=True)
class SummaryFormat:
    name: str
    description: str
    sections: tuple[Section, ...]

    @property
    def model_sections(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if not s.extracted)

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(name)


FORMATS: dict[str, SummaryFormat] = {
    f.name: f
    for f in (
        SummaryFormat("brief", "A short overview and at most five key points.", (FOR_YOU, OVERVIEW, KEY_POINTS, STILL_OPEN)),
        SummaryFormat(
            "structured",
            "Overview, key points, decisions, action items, open questions and links.",
            (FOR_YOU, OVERVIEW, KEY_POINTS, DECISIONS, ACTION_ITEMS, OPEN_QUESTIONS, STILL_OPEN, LINKS),
        ),
        SummaryFormat(
            "detailed",
            "A thorough account topic by topic, with decisions, action items and open questions.",
            (FOR_YOU, OVERVIEW, DISCUSSION, DECISIONS, ACTION_ITEMS, OPEN_QUESTIONS, STILL_OPEN, LINKS),
        ),
        SummaryFormat(
            "technical",
            "Problems, solutions, and code and architecture decisions.",
            (FOR_YOU, OVERVIEW, PROBLEMS, SOLUTIONS, TECH_DECISIONS, ACTION_ITEMS, STILL_OPEN, LINKS),
        ),
    )
}


def get_format(name: str) -> SummaryFormat:
    return FORMATS[name]
