"""Which process on which host runs something, as tags, and whether that process still lives.

Every run of the pipeline carries these tags (`jobs/liveness.py` reads them, `RunGuardResource` and the
CLI write them), so a run whose process died can be told from one that is still working.
"""

from __future__ import annotations

import os
import socket

PID_TAG = "sonet/pid"
HOST_TAG = "sonet/host"


def process_tags() -> dict[str, str]:
    """This process's pid and host, as run tags."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def alive(pid: int) -> bool:
    """Whether process `pid` of this host is still there."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
