"""The audit archive on a folder and on S3 (moto): each attempt's exact bytes and answer, named by tenant,
message, attempt and instant; listing and locating a message's attempts; pruning by age that removes
only what is older, and lists only the days it prunes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sonet_pipeline.archive import Archive, TenantArchive, open_archive
from sonet_pipeline.common.blobs import Blobs, FolderBlobs, S3Blobs
from sonet_pipeline.sonet.message import ACCEPTED, REJECTED, TRANSIENT, UNKNOWN, SendOutcome

T0 = datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=UTC)
DAY = timedelta(days=1)
MID = "6f0c4a3e-1c1e-4f43-9d3c-3a6d1e2b7c10"
OTHER = "0b6f2f7e-5d1c-4c55-9a57-3f1b1c9a0e21"
XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<SalesOrder xmlns="urn:sonet">\xc3\xa4</SalesOrder>\n'
RECEIPT = b"<MessageReceipt><Status>ACCEPTED</Status><SonetOrderNumber>SO-1</SonetOrderNumber></MessageReceipt>"
ERROR = b"<MessageError><Code>UNKNOWN_ITEM</Code><Field>Lines/Line[2]/ItemCode</Field></MessageError>"


@pytest.fixture(params=["folder", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blobs]:
    if request.param == "folder":
        yield FolderBlobs(tmp_path / "archive", remove_empty_folders=True)
    else:
        import boto3
        from moto import mock_aws

        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket="audit")
            yield S3Blobs.from_url("s3://audit/prod/archive", client)


@pytest.fixture
def archive(blobs: Blobs) -> Archive:
    return Archive(blobs)


def attempt(
    tenant: TenantArchive,
    message_id: str,
    n: int,
    at: datetime,
    outcome: SendOutcome | None,
    xml: bytes = XML,
) -> None:
    """One attempt archived as the sender does it: the request, then (unless None: the process died) the answer."""
    entry = tenant.entry(message_id, n, at, order_number="WEB-1", order_version=1)
    tenant.record_request(entry, xml)
    if outcome is not None:
        tenant.record_answer(entry, outcome, xml=xml, answered_at=at)


def accepted() -> SendOutcome:
    headers = {"Content-Type": "application/xml; charset=utf-8", "X-Request-Id": "req-42"}
    return SendOutcome(ACCEPTED, 201, sonet_order_number="SO-1", headers=headers, body=RECEIPT)


def test_an_attempt_keeps_the_exact_bytes_sent_and_the_answer(archive: Archive, blobs: Blobs) -> None:
    """The request as sent, byte for byte; the answer's body as received; its status, chosen headers and
    the outcome in `.answer.json`, named `<tenant>/<message id>/<attempt>-<instant>`."""
    acme = archive.for_tenant("acme")
    attempt(acme, MID, 1, T0, accepted())
    stem = f"acme/{MID}/001-20260301T235959.123456Z"
    assert sorted(blobs.names(f"acme/{MID}/")) == [f"{stem}.answer.body", f"{stem}.answer.json", f"{stem}.request.xml"]
    assert blobs.get(f"{stem}.request.xml") == XML
    assert blobs.get(f"{stem}.answer.body") == RECEIPT
    document = json.loads(blobs.get(f"{stem}.answer.json") or b"")
    assert document["answer"] == {
        "status": 201,
        "headers": {"Content-Type": "application/xml; charset=utf-8", "X-Request-Id": "req-42"},
        "body": {"name": "001-20260301T235959.123456Z.answer.body", "bytes": len(RECEIPT), "sha256": _sha(RECEIPT)},
    }
    assert document["request"] == {
        "name": "001-20260301T235959.123456Z.request.xml",
        "bytes": len(XML),
        "sha256": _sha(XML),
    }
    assert document["outcome"]["kind"] == ACCEPTED and document["outcome"]["sonet_order_number"] == "SO-1"
    assert (document["tenant"], document["message_id"], document["attempt"], document["no_answer"]) == (
        "acme",
        MID,
        1,
        None,
    )
    assert document["sent_at"] == "2026-03-01T23:59:59.123456Z"


def test_list_and_location_name_every_attempt_of_a_message(archive: Archive, blobs: Blobs) -> None:
    """`list` gives each attempt, oldest first, with its outcome and status and where its files are: a
    503, a lost answer (no status, `no_answer` says why), an accepted one, and a request whose process
    died before the answer; `location` names the message's folder or prefix."""
    acme = archive.for_tenant("acme")
    unavailable = SendOutcome(
        TRANSIENT, 503, "MAINTENANCE", "down", retry_after=30, headers={"Retry-After": "30"}, body=b"x"
    )
    lost = SendOutcome(UNKNOWN, message="no answer: ConnectionError: reset")
    attempt(acme, MID, 1, T0, unavailable)
    attempt(acme, MID, 2, T0 + timedelta(minutes=1), lost)
    attempt(acme, MID, 3, T0 + timedelta(minutes=2), accepted())
    attempt(acme, MID, 4, T0 + timedelta(minutes=3), None)
    attempt(archive.for_tenant("nordic"), MID, 1, T0, accepted())
    listed = archive.list("acme", MID)
    assert [(a.attempt, a.outcome, a.status, a.code) for a in listed] == [
        (1, TRANSIENT, 503, "MAINTENANCE"),
        (2, UNKNOWN, None, None),
        (3, ACCEPTED, 201, None),
        (4, None, None, None),
    ]
    assert listed[1].body is None and listed[1].answer is not None and listed[3].answer is None
    assert listed[0].sent_at == T0 and listed[0].request == blobs.describe(
        f"acme/{MID}/001-20260301T235959.123456Z.request.xml"
    )
    lost_answer = json.loads(blobs.get(f"acme/{MID}/002-20260302T000059.123456Z.answer.json") or b"")
    assert lost_answer["answer"] is None and lost_answer["no_answer"] == "no answer: ConnectionError: reset"
    assert json.loads(blobs.get(f"acme/{MID}/001-20260301T235959.123456Z.answer.json") or b"")["answer"]["headers"] == {
        "Retry-After": "30"
    }
    assert archive.location("acme", MID) == blobs.describe(f"acme/{MID}")
    assert archive.location("acme", MID).endswith(f"/acme/{MID}")
    assert archive.list("acme", OTHER) == [] and archive.tenants() == ["acme", "nordic"]
    assert listed[0].to_json()["sent_at"] == "2026-03-01T23:59:59.123456Z"


