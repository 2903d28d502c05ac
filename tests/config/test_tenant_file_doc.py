"""docs/tenant-file.md documents every key the tenants-file loader accepts, and its examples load.

The keys come from the loader's own models (`TenantsFile`, `Tenant` and every section model they
hold), so a key added to the loader without a line in the reference fails here, naming the key.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from sonet_pipeline.config.tenants import Tenant, TenantsFile, load_tenants

DOC = Path(__file__).resolve().parents[2] / "docs" / "tenant-file.md"


def _models_in(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    """The models a field's annotation holds, each with whether it is a list item (`list[M]`, `tuple[M, ...]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        yield from _models_in(args[0])
    elif origin in (Union, types.UnionType):
        for arg in args:
            yield from _models_in(arg)
    elif origin in (list, tuple):
        for arg in args:
            for model, _ in _models_in(arg):
                yield model, True


def key_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every key `model` accepts, as written in the file: `sonet.query_limits.rate`, `shop.rights[].when.roles`."""
    for name, field in model.model_fields.items():
        path = prefix + (field.alias or name)
        yield path
        for inner, is_item in _models_in(field.annotation):
            yield from key_paths(inner, path + ("[]." if is_item else "."))


def documented() -> set[str]:
    """The key paths the reference's tables name: the first cell of each row, in backticks."""
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return set(rows)


def test_the_walk_finds_the_loaders_keys():
    """Guards the test itself: the walk reaches the file level, the tenant and the nested sections."""
    assert list(key_paths(TenantsFile)) == ["tenants", *(f"tenants[].{p}" for p in key_paths(Tenant))]
    paths = set(key_paths(Tenant))
    for expected in ("name", "sonet.query_limits.rate", "sonet.token_secret.key", "shop.rights[].when.roles"):
        assert expected in paths


def test_every_top_level_key_is_documented():
    """The file's `tenants` and each key of a tenant entry has a row in docs/tenant-file.md."""
    top = ["tenants", *(field.alias or name for name, field in Tenant.model_fields.items())]
    missing = [key for key in top if key not in documented()]
    assert not missing, f"docs/tenant-file.md has no row for the tenant key(s): {', '.join(missing)}"


def test_every_nested_key_is_documented():
    """Each key of each section (`sonet.query_limits.rate`, `shop.rights[].when.roles`, ...) has a row."""
    missing = [path for path in key_paths(Tenant) if path not in documented()]
    assert not missing, f"docs/tenant-file.md has no row for: {', '.join(missing)}"


def _examples() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [block for block in blocks if block.startswith("tenants:")]


def test_the_examples_load(tmp_path):
    """Every example in the reference that starts with `tenants:` is a file the loader accepts."""
    examples = _examples()
    assert examples, "docs/tenant-file.md has no example starting with 'tenants:'"
    for index, example in enumerate(examples):
        path = tmp_path / f"example{index}.yaml"
        path.write_text(example, encoding="utf-8")
        assert load_tenants(path), f"example {index + 1} of docs/tenant-file.md"
