"""The catalog names each module's credentials (per connector kind), and a connection's
credentials are checked against those names."""

from __future__ import annotations

import pytest

from services.ingest.sync.check import credential_problem
from shared.catalog import CATALOG, CatalogError, Credential, load_catalog

MODULE = """
[[modules]]
id = "x"
name = "X"
{extra}
[[modules.metrics]]
id = "a"
unit = "u"
"""


def test_every_module_names_its_credentials() -> None:
    for module in CATALOG.module_ids:
        kind = CATALOG.connector(module)
        assert kind is not None, module
        assert kind.credential_names == ("token",)
        assert all(c.description.strip() for c in kind.credentials)
    assert CATALOG.connector("nope") is None


def test_a_connector_kind_is_data() -> None:
    text = """
[connectors.keyed]
description = "Key and secret."
credentials = [
  { name = "api_key", description = "The key." },
  { name = "api_secret", description = "The secret." },
]
""" + MODULE.format(extra='connector = "keyed"')
    catalog = load_catalog(text)
    kind = catalog.connector("x")
    assert kind is not None and kind.id == "keyed"
    assert kind.credentials == (
        Credential("api_key", "The key."),
        Credential("api_secret", "The secret."),
    )


def test_a_catalog_without_connectors_still_loads() -> None:
    catalog = load_catalog(MODULE.format(extra=""))
    assert catalog.connector("x") is None


@pytest.mark.parametrize(
    "text",
    [
        MODULE.format(extra='connector = "missing"'),
        MODULE.format(extra="connector = 3"),
        "connectors = 1\n" + MODULE.format(extra=""),
        '[connectors.k]\ndescription = "d"\n' + MODULE.format(extra=""),  # no credentials
        '[connectors.k]\ndescription = "d"\ncredentials = [{ name = "Bad Name", '
        'description = "d" }]\n' + MODULE.format(extra=""),
        '[connectors.k]\ndescription = "d"\ncredentials = [{ name = "t" }]\n'
        + MODULE.format(extra=""),
        '[connectors.k]\ndescription = "d"\ncredentials = [{ name = "t", description = "a" }, '
        '{ name = "t", description = "b" }]\n' + MODULE.format(extra=""),
        '[connectors.k]\ncredentials = [{ name = "t", description = "a" }]\n'
        + MODULE.format(extra=""),
    ],
)
def test_malformed_connectors_are_refused(text: str) -> None:
    with pytest.raises(CatalogError):
        load_catalog(text)


def test_credentials_must_be_exactly_the_catalogs() -> None:
    assert credential_problem("graphus", {"token": "t"}) is None
    problem = credential_problem("graphus", {"key": "SECRET-1", "zz": "SECRET-2"})
    assert problem is not None and problem.errors is not None
    assert [(e["loc"], e["msg"]) for e in problem.errors] == [
        (["body", "credentials", "token"], "missing: graphus needs 'token'"),
        (["body", "credentials", "key"], "unknown: graphus takes only 'token'"),
        (["body", "credentials", "zz"], "unknown: graphus takes only 'token'"),
    ]
    assert problem.detail == (
        "The credentials of graphus are 'token': missing 'token'; unknown 'key', 'zz'."
    )
    assert "SECRET" not in problem.detail + str(problem.errors)
