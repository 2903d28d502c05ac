"""`demo --once`'s `sonet-pipeline` commands, run one after another in one child process.

The child (`python -m sonet_pipeline.cli.demo_once_child`) reads one JSON array of arguments a line on
stdin, runs `sonet-pipeline ARGS` in its process exactly as the command line would, and answers one
JSON line on stdout: `{"exit": code, "stdout": what the command printed}`; its stderr (the commands'
logs and progress) goes to a log file. Dagster and the pipeline are imported once for the four commands
of a cycle instead of four times: on a small machine, the largest cost of the cycle. `CommandProcess`
is the parent's side.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CommandResult = tuple[int, str]


class CommandProcess:
    """The child that runs the commands, started with `env`, its stderr appended to `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with log.open("ab") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sonet_pipeline.cli.demo_once_child"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
            )

    def run(self, args: list[str], timeout: float) -> CommandResult:
        """The exit code and stdout of `sonet-pipeline ARGS`; TimeoutError after `timeout` seconds,
        RuntimeError when the child is gone."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write((json.dumps(args) + "\n").encode("utf-8"))
            stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"the command process ended (exit {self.process.poll()})") from None
        deadline = time.monotonic() + timeout
        while not select.select([stdout], [], [], max(0.0, min(1.0, deadline - time.monotonic())))[0]:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no answer within {timeout:.0f} s")
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the command process ended (exit {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return int(answer["exit"]), str(answer["stdout"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
