"""The Message API over HTTP: acceptance, idempotency by MessageId, refusals, size and lost answers."""

from __future__ import annotations

import pytest
import requests

from sonet_pipeline.standin import message_api
from sonet_pipeline.standin.runtime import Faults
from tests.standin.standin_http import B2B_ORDER, GUEST_ORDER, SonetClient, message_answer, message_error

B2B_ID = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"


def _receipt(response: requests.Response) -> dict[str, str]:
    answer = message_answer(response)
    assert answer["_root"] == "MessageReceipt", response.text
    return answer


def test_a_new_message_is_accepted_and_the_same_again_is_a_duplicate(sonet: SonetClient):
    """The first send is 201 ACCEPTED; the same content again (also re-indented) is 200 DUPLICATE with the
    same SonetOrderNumber; one order exists."""
    first = sonet.send(B2B_ORDER)
    assert first.status_code == 201 and first.headers["content-type"].startswith("application/xml")
    accepted = _receipt(first)
    assert (accepted["MessageId"], accepted["Status"]) == (B2B_ID, "ACCEPTED")
    for body in (B2B_ORDER, B2B_ORDER.replace(b"\n  ", b"\n\t\t")):
        again = sonet.send(body)
        assert again.status_code == 200
        assert _receipt(again)["Status"] == "DUPLICATE"
        assert _receipt(again)["SonetOrderNumber"] == accepted["SonetOrderNumber"]
    assert len(sonet.admin_json("GET", "/companies/01/orders")) == 1
    assert sonet.admin_json("GET", "/companies/01/counters")["message_arrivals"] == {B2B_ID: 3}


def test_the_same_message_id_with_other_content_is_a_conflict(sonet: SonetClient):
    """Once accepted, the MessageId with other content (even one value written differently) is 409 CONFLICT."""
    assert sonet.send(GUEST_ORDER).status_code == 201
    changed = GUEST_ORDER.replace(b"<Name>Anna Virtanen</Name>", b"<Name>Anna Virtanen-Koski</Name>", 1)
    refused = sonet.send(changed)
    assert refused.status_code == 409 and message_error(refused)["Code"] == "CONFLICT"
    assert len(sonet.admin_json("GET", "/companies/01/orders")) == 1


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ((b"BOOT-PRO-43", b"BOOT-PRO-44"), "UNKNOWN_ITEM", "Lines/Line[1]/ItemCode"),
        ((b"C10042", b"C10999"), "UNKNOWN_CUSTOMER", "Customer/CustomerNumber"),
        ((b"C10042", b"C10666"), "CUSTOMER_BLOCKED", "Customer/CustomerNumber"),
        ((b"<Net>157.62</Net>", b"<Net>157.63</Net>"), "TOTALS_MISMATCH", "Totals/Net"),
        ((b"<Quantity>2</Quantity>", b"<Quantity>0</Quantity>"), "SCHEMA", "Lines/Line[1]/Quantity"),
    ],
)
def test_content_errors_are_400_and_bind_nothing(sonet: SonetClient, change, code, field):
    """A refused message is 400 with its code and Field; it binds nothing, so the corrected message with
    the same MessageId is then accepted (201)."""
    refused = sonet.send(B2B_ORDER.replace(*change))
    assert refused.status_code == 400
    error = message_error(refused)
    assert (error["Code"], error.get("Field")) == (code, field)
    assert sonet.send(B2B_ORDER).status_code == 201


def test_a_wrong_content_type_or_a_doctype_is_400_schema(sonet: SonetClient):
    """Content-Type other than application/xml (UTF-8), a DOCTYPE or entity, or a document that is not
    well-formed is 400 SCHEMA; no entity is ever expanded."""
    with_doctype = B2B_ORDER.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n',
    ).replace(b"PO 7781", b"&e;")
    cases = [
        sonet.send(B2B_ORDER, content_type="text/plain"),
        sonet.send(B2B_ORDER, content_type="application/xml; charset=iso-8859-1"),
        sonet.send(with_doctype),
        sonet.send(b"<SalesOrder>"),
    ]
    for refused in cases:
        assert refused.status_code == 400, refused.text
        assert message_error(refused)["Code"] == "SCHEMA"
        assert "root:" not in refused.text
    assert sonet.admin_json("GET", "/companies/01/orders") == []


def test_a_body_over_one_mib_is_413_too_large(sonet: SonetClient):
    """A message over 1 MiB is 413 TOO_LARGE, readable by the client, before any content check."""
    filler = b"<!--" + b"x" * (1024 * 1024) + b"-->"
    refused = sonet.send(B2B_ORDER + filler)
    assert refused.status_code == 413 and message_error(refused)["Code"] == "TOO_LARGE"
    assert sonet.send(B2B_ORDER).status_code == 201  # the connection and the MessageId are still fine


def test_a_lost_answer_stores_the_order_and_a_resend_is_a_duplicate(start_standin):
    """With lost answers the order is processed and stored, but the client sees a broken connection, not an
    answer; sending the same message again answers DUPLICATE with the stored order's number."""
    sonet = start_standin(faults=Faults(lost_answer_share=1.0))
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(
            f"{sonet.base_url}/messages/sales-orders",
            data=B2B_ORDER,
            headers={**sonet.headers(), "Content-Type": "application/xml"},
            timeout=10,
        )
    orders = sonet.admin_json("GET", "/companies/01/orders")
    assert [o["messageId"] for o in orders] == [B2B_ID]
    sonet.admin_json("POST", "/faults", json={"lost_answer_share": 0})
    again = sonet.send(B2B_ORDER)
    assert again.status_code == 200 and _receipt(again)["SonetOrderNumber"] == orders[0]["sonetOrderNumber"]
    assert sonet.admin_json("GET", "/companies/01/counters")["lost_answers"] == 1


def test_a_failure_inside_the_stand_in_is_a_transient_500_in_the_api_form(sonet: SonetClient, monkeypatch):
    """An unexpected failure while handling a message answers 500 with a MessageError UNAVAILABLE (transient),
    counted like every answer; nothing is stored."""

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(message_api, "receive_message", broken)
    failed = sonet.send(B2B_ORDER)
    assert failed.status_code == 500 and message_error(failed)["Code"] == "UNAVAILABLE"
    assert "disk full" not in failed.text
    assert sonet.admin_json("GET", "/companies/01/counters")["responses"]["message"] == {"500": 1}
    assert sonet.admin_json("GET", "/companies/01/orders") == []
