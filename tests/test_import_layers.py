"""The import contract of `pyproject.toml` (`lint-imports`) holds on the tree and bites on a wrong import.

Each wrong import is written into a copy of the package, and `lint-imports` runs on that copy with the
project's own configuration: the check that CI runs is shown to fail exactly where the layering says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install the dev extras (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_every_contract():
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


WRONG_IMPORTS = [
    pytest.param(
        "store/quality.py",
        "from sonet_pipeline.assets import inbound",
        "sonet_pipeline.store is not allowed to import sonet_pipeline.assets",
        id="the core imports a Dagster asset",
    ),
    pytest.param(
        "shop/catalogue.py",
        "import dagster",
        "sonet_pipeline.shop is not allowed to import dagster",
        id="the core imports Dagster",
    ),
    pytest.param(
        "intake/app.py",
        "import dagster_aws",
        "sonet_pipeline.intake is not allowed to import dagster_aws",
        id="the intake imports dagster-aws",
    ),
    pytest.param(
        "standin/state.py",
        "from sonet_pipeline.outbox import model",
        "sonet_pipeline.standin is not allowed to import sonet_pipeline.outbox",
        id="the stand-in imports the pipeline",
    ),
    pytest.param(
        "config/tenants.py",
        "from sonet_pipeline.shop import catalogue",
        "sonet_pipeline.config is not allowed to import sonet_pipeline.shop",
        id="config imports the shop (the old tenants-shop cycle)",
    ),
    pytest.param(
        "outbox/store.py",
        "from sonet_pipeline.outbox import factory",
        "- .store -> .factory",
        id="the outbox store imports its factory (the old cycle)",
    ),
    pytest.param(
        "inbound/sync.py",
        "from sonet_pipeline.outbound import sender",
        "sonet_pipeline.inbound is not allowed to import sonet_pipeline.outbound",
        id="one flow imports the other",
    ),
    pytest.param(
        "resources/store.py",
        "from sonet_pipeline.sensors import order_sensor",
        "sonet_pipeline.resources is not allowed to import sonet_pipeline.sensors",
        id="a resource imports a sensor",
    ),
]


@pytest.mark.parametrize(("module", "line", "complaint"), WRONG_IMPORTS)
def test_a_wrong_import_breaks_the_contract(tmp_path, module, line, complaint):
    shutil.copytree(REPO / "sonet_pipeline", tmp_path / "sonet_pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "sonet_pipeline" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberately wrong\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert complaint in result.stdout, result.stdout
