"""gridmap.messages: the one rule for stored messages, without a database."""

from __future__ import annotations

import logging

from django.utils import translation

from gridmap.messages import render_message, render_messages, render_parts

YELLOW = {"msgid": "yellow"}
CATEGORY = {"zh-hans": "矛盾纠纷", "en": "dispute"}
NEW_INCIDENT = "New %(severity)s %(category)s incident in %(place)s"


def test_a_message_renders_its_params_nested_messages_and_values_per_language():
    message = {
        "msgid": NEW_INCIDENT,
        "params": {"severity": YELLOW, "category": CATEGORY, "place": "W"},
    }
    with translation.override("en"):
        assert render_message(message) == "New yellow dispute incident in W"
    with translation.override("zh-hans"):
        text = render_message(message)
    assert "黄色" in text and "矛盾纠纷" in text and "W" in text


def test_a_value_per_language_falls_back_to_the_same_language_then_english():
    message = {"msgid": "%(name)s", "params": {"name": {"zh": "甲", "fr": "A"}}}
    with translation.override("zh-hans"):
        assert render_message(message) == "甲"
    with translation.override("en"):
        assert render_message({"msgid": "%(n)s", "params": {"n": {"fr": "A", "en": "B"}}}) == "B"


def test_no_msgid_is_empty_and_no_params_is_the_translated_text():
    assert render_message({}) == ""
    with translation.override("zh-hans"):
        assert render_message(YELLOW) == "黄色"


def test_a_translation_that_lost_a_placeholder_falls_back_to_the_msgid(monkeypatch, caplog):
    monkeypatch.setattr("gridmap.messages.gettext", lambda msgid: "网格 %(lost)s")
    message = {"msgid": "In grid %(code)s", "params": {"code": "1"}}
    with caplog.at_level(logging.WARNING, logger="gridmap.messages"):
        assert render_message(message) == "In grid 1"
    assert "Cannot render message" in caplog.text


def test_parts_make_one_sentence_in_the_readers_language():
    parts = [
        {"msgid": "In grid %(code)s (%(name)s)", "params": {"code": "1", "name": "G"}},
        {"msgid": "responsible level: %(level)s", "params": {"level": {"msgid": "grid"}}},
    ]
    with translation.override("en"):
        assert render_parts(parts) == "In grid 1 (G); responsible level: grid."
        assert render_messages(parts) == ["In grid 1 (G)", "responsible level: grid"]
    assert render_parts([]) == "" and render_messages(None) == []
