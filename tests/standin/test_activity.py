"""Simulated ERP activity: realistic, whole-record changes that keep the contract's rules."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sonet_pipeline.common.clock import ManualClock
from sonet_pipeline.standin import activity
from sonet_pipeline.standin.runtime import AcceptedOrder, CompanyConfig, Standin, StandinConfig
from sonet_pipeline.standin.seed_data import MISSING_ITEM_CODE, generate_company
from sonet_pipeline.standin.state import ENTITY_KEYS, Version, from_ms, to_ms

START = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
SEED_STAMP = START - timedelta(days=3)


class RecordingLog:
    """A `ChangeLog` that keeps what it is given, in order."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, str, Version]] = []
        self.orders: list[tuple[str, AcceptedOrder]] = []

    def append_change(self, company_code: str, entity: str, version: Version) -> None:
        self.changes.append((company_code, entity, version))

    def append_order(self, company_code: str, order: AcceptedOrder) -> None:
        self.orders.append((company_code, order))


def _item(code: str, **fields: object) -> dict:
    record = {
        "itemCode": code,
        "name": f"Item {code}",
        "description": None,
        "modelCode": None,
        "modelName": None,
        "variantAttributes": [],
        "productGroup": "TOOLS",
        "unit": "pcs",
        "ean": None,
        "listPrice": "10.00",
        "currency": "EUR",
        "vatRate": "25.5",
        "stockBalance": "5",
        "webVisible": True,
        "status": "ACTIVE",
        "dateModified": SEED_STAMP,
    }
    return {**record, **fields}


def build_records(items: int = 60) -> dict[str, list[dict]]:
    """Seed records in the contract's shape: models with sizes and colours, odd stock, customers, segments,
    price list lines."""
    records: list[dict] = []
    for size in ("39", "40", "41", "42", "43", "45", "46"):  # the contract's model, without size 44
        attrs = [{"name": "Size", "value": size}]
        records.append(_item(f"BOOT-PRO-{size}", modelCode="BOOT-PRO", modelName="Boot Pro", variantAttributes=attrs))
    for size in ("40", "41", "42"):
        attrs = [{"name": "Size", "value": size}]
        records.append(_item(f"SHOE-X-{size}", modelCode="SHOE-X", modelName="Shoe X", variantAttributes=attrs))
    for colour in ("Musta", "Harmaa"):
        for size in ("M", "L"):
            attrs = [{"name": "Colour", "value": colour}, {"name": "Size", "value": size}]
            code = f"JKT-{colour[:3].upper()}-{size}"
            records.append(_item(code, modelCode="JKT", modelName="Jacket", variantAttributes=attrs))
    records.append(_item("CABLE-01", unit="m", stockBalance="125.500", listPrice=None))
    records.append(_item("GLOVE-WORK", listPrice="4.15"))
    for n in range(items - len(records)):
        status = "PASSIVE" if n % 17 == 3 else "DELETED" if n % 23 == 5 else "ACTIVE"
        records.append(_item(f"TL-{n:05d}", status=status, stockBalance=str(n % 9)))
    segments = [
        {
            "segmentCode": code,
            "name": name,
            "customerType": kind,
            "priceListCode": pl,
            "status": "ACTIVE",
            "dateModified": SEED_STAMP,
        }
        for code, name, kind, pl in [
            ("B2B", "Builders", "B2B", "PL-B2B"),
            ("RES", "Resellers", "RESELLER", "PL-R"),
            ("CONSUMER", "Consumers", "CONSUMER", None),
        ]
    ]
    customers = []
    for n in range(12):
        number = ("C10042", "C10666", "C10999")[n] if n < 3 else f"C2{n:04d}"
        customers.append(
            {
                "customerNumber": number,
                "name": f"Firm {n} Oy",
                "businessId": "2345678-0",
                "vatNumber": "FI23456780",
                "email": f"info{n}@example.fi",
                "phone": None,
                "segmentCodes": ["B2B"] if n % 3 else ["RES", "B2B"],
                "priceListCode": "PL-B2B",
                "paymentTermsCode": "NET14",
                "creditLimit": "5000.00",
                "orderBlocked": n == 1,
                "addresses": [],
                "contacts": [{"contactId": f"{number}-1", "name": "A B", "email": None, "role": "BUYER"}],
                "status": "DELETED" if n == 2 else "ACTIVE",
                "dateModified": SEED_STAMP,
            }
        )
    lines = [  # price list lines (contract 1.1), none of the seed's special ones
        {
            "lineId": f"PLL-{n:07d}",
            "priceListCode": "PL-B2B" if n % 2 else "PL-R",
            "itemCode": records[n % len(records)]["itemCode"],
            "price": "9.50",
            "currency": "EUR",
            "minQuantity": "10" if n % 3 == 0 else "1",
            "validFrom": None,
            "validTo": None,
            "status": "ACTIVE",
            "dateModified": SEED_STAMP,
        }
        for n in range(20, 60)
    ]
    return {"items": records, "customers": customers, "customerSegments": segments, "priceListLines": lines}


