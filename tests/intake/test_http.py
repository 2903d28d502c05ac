"""The intake over real HTTP: status codes, error bodies, durability and the batch route (conventions.md)."""

from __future__ import annotations

import json
import logging

import pytest

from sonet_pipeline.intake.server import RunningIntake
from sonet_pipeline.outbox import open_outbox
from tests.intake.conftest import TENANTS, TOKEN, TOKENS, WRONG_TOKEN, Client, order


def test_new_order_is_durable_before_the_202_and_the_same_order_again_is_200(client, outbox_path):
    """A 202 means the order is committed: another connection to the outbox reads it at once; the
    same order again answers 200 with the same message id and stores nothing new."""
    sent = order()
    first = client.post("/orders", sent)
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["state"] == "pending"
    with open_outbox(outbox_path) as reader:  # a separate connection: only committed data is visible
        stored = reader.get(body["message_id"])
        assert stored is not None
        assert (stored.tenant, stored.order_number, stored.order) == ("acme", sent["orderNumber"], sent)
    again = client.post("/orders", sent)
    assert (again.status_code, again.json()) == (200, body)


def test_same_order_number_with_other_content_is_409_naming_the_stored_message(client):
    """Other content under a stored orderNumber is refused with 409; the body names the stored message."""
    sent = order()
    stored = client.post("/orders", sent).json()
    changed = client.post("/orders", {**sent, "comment": "changed"})
    assert changed.status_code == 409
    body = changed.json()
    assert body["error"]["code"] == "ORDER_CONFLICT"
    assert body["error"]["field"] == "orderNumber"
    assert stored["message_id"] in body["error"]["message"]
    assert body["message_id"] == stored["message_id"]


@pytest.mark.parametrize("token", [None, WRONG_TOKEN, "", TOKEN + "x", TOKEN[:-1]])
def test_missing_or_wrong_token_is_401_and_no_token_is_echoed_or_logged(client, token, caplog):
    """Without the tenant's bearer token: 401 with the error body; neither the presented token nor
    the real one appears in the answer or in any log record."""
    caplog.set_level(logging.DEBUG)
    answer = client.post("/orders", order(), token=token)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "UNAUTHORIZED"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    for secret in filter(None, (token, TOKEN)):
        assert secret not in answer.text
        assert not [r for r in caplog.records if secret in r.getMessage()]


@pytest.mark.parametrize(("tenant", "named"), [("unset", "UNSET_INTAKE_TOKEN"), ("untokened", "intake_token_env")])
def test_tenant_without_a_configured_token_refuses_every_request(client, tenant, named):
    """A tenant whose token variable is unset, or that names none, refuses even a request with some
    token: 401 whose message names the variable (or the missing setting), never a value."""
    answer = client.post("/orders", order(), token=TOKEN, tenant=tenant)
    assert answer.status_code == 401
    message = answer.json()["error"]["message"]
    assert named in message
    assert TOKEN not in message


def test_unknown_tenant_is_404(client):
    """A tenant not in the configuration: 404 with the error body."""
    answer = client.post("/orders", order(), tenant="nobody")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "UNKNOWN_TENANT"


def test_body_over_one_mib_is_413_and_the_sender_reads_the_answer(client):
    """A body over 1 MiB is refused with 413 (read with a cap; the sender gets the answer, not a reset)."""
    big = order(comment="x" * 10)
    data = json.dumps(big).encode().replace(b'"x', b'"' + b"x" * (1024 * 1024), 1)
    answer = client.post("/orders", data=data)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "TOO_LARGE"


def test_body_that_is_not_json_is_400(client):
    """Bytes that do not parse as JSON: 400 INVALID_JSON, with the error body and no field."""
    answer = client.post("/orders", data=b'{"orderNumber": "A-1",')
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_JSON"
    assert answer.json()["error"]["field"] is None


def _line(**changes: object) -> list[dict[str, object]]:
    return [{"sku": "BOOT-PRO-43", "quantity": "2", "unitPrice": "59.90", "vatRate": "25.5", **changes}]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": _line(quantity=2)}, "lines[0].quantity"),
        ({"lines": _line(quantity="-1")}, "lines[0].quantity"),
        ({"customer": {"kind": "account", "name": "Oy Ab"}}, "customer.customerNumber"),
        ({"customer": {"kind": "account", "customerNumber": "  "}}, "customer.customerNumber"),
        ({"createdAt": "yesterday"}, "createdAt"),
        ({"lines": []}, "lines"),
        ({"currency": "eur"}, "currency"),
        ({"unknownField": 1}, "unknownField"),
    ],
)
def test_invalid_order_is_422_naming_the_field(client, changes, field):
    """An order against the schema or a semantic rule: 422 and the JSON path of the offending field."""
    answer = client.post("/orders", order(**changes))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    assert error["code"] in ("SCHEMA", "INVALID")
    assert error["message"]


