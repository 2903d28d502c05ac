"""The lease resource: a run waits for a lease another run holds, and goes ahead under one its own
process took for it (a CLI command holds its tenants for the run it then executes)."""

from __future__ import annotations

import pytest

from sonet_pipeline.common.leases import FileLease, LeaseHeldError, held
from sonet_pipeline.config import settings
from sonet_pipeline.resources.leases import LeaseResource


def test_a_run_goes_ahead_under_the_lease_its_process_took_for_it():
    resource = LeaseResource(wait_seconds=0)
    with held(FileLease(settings.locks_dir(), "store-acme"), "sync run 1f3a"):
        with resource.hold("store-acme", "sync run 1f3a"):
            assert FileLease(settings.locks_dir(), "store-acme").holder().owner == "sync run 1f3a"
        # still held by the command after the run's block: it is the command's to release
        assert FileLease(settings.locks_dir(), "store-acme").holder() is not None
        with pytest.raises(LeaseHeldError, match="held by sync run 1f3a"), resource.hold("store-acme", "sync run 2b4c"):
            pass
    assert FileLease(settings.locks_dir(), "store-acme").holder() is None


def test_a_run_takes_a_free_lease_and_gives_it_back():
    resource = LeaseResource(wait_seconds=0)
    with resource.hold("send-acme", "send run 1f3a"):
        assert FileLease(settings.locks_dir(), "send-acme").holder().owner == "send run 1f3a"
    assert FileLease(settings.locks_dir(), "send-acme").holder() is None