def make_standin(
    clock: ManualClock | None = None, *, items: int = 60, late_share: float = 0.0, codes: tuple[str, ...] = ("C1", "C2")
) -> Standin:
    """A stand-in of `codes` companies, unthrottled, each loaded with `build_records(items)`."""
    companies = [CompanyConfig(code, f"token-{code}", seed=n, items=items) for n, code in enumerate(codes)]
    config = StandinConfig(companies, query_limits=None, message_limits=None, late_share=late_share)
    standin = Standin(config, clock or ManualClock(START))
    for company in standin.companies.values():
        for entity, records in build_records(items).items():
            company.state.load(entity, records)
    return standin


def _versions_by_key(log: RecordingLog) -> dict[tuple[str, str, str], list[Version]]:
    by_key: dict[tuple[str, str, str], list[Version]] = defaultdict(list)
    for code, entity, version in log.changes:
        by_key[(code, entity, version.record[ENTITY_KEYS[entity]])].append(version)
    return by_key


def test_random_changes_are_a_realistic_mix_of_whole_records_with_rising_stamps():
    """Every kind of change occurs; each writes a whole record; per key dateModified only rises."""
    clock = ManualClock(START)
    standin, log = make_standin(clock), RecordingLog()
    standin.change_log = log
    company = standin.companies["C1"]
    seed_fields = {e: set(build_records()[e][0]) for e in ("items", "customers", "customerSegments", "priceListLines")}
    accepted = [
        {
            "messageId": f"m-{n}",
            "sonetOrderNumber": f"SO-{n}",
            "webOrderNumber": f"WEB-{n}",
            "customerNumber": None,
            "orderStatus": "RECEIVED",
        }
        for n in range(40)
    ]
    standin.apply_change(company, "salesOrders", accepted)  # as the Message API records accepted orders
    seed_fields["salesOrders"] = {*accepted[0], "dateModified"}
    log.changes.clear()
    counts: Counter[str] = Counter()
    for _ in range(20):
        counts.update(activity.random_changes(standin, company, 60, random.Random(len(log.changes))))
        clock.advance(0.0004)  # mostly the same millisecond: stamps must still rise per key
    assert sum(counts.values()) == 1200 == len(log.changes)
    assert set(counts) == {name for name, _, _ in activity._KINDS}
    for code, entity, version in log.changes:
        assert code == "C1"
        assert set(version.record) == seed_fields[entity], version.record
        assert version.record["dateModified"] == from_ms(version.modified_ms)
    for versions in _versions_by_key(log).values():
        stamps = [v.modified_ms for v in versions]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_values_keep_their_formats_and_stock_rarely_goes_negative():
    """Prices are strings with 2 decimals, stock keeps its decimals, negative stock is rare, new keys are new."""
    standin, log = make_standin(), RecordingLog()
    standin.change_log = log
    activity.random_changes(standin, standin.companies["C1"], 1500, random.Random(5))
    items = [v.record for _, entity, v in log.changes if entity == "items"]
    for item in items:
        price = item["listPrice"]
        assert price is None or (isinstance(price, str) and Decimal(price) > 0 and len(price.split(".")[1]) == 2)
        assert isinstance(item["stockBalance"], str)
    cable = [i["stockBalance"] for i in items if i["itemCode"] == "CABLE-01"]
    assert cable and all(len(s.split(".")[1]) == 3 for s in cable)
    negative = [i for i in items if Decimal(i["stockBalance"]) < 0]
    assert len(negative) <= 0.02 * len(items)
    state = standin.companies["C1"].state
    assert state.latest("items", MISSING_ITEM_CODE) is None


