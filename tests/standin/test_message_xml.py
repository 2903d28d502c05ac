"""The stand-in's answers: always valid against message-response.xsd, whatever text they carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from sonet_pipeline.contract import MESSAGES_NS, message_response_schema, read_bytes
from sonet_pipeline.standin.message_xml import (
    ERROR_CODES,
    MAX_ANSWER_TEXT,
    error_xml,
    format_instant,
    receipt_xml,
    sonet_order_number,
)

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
NS = f"{{{MESSAGES_NS}}}"

HOSTILE = [
    "Tom & Jerry <script>alert(1)</script> ]]> \"quoted\" 'single'",
    "emoji 🥾🧤 and Mäkinen & Poika",
    "controls \x00 \x01 \x08 \x0b \x0c \x1b \x7f end",
    "lone surrogate \ud800 and \udfff and non-characters \ufffe \uffff",
    "line\r\nbreaks\tand tabs",
    "x" * 100_000,
    "",
]


def _valid(document: bytes) -> etree._Element:
    assert document.startswith(DECLARATION + b"\n")
    root = etree.fromstring(document)
    message_response_schema().assertValid(root)
    assert etree.QName(root).namespace == MESSAGES_NS
    return root


def test_a_receipt_matches_the_contracts_example():
    """A receipt carries the contract example's content: MessageId, Status, SonetOrderNumber, ReceivedAt."""
    received = datetime(2026, 11, 28, 4, 38, 3, 412_999, tzinfo=UTC)
    ours = _valid(receipt_xml("0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21", "ACCEPTED", "SO-2026-0045512", received))
    example = etree.fromstring(read_bytes("examples/receipt-accepted.xml"))
    assert [(e.tag, e.text) for e in ours] == [(e.tag, e.text) for e in example]


def test_received_at_is_utc_with_milliseconds_and_z():
    """ReceivedAt is converted to UTC and written with exactly three fraction digits and `Z`."""
    helsinki = timezone(timedelta(hours=2))
    assert format_instant(datetime(2026, 11, 28, 6, 38, 3, tzinfo=helsinki)) == "2026-11-28T04:38:03.000Z"
    root = _valid(receipt_xml("m-12345678", "DUPLICATE", "SO-01-0000001", datetime(2026, 1, 2, 3, 4, 5, 6789, UTC)))
    assert root.findtext(f"{NS}ReceivedAt") == "2026-01-02T03:04:05.006Z"
    with pytest.raises(ValueError):
        format_instant(datetime(2026, 11, 28, 4, 38))


def test_a_receipt_refuses_a_status_the_schema_does_not_know():
    """Only ACCEPTED and DUPLICATE are receipts; anything else is a programming error."""
    with pytest.raises(ValueError):
        receipt_xml("m-12345678", "REJECTED", "SO-01-0000001", datetime.now(UTC))


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_error_code_makes_a_valid_answer(code):
    """Each code of message-response.xsd makes a valid MessageError, with and without the optional parts."""
    _valid(error_xml(code, "something went wrong"))
    root = _valid(error_xml(code, "something went wrong", message_id="m-12345678", field="Lines/Line[3]/ItemCode"))
    assert [etree.QName(e).localname for e in root] == ["MessageId", "Code", "Message", "Field"]


def test_an_unknown_error_code_is_refused():
    """A code the schema does not list is a programming error, never a broken answer."""
    with pytest.raises(ValueError):
        error_xml("OOPS", "message")


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_texts_still_make_valid_answers(text):
    """`&`, `<`, emoji, control characters, surrogates and long texts in any part give a valid answer."""
    root = _valid(error_xml("SCHEMA", text, message_id=text, field=text))
    for name in ("MessageId", "Message", "Field"):
        value = root.findtext(f"{NS}{name}")
        assert len(value) <= MAX_ANSWER_TEXT
        assert "\x00" not in value and "\ud800" not in value and "\ufffe" not in value
    _valid(receipt_xml(text, "ACCEPTED", text, datetime.now(UTC)))


def test_allowed_characters_are_kept_exactly():
    """What XML allows comes back unchanged: markup characters, emoji, tabs and line breaks."""
    text = "Tom & Jerry <b> ]]> 🥾 Mäkinen\tend\r\nnext"
    assert _valid(error_xml("UNKNOWN_ITEM", text)).findtext(f"{NS}Message") == text


def test_a_long_message_is_cut_and_says_so():
    """A text over the limit is cut to MAX_ANSWER_TEXT characters, ending in an ellipsis."""
    message = _valid(error_xml("SCHEMA", "é" * 5000)).findtext(f"{NS}Message")
    assert len(message) == MAX_ANSWER_TEXT and message.endswith("…")


def test_sonet_order_numbers_are_deterministic():
    """The same company and sequence give the same number; different sequences differ."""
    assert sonet_order_number("01", 45512) == "SO-01-0045512" == sonet_order_number("01", 45512)
    assert sonet_order_number("02", 12_345_678) == "SO-02-12345678"
    for company, sequence in [("", 1), ("0 1", 1), ("01", 0)]:
        with pytest.raises(ValueError):
            sonet_order_number(company, sequence)
