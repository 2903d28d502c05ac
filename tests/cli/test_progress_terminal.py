"""`sonet-pipeline sync` as a person and as a script see it: real processes against the stand-in.

On a terminal (a pseudo-terminal for both stdout and stderr) the sync draws its progress on one line,
redrawn in place and cleared before the summary. Under `--json`, or with its output in pipes, it
prints exactly what it printed before: on stdout the one JSON document or the summary, on stderr
Dagster's log and no progress line, and its run logs no progress report."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from sonet_pipeline.cli.runs.progress_line import CLEAR_TO_END
from sonet_pipeline.common.progress import decode
from sonet_pipeline.jobs.cli_runs import prepare_instance
from tests.tenants_file import write_acme_tenant

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "sonet_pipeline.cli"]
#: A drawn progress line: the tenant, an entity, its records.
PROGRESS_LINE = re.compile(r"\rsync acme \w+: [\d,]+ records, [^\r]*?[\d,]+ pages?, initial read")


def on_terminal(args: list[str], env: dict[str, str], timeout: float = 300) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on one pseudo-terminal 200 columns wide; its exit code
    and everything it wrote there."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    process = subprocess.Popen([*CLI, *args], stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    written = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the process has ended and closed its side
                break
            if not chunk:
                break
            written += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=30), written.decode()


def progress_reports(run_id: str) -> int:
    records = prepare_instance().get_records_for_run(run_id).records
    return sum(1 for r in records if r.event_log_entry.dagster_event is None and decode(r.event_log_entry.user_message))


@pytest.fixture
def env(sonet, tmp_path, monkeypatch) -> dict[str, str]:
    write_acme_tenant(sonet, tmp_path, monkeypatch)
    return {**os.environ, "TERM": "xterm"}


def test_on_a_terminal_the_sync_draws_its_progress_then_the_summary(env) -> None:
    code, written = on_terminal(["sync"], env)
    assert code == 0, written
    assert PROGRESS_LINE.search(written), written
    assert "done in" in written
    summary = re.search(r"sync run ([0-9a-f-]{36}): succeeded", written)
    assert summary is not None, written
    before, _, after = written.partition(summary.group(0))
    assert CLEAR_TO_END in before and CLEAR_TO_END not in after  # the line is cleared before the summary
    assert "DEBUG" not in written  # Dagster's console shows warnings and errors only meanwhile
    assert progress_reports(summary.group(1)) > 0


def test_under_json_on_a_terminal_nothing_is_drawn(env) -> None:
    code, written = on_terminal(["sync", "--json"], env)
    assert code == 0, written
    assert CLEAR_TO_END not in written and not PROGRESS_LINE.search(written)
    document = json.loads(written.strip().splitlines()[-1])  # the JSON document, last, on its own line
    assert document["success"] and progress_reports(document["run_id"]) == 0


def test_with_output_in_pipes_stdout_is_the_summary_alone_and_nothing_is_drawn(env) -> None:
    done = subprocess.run([*CLI, "sync"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.match(r"sync run [0-9a-f-]{36}: succeeded\n(  .*\n)+$", done.stdout), done.stdout
    assert CLEAR_TO_END not in done.stderr and "progress {" not in done.stderr
    run_id = done.stdout.split()[2].rstrip(":")
    assert progress_reports(run_id) == 0