def test_new_variants_join_an_existing_model_with_a_new_attribute_set():
    """A new variant carries an existing modelCode and a variantAttributes set no sibling has."""
    standin = make_standin()
    company = standin.companies["C1"]
    rng = random.Random(11)
    made = sum(activity.random_changes(standin, company, 1, rng).get("item_new_variant", 0) for _ in range(400))
    assert made > 0
    by_model: dict[str, list[frozenset]] = defaultdict(list)
    for item in company.state.snapshot("items"):
        if item["modelCode"]:
            by_model[item["modelCode"]].append(frozenset((a["name"], a["value"]) for a in item["variantAttributes"]))
    assert sum(len(sets) for sets in by_model.values()) == 14 + made
    assert len(by_model["BOOT-PRO"]) == 7  # a model of the contract's examples gets no new variants
    for sets in by_model.values():
        assert len(set(sets)) == len(sets)
    assert company.state.latest("items", "BOOT-PRO-44") is None  # the contract's unknown item is never made


def test_deleted_records_stay_with_status_deleted_and_are_not_changed_again():
    """A deletion is a new version with status DELETED; the record stays listed and is not revived."""
    standin, log = make_standin(), RecordingLog()
    standin.change_log = log
    state = standin.companies["C1"].state
    before = state.count("items")
    activity.random_changes(standin, standin.companies["C1"], 1500, random.Random(3))
    deleted = {v.record["itemCode"] for _, e, v in log.changes if e == "items" and v.record["status"] == "DELETED"}
    assert deleted
    standin.clock.sleep(1)  # the still clock made later stamps a few ms ahead: let them become visible
    assert state.count("items") >= before
    listed = {r["itemCode"]: r for r in state.snapshot("items", visible_only=True)}
    for code in deleted:
        assert listed[code]["status"] == "DELETED"
    for versions in _versions_by_key(log).values():
        statuses = [v.record.get("status") for v in versions]
        assert "DELETED" not in statuses[:-1], statuses


def test_special_records_of_the_contract_examples_are_never_changed():
    """The seed's special items and customers (the contract's examples) keep their seed versions."""
    standin, log = make_standin(items=200), RecordingLog()
    standin.change_log = log
    activity.random_changes(standin, standin.companies["C1"], 2000, random.Random(9))
    activity.bulk_update(standin, standin.companies["C1"], "items", 500)
    touched = {v.record[ENTITY_KEYS[e]] for _, e, v in log.changes}
    assert not touched & {"BOOT-PRO-43", "GLOVE-WORK", "C10042", "C10666", "C10999"}


def test_bulk_update_shares_one_stamp_and_pages_by_cursor_without_loss_or_duplicates():
    """1200 records stamped with ONE millisecond page through `first=500` exactly once each."""
    clock = ManualClock(START)
    standin = make_standin(clock, items=1500)
    company = standin.companies["C1"]
    old = {r["itemCode"]: r for r in company.state.snapshot("items")}
    clock.advance(5)
    assert activity.bulk_update(standin, company, "items", 1200) == 1200
    seen: list[str] = []
    after, pages = None, 0
    while True:
        page = company.state.page("items", first=500, after=after, modified_from=clock.now())
        seen += [r["itemCode"] for r in page.records]
        pages += 1
        assert {ms for ms, _ in page.positions} <= {to_ms(clock.now())}
        if not page.has_next_page:
            break
        after = page.positions[-1]
    assert pages == 3 and len(seen) == 1200 == len(set(seen))
    for code in seen:
        new = company.state.latest("items", code)
        if old[code]["listPrice"] is not None:
            assert Decimal(new["listPrice"]) == (Decimal(old[code]["listPrice"]) * Decimal("1.03")).quantize(
                Decimal("0.01")
            )
        assert old[code]["status"] != "DELETED"


