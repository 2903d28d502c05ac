"""The sample partner package (examples/partner-extensions), installed into the venv for the tests.

`pip install -e` once when any of its entry points is missing (a fresh clone); the running process then
finds its entry points at once, and its module through `sys.path` (an editable install's path hook
only acts in processes started after it).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sonet_pipeline.extensions.python_kind import entry_point_names

PACKAGE = Path(__file__).resolve().parent.parent / "examples" / "partner-extensions"


def _declared() -> set[str]:
    """The entry points the package's pyproject declares (an older install may lack some)."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return set(project["entry-points"]["sonet_pipeline.extensions"])


@pytest.fixture(scope="session")
def partner_extensions() -> Path:
    """The sample package, installed and importable; its folder."""
    if not _declared() <= set(entry_point_names()):
        command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(PACKAGE)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"pip install -e {PACKAGE} failed:\n{done.stdout}\n{done.stderr}"
        assert _declared() <= set(entry_point_names()), "the sample package is installed, its entry points not seen"
    source = str(PACKAGE / "src")
    if source not in sys.path:
        sys.path.append(source)
    return PACKAGE
