"""Registration lookups (rights/customer_lookup.py): one ACTIVE customer by its business id, VAT
number or an e-mail of its own or of a contact, normalized; several customers are all answered."""

from __future__ import annotations

from typing import Any

from sonet_pipeline.rights.customer_lookup import CustomerIndex, Match


def customer(number: str, **fields: Any) -> dict[str, Any]:
    return {
        "customerNumber": number,
        "name": f"Company {number}",
        "status": fields.pop("status", "ACTIVE"),
        "segmentCodes": [],
        **fields,
    }


INDEX = CustomerIndex.build(
    [
        customer(
            "C1",
            businessId="2345678-0",
            vatNumber="FI23456780",
            email="info@one.example",
            contacts=[{"contactId": "C1-1", "name": "Buyer", "email": " Osto@One.example "}],
        ),
        customer("C2", businessId="1111111-1", email="shared@group.example"),
        customer(
            "C3", businessId="2222222-2", contacts=[{"contactId": "C3-1", "name": "X", "email": "shared@group.example"}]
        ),
        customer("C4", businessId="3333333-3", email="gone@four.example", status="PASSIVE"),
        customer(
            "C5",
            businessId="4444444-4",
            email="same@five.example",
            contacts=[{"contactId": "C5-1", "name": "Y", "email": "SAME@five.example"}],
        ),
    ],
    [],
)


def test_each_key_finds_the_customer_normalized():
    one = [Match("C1", "Company C1")]
    assert INDEX.find("businessId", " 2345678-0 ") == one
    assert INDEX.find("vatNumber", "fi 2345 6780") == one
    assert INDEX.find("email", "INFO@one.example") == one
    assert INDEX.find("email", "osto@one.example") == one  # a contact's e-mail identifies its customer
    assert INDEX.find("businessId", "23456780") == []  # punctuation is kept


def test_unknown_blank_and_inactive_find_nothing():
    assert INDEX.find("email", "nobody@example.com") == []
    assert INDEX.find("businessId", "   ") == []
    assert INDEX.find("businessId", "3333333-3") == [] and INDEX.find("email", "gone@four.example") == []
    assert INDEX.find("phone", "123") == []


def test_one_customer_through_its_own_and_a_contacts_email_is_one_match_several_customers_are_all_found():
    assert INDEX.find("email", "same@five.example") == [Match("C5", "Company C5")]
    assert [match.account_id for match in INDEX.find("email", "shared@group.example")] == ["C2", "C3"]