def test_backdated_changes_stay_invisible_until_the_clock_passes_their_delay():
    """Back-dated changes carry their early dateModified but show up only `delay_seconds` later."""
    clock = ManualClock(START)
    standin, log = make_standin(clock), RecordingLog()
    standin.change_log = log
    state = standin.companies["C1"].state
    counts = activity.backdated_changes(standin, standin.companies["C1"], 40, 60.0, random.Random(4))
    assert sum(counts.values()) == 40
    changed = {(e, v.record[ENTITY_KEYS[e]]) for _, e, v in log.changes}
    versions = [v for _, _, v in log.changes]
    assert all(v.visible_ms == v.modified_ms + 60_000 for v in versions)
    assert all(0 <= v.modified_ms - to_ms(START) < 100 for v in versions)  # stamped now (+1 ms per repeat)

    def newly_listed() -> set[tuple[str, str]]:
        return {
            (e, r[ENTITY_KEYS[e]]) for e in ENTITY_KEYS for r in state.page(e, first=500, modified_from=START).records
        }

    clock.advance(59.999)
    assert newly_listed() == set()
    assert all(state.visible(e, k) != state.latest(e, k) for e, k in changed)
    clock.set(from_ms(max(v.visible_ms for v in versions)))
    assert newly_listed() == changed
    assert all(state.visible(e, k) == state.latest(e, k) for e, k in changed)


def test_the_same_seed_makes_the_same_changes():
    """Two stand-ins with the same data, clock and rng seed make identical changes; another seed differs."""

    def run(seed: int) -> list[tuple]:
        standin, log = make_standin(), RecordingLog()
        standin.change_log = log
        for company in standin.companies.values():
            activity.random_changes(standin, company, 300, random.Random(seed))
        return [(c, e, v.record, v.modified_ms, v.visible_ms) for c, e, v in log.changes]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_random_changes_cope_with_the_real_seed_data():
    """The activity runs on `seed_data`'s dirty records (hostile texts, dangling segments, consumers)."""
    standin = make_standin(codes=("C1",))
    company = standin.companies["C1"]
    data = generate_company(3, items=400)
    for entity, records in (
        ("items", data.items),
        ("customers", data.customers),
        ("customerSegments", data.customer_segments),
    ):
        company.state.load(entity, records)
    counts = activity.random_changes(standin, company, 1000, random.Random(1))
    assert sum(counts.values()) == 1000 and counts.get("item_new_variant", 0) > 0


def test_run_activity_follows_the_stand_in_clock_and_stops_cleanly_when_cancelled():
    """Changes come in proportion to how far the clock moved, spread over companies; none while it stands."""
    clock = ManualClock(START)
    standin, log = make_standin(clock), RecordingLog()
    standin.change_log = log
    totals: Counter[str] = Counter()

    async def wait_for(count: int) -> None:
        deadline = time.monotonic() + 5
        while len(log.changes) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        task = asyncio.create_task(activity.run_activity(standin, 30, step_seconds=0.01, totals=totals))
        await asyncio.sleep(0.2)
        assert log.changes == []  # the ManualClock stands still: nothing, and no busy loop
        clock.advance(60)
        await wait_for(30)
        await asyncio.sleep(0.05)
        assert len(log.changes) == 30
        assert Counter(code for code, _, _ in log.changes) == {"C1": 15, "C2": 15}
        clock.advance(30)
        await wait_for(45)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        clock.advance(600)
        await asyncio.sleep(0.1)

    asyncio.run(scenario())
    assert len(log.changes) == 45 == sum(totals.values())
