"""A `pipes` extension in the tenant file: where it runs (command, Lambda function), what of our
environment it may see, refused with a named error when it runs nowhere or would see a token."""

from __future__ import annotations

import pytest

from sonet_pipeline.config.tenants import TenantConfigError
from tests.config.test_extensions_config import load


def test_a_pipes_extension_carries_its_command_function_and_env(tmp_path):
    tenant = load(
        tmp_path,
        "      sales_order:\n"
        "        - name: acme_comment_pipes\n"
        "          kind: pipes\n"
        "          timeout_seconds: 20\n"
        "          command: [python, pipes/sales_order.py]\n"
        "          function: acme-sales-order\n"
        "          env: [ACME_PARTNER_URL]\n",
    )
    (spec,) = tenant.extensions.specs("acme")
    assert (spec.kind, spec.timeout_seconds) == ("pipes", 20)
    assert spec.options == {
        "command": ["python", "pipes/sales_order.py"],
        "function": "acme-sales-order",
        "env": ["ACME_PARTNER_URL"],
    }


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "      rights: [{name: acme_x, kind: pipes}]\n",
            "extension 'acme_x': kind pipes needs a command or a function (AWS Lambda)",
        ),
        (
            "      rights: [{name: acme_x, kind: pipes, command: [x], "
            "env: [SONET_ACME_TOKEN, AWS_SECRET_ACCESS_KEY]}]\n",
            "extension 'acme_x': env may not pass SONET_ACME_TOKEN, AWS_SECRET_ACCESS_KEY",
        ),
        (
            "      rights: [{name: acme_noop, kind: python, function: f}]\n",
            "extension 'acme_noop': function only for kind pipes",
        ),
        (  # the intake applies these two points outside Dagster: no Pipes session there
            "      synced_record: [{name: acme_x, kind: pipes, command: [x]}]\n",
            "extension(s) acme_x at synced_record: kind pipes cannot run here",
        ),
        (
            "      rights: [{name: acme_x, kind: pipes, function: acme-rights}]\n",
            "extension(s) acme_x at rights: kind pipes cannot run here",
        ),
    ],
)
def test_a_pipes_extension_that_runs_nowhere_or_would_see_a_token_is_refused(
    tmp_path, partner_extensions, section, message
):
    with pytest.raises(TenantConfigError) as caught:
        load(tmp_path, section)
    assert message in str(caught.value) and "tenant 'acme'" in str(caught.value)