def test_string_with_a_lone_surrogate_is_422_with_its_field(client):
    """`"\\ud800"` parses but is not text: refused (422 INVALID_TEXT, the field named), never a 5xx."""
    data = json.dumps(order(comment="PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800").encode()
    answer = client.post("/orders", data=data)
    assert answer.status_code == 422
    assert answer.json()["error"] == {
        "code": "INVALID_TEXT",
        "message": "a string holds a lone UTF-16 surrogate, which is not text",
        "field": "comment",
    }


def test_batch_answers_each_order_in_order_and_stores_the_valid_ones_with_one_commit(client, intake, outbox):
    """The batch route answers per order, in order (new 202, invalid 422, same again 200, other
    content 409, new 202); the valid ones are stored with a single grouped commit."""
    known = order()
    stored = client.post("/orders", known).json()
    batch = [order(), order(currency="euro"), known, {**known, "comment": "other"}, order()]
    commits = intake.committer.commits
    answer = client.post("/orders/batch", batch)
    assert answer.status_code == 200
    entries = answer.json()
    assert [entry["status"] for entry in entries] == [202, 422, 200, 409, 202]
    assert intake.committer.commits == commits + 1
    assert entries[1]["error"]["field"] == "currency"
    assert entries[2] == {"status": 200, **stored}
    assert entries[3]["message_id"] == stored["message_id"]
    for sent, entry in zip(batch, entries, strict=True):
        if entry["status"] == 202:
            assert outbox.get(entry["message_id"]).order == sent


def test_batch_limits_and_shape(client):
    """A batch must be a JSON array (else 400) of at most 1,000 orders (else 413); `[]` answers `[]`."""
    assert client.post("/orders/batch", order()).json()["error"]["code"] == "NOT_AN_ARRAY"
    too_many = client.post("/orders/batch", [{}] * 1001)
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (413, "TOO_MANY_ORDERS")
    empty = client.post("/orders/batch", [])
    assert (empty.status_code, empty.json()) == (200, [])


def test_a_body_declared_as_other_than_json_is_415_and_not_stored(client, outbox):
    """A Content-Type that is not JSON is refused before the body is read; none at all is read as JSON."""
    sent = order()
    for path in ("/orders", "/orders/batch"):
        answer = client.session.post(
            f"{client.base_url}/tenants/acme{path}",
            data=json.dumps(sent if path == "/orders" else [sent]),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"},
            timeout=30,
        )
        assert (answer.status_code, answer.json()["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert outbox.find("acme", sent["orderNumber"]) is None
    bare = client.session.post(
        f"{client.base_url}/tenants/acme/orders", data=json.dumps(sent), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert bare.status_code == 202, bare.text


def test_health_and_unknown_routes_answer_with_the_error_body(client):
    """`/health` is 200; an unknown path (404) and a wrong method (405) still use the error body."""
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/nowhere").json()["error"]["code"] == "NOT_FOUND"
    wrong_method = client.get("/tenants/acme/orders")
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")


class _DownOutbox:
    """An outbox whose database is gone."""

    def enqueue_many(self, *args: object, **kwargs: object) -> list[object]:
        import sqlite3

        raise sqlite3.OperationalError("disk I/O error")


def test_outbox_that_cannot_store_is_503_with_retry_after(seed_rights):
    """When the outbox cannot commit, a valid order is answered 503 with Retry-After (never a 202)."""
    with RunningIntake(TENANTS, _DownOutbox(), token_lookup=TOKENS.get, rights=seed_rights) as running:  # type: ignore[arg-type]
        client = Client(running.base_url)
        single = client.post("/orders", order())
        batch = client.post("/orders/batch", [order()])
    for answer in (single, batch):
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "OUTBOX_UNAVAILABLE"
        assert int(answer.headers["Retry-After"]) > 0


def test_batch_judges_each_order_alone_even_one_that_is_not_text(client):
    """One order of a batch holding a lone surrogate (or not an object at all) is refused alone;
    its neighbours are stored."""
    good, bad = order(), order(comment="PLACEHOLDER")
    data = json.dumps([good, bad, 7]).replace("PLACEHOLDER", "\\udc00").encode()
    answer = client.post("/orders/batch", data=data)
    assert [entry["status"] for entry in answer.json()] == [202, 422, 422]
    assert answer.json()[1]["error"]["code"] == "INVALID_TEXT"
