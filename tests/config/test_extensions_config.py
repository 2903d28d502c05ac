"""The tenant file's `extensions:` section: parsed into the flows' specs, refused with a named error."""

from __future__ import annotations

import pytest

from sonet_pipeline.config.tenants import TenantConfigError, load_tenants
from sonet_pipeline.extensions.extension import ExtensionSpec

HEAD = "tenants:\n  - name: acme\n    sonet: {base_url: 'http://127.0.0.1:9', company: '01', token_env: ACME_T}\n"


def load(tmp_path, section: str):
    path = tmp_path / "tenants.yaml"
    path.write_text(HEAD + "    extensions:\n" + section)
    return load_tenants(path)[0]


def test_no_section_means_no_extensions(tmp_path):
    path = tmp_path / "tenants.yaml"
    path.write_text(HEAD)
    assert load_tenants(path)[0].extensions.specs("acme") == []


def test_the_section_becomes_specs_by_point_in_order(tmp_path, partner_extensions):
    tenant = load(
        tmp_path,
        "      web_order:\n"
        "        - {name: acme_customer_reference, kind: python, timeout_seconds: 2.5}\n"
        "        - {name: acme_noop}\n"
        "      rights: [{name: acme_trainees_may_not_order}]\n"
        "      catalogue_line: [{name: remote_keywords, kind: pipes, command: [python, kw.py]}]\n",
    )
    assert tenant.extensions.specs("acme") == [
        ExtensionSpec("acme", "web_order", "acme_customer_reference", "python", 2.5),
        ExtensionSpec("acme", "web_order", "acme_noop", "python", 10),
        ExtensionSpec("acme", "rights", "acme_trainees_may_not_order", "python", 10),
        ExtensionSpec(
            "acme",
            "catalogue_line",
            "remote_keywords",
            "pipes",
            10,
            {"command": ["python", "kw.py"], "function": None, "env": []},
        ),
    ]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "      web_orders: []\n",
            "field extensions: Value error, unknown extension point(s) web_orders; the points are: web_order, "
            "sales_order, synced_record, rights, catalogue_line",
        ),
        (
            "      web_order: [{name: acme_nowhere}]\n",
            "field extensions.web_order.0: Value error, extension 'acme_nowhere': no entry point named "
            "'acme_nowhere' in the group sonet_pipeline.extensions (installed: ",
        ),
        (
            "      rights: [{name: acme_noop, timeout_seconds: 0}]\n",
            "field extensions.rights.0.timeout_seconds: Input should be greater than 0",
        ),
        ("      rights: [{name: acme_noop, timeout_seconds: 901}]\n", "less than or equal to 900"),
        (
            "      rights: [{name: acme_noop, kind: lambda}]\n",
            "field extensions.rights.0.kind: Input should be 'python' or 'pipes'",
        ),
        (
            "      rights: [{name: acme_noop}, {name: acme_noop}]\n",
            "an extension runs once per point; repeated: acme_noop",
        ),
        ("      rights: [{name: acme_noop, entry: x}]\n", "field extensions.rights.0.entry: unknown key"),
    ],
)
def test_a_bad_section_is_refused_at_load_naming_the_problem(tmp_path, partner_extensions, section, message):
    with pytest.raises(TenantConfigError) as caught:
        load(tmp_path, section)
    assert message in str(caught.value)
    assert "tenant 'acme'" in str(caught.value)