def test_prune_removes_only_what_is_older_than_the_cutoff(archive: Archive, blobs: Blobs) -> None:
    """A message with attempts on two days and one on a later day: the cutoff inside the second day removes
    the first day's files and the second day's earlier attempt, nothing sent at or after the cutoff; a dry
    run counts the same and deletes nothing; pruning again removes nothing."""
    acme = archive.for_tenant("acme")
    rejected = SendOutcome(REJECTED, 400, "UNKNOWN_ITEM", "no such item", "Lines/Line[2]/ItemCode", body=ERROR)
    attempt(acme, MID, 1, T0, rejected)  # day 1 (2026-03-01), 3 files
    attempt(acme, MID, 2, T0 + timedelta(hours=1), accepted())  # day 2, 00:59, 3 files
    attempt(acme, OTHER, 1, T0 + timedelta(hours=5), accepted())  # day 2, 04:59, kept
    attempt(acme, OTHER, 2, T0 + 3 * DAY, None)  # day 4, kept
    cutoff = T0 + timedelta(hours=2)
    before = sorted(blobs.names())
    assert acme.prune(cutoff, dry_run=True) == 6
    assert sorted(blobs.names()) == before
    assert acme.prune(cutoff) == 6
    assert [a.attempt for a in acme.list(MID)] == [] and [a.attempt for a in acme.list(OTHER)] == [1, 2]
    assert acme.prune(cutoff) == 0
    days = sorted(blobs.folders("acme/by-day/"))
    assert days == ["2026-03-02", "2026-03-04"], "the whole day before the cutoff's is gone from the index"
    assert acme.prune(T0 + 10 * DAY) == 4
    assert list(blobs.names("acme/")) == []


