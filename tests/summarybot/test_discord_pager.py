"""The summary pager's custom_id: built and parsed by one class, byte for byte what posted messages carry."""

from __future__ import annotations

import re

from summarybot.discord.pager import PageButton, PagerPosition


def row(summary_id: int, page: int, pages: int) -> list[dict[str, object]] | None:
    view = PageButton.view_for(PagerPosition(summary_id, page, pages))
    return None if view is None else view.to_components()


def test_the_row_is_the_json_messages_in_discord_already_carry() -> None:
    # What the worker posted before the pager became a DynamicItem (and what old messages still hold).
    assert row(42, 0, 3) == [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "◀", "custom_id": "sumpage:42:-1", "disabled": True},
                {"type": 2, "style": 2, "label": "1/3", "custom_id": "sumpage:42:noop", "disabled": True},
                {"type": 2, "style": 2, "label": "▶", "custom_id": "sumpage:42:1", "disabled": False},
            ],
        }
    ]
    last = row(42, 2, 3)
    assert last is not None
    assert [(b["custom_id"], b["disabled"]) for b in last[0]["components"]] == [  # type: ignore[index]
        ("sumpage:42:1", False),
        ("sumpage:42:noop", True),
        ("sumpage:42:3", True),
    ]


def test_a_one_page_summary_gets_no_buttons() -> None:
    assert row(42, 0, 1) is None


async def test_a_click_parses_back_into_the_summary_and_the_page() -> None:
    template = PageButton.__discord_ui_compiled_template__
    for custom_id, page in (("sumpage:7:3", 3), ("sumpage:7:noop", None), ("sumpage:7:-1", -1)):
        match = template.fullmatch(custom_id)
        assert match is not None
        item = await PageButton.from_custom_id(None, None, match)  # type: ignore[arg-type]
        assert (item.summary_id, item.page, item.custom_id) == (7, page, custom_id)
    assert template.fullmatch("sumpage:7:next") is None
    assert template.fullmatch("other:7:1") is None


async def test_a_subclass_answers_the_same_custom_ids() -> None:
    class Answering(PageButton):
        pass

    assert Answering.__discord_ui_compiled_template__.pattern == PageButton.__discord_ui_compiled_template__.pattern
    item = await Answering.from_custom_id(
        None, None, re.fullmatch(Answering.__discord_ui_compiled_template__, "sumpage:9:2")
    )  # type: ignore[arg-type]
    assert isinstance(item, Answering) and item.custom_id == "sumpage:9:2"
