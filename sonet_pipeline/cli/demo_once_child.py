"""The child process of `demo --once`'s commands (`cli/demo_once_commands.py` starts it and says how
it answers). Nothing imports this module: it imports `cli/main.py`, which imports the demo."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from typing import IO

from sonet_pipeline.cli.main import main


def serve(requests: IO[str], answers: IO[str]) -> None:
    """Run each command read from `requests`; answer on `answers` (the child's side)."""
    for line in requests:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                code = main(json.loads(line))
            except SystemExit as exit_:  # argparse
                code = exit_.code if isinstance(exit_.code, int) else 2
            except Exception:  # the command's failure, not the child's: said in the log, exit 1
                traceback.print_exc()
                code = 1
        answers.write(json.dumps({"exit": code, "stdout": printed.getvalue()}) + "\n")
        answers.flush()


def _answers_channel() -> IO[str]:
    """Our stdout kept for the answers alone; fd 1 itself then goes to stderr (the log), so nothing a
    command or a process it starts writes there can mix with an answer."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel


if __name__ == "__main__":
    serve(sys.stdin, _answers_channel())