def test_prune_is_per_tenant_and_archive_prune_covers_every_tenant(archive: Archive) -> None:
    """A tenant's prune leaves other tenants alone; `Archive.prune` prunes all of them at one cutoff."""
    attempt(archive.for_tenant("acme"), MID, 1, T0, accepted())
    attempt(archive.for_tenant("nordic"), MID, 1, T0, accepted())
    assert archive.for_tenant("acme").prune(T0 + DAY) == 3
    assert len(archive.list("nordic", MID)) == 1
    assert archive.prune(T0 + DAY, dry_run=True) == 3 and archive.prune(T0 + DAY) == 3
    assert archive.list("nordic", MID) == []


class CountingBlobs(FolderBlobs):
    """A folder that records every listing asked of it and never lets a file be read."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.listed: list[str] = []

    def names(self, prefix: str = "") -> Iterator[str]:
        self.listed.append(prefix)
        return super().names(prefix)

    def get(self, name: str) -> bytes | None:
        raise AssertionError(f"prune read {name}")


def test_prune_lists_only_the_days_it_prunes_and_reads_no_file(tmp_path: Path) -> None:
    """Pruning a year of archive lists the day index once, then only the days up to the cutoff and those
    messages' folders; it never reads an archived file, and never lists the whole archive."""
    writer = Archive(FolderBlobs(tmp_path)).for_tenant("acme")
    ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(30)]
    for n, message_id in enumerate(ids):
        attempt(writer, message_id, 1, T0 + n * DAY, accepted())
    counting = CountingBlobs(tmp_path)
    assert Archive(counting).for_tenant("acme").prune(T0 + 2 * DAY) == 2 * 3
    assert "" not in counting.listed and "acme/" not in counting.listed
    assert sorted(counting.listed) == sorted(
        [f"acme/by-day/2026-03-0{d}/" for d in (1, 2, 3)] + [f"acme/{ids[n]}/" for n in (0, 1, 2)]
    )


def test_a_pruned_folder_archive_leaves_no_empty_folders(tmp_path: Path) -> None:
    """On a folder, what pruning empties goes with it: no folder per pruned message or day remains."""
    archive = Archive(FolderBlobs(tmp_path / "archive", remove_empty_folders=True))
    attempt(archive.for_tenant("acme"), MID, 1, T0, accepted())
    attempt(archive.for_tenant("acme"), OTHER, 1, T0 + 5 * DAY, accepted())
    assert archive.prune(T0 + 2 * DAY) == 3
    left = sorted(p.relative_to(tmp_path / "archive").as_posix() for p in (tmp_path / "archive").rglob("*"))
    assert left == [
        "acme",
        f"acme/{OTHER}",
        *(
            f"acme/{OTHER}/001-20260306T235959.123456Z{kind}"
            for kind in (".answer.body", ".answer.json", ".request.xml")
        ),
        "acme/by-day",
        "acme/by-day/2026-03-06",
        f"acme/by-day/2026-03-06/{OTHER}",
    ]


@pytest.mark.parametrize(
    ("message_id", "problem"),
    [("..", "not a file name"), ("a/b", "not a MessageId"), ("by-day", "not a MessageId")],
)
def test_names_that_could_leave_their_place_are_refused(archive: Archive, message_id: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        archive.for_tenant("acme").entry(message_id, 1, T0, order_number="WEB-1", order_version=1)


def test_a_naive_instant_is_refused(archive: Archive) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        archive.for_tenant("acme").entry(MID, 1, datetime(2026, 3, 1), order_number="WEB-1", order_version=1)


def test_open_archive_is_a_folder_under_the_data_dir_or_under_the_s3_url(tmp_path: Path) -> None:
    """Nothing set: `<data dir>/archive`; an S3 URL: the objects under `<url>/archive/` through the client."""
    import boto3
    from moto import mock_aws

    local = open_archive(None)
    assert local.describe().endswith("/archive") and local.describe().startswith("file://")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="prod-files")
        remote = open_archive("s3://prod-files/sonet", s3_client=lambda: client)
        attempt(remote.for_tenant("acme"), MID, 1, T0, accepted())
        keys = [item["Key"] for item in client.list_objects_v2(Bucket="prod-files")["Contents"]]
    assert remote.describe() == "s3://prod-files/sonet/archive"
    assert f"sonet/archive/acme/{MID}/001-20260301T235959.123456Z.request.xml" in keys
    assert "sonet/archive/acme/by-day/2026-03-01/" + MID in keys
    with pytest.raises(ValueError, match="needs an S3 client"):
        open_archive("s3://prod-files/sonet")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
