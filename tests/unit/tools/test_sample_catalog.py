from __future__ import annotations

from decimal import Decimal

import pytest

from shared.catalog import (
    CATALOG,
    Catalog,
    CatalogError,
    Metric,
    fraction_digits,
    load_catalog,
    quantity_errors,
)

# PRODUCT.md section 3, verbatim: module id -> metric ids.
SPEC_MODULES = {
    "bullphish_id": ["users"],
    "compliance_manager": ["devices"],
    "cyber_hawk": ["sites"],
    "dark_web_id": ["domains", "live_searches"],
    "datto_azure_backup": ["protected_vms", "storage_tb"],
    "datto_bcdr": ["protected_agents", "appliances"],
    "datto_edr": ["endpoints"],
    "datto_endpoint_backup_pc": ["pcs"],
    "datto_endpoint_backup_server": ["servers"],
    "datto_file_protection": ["users"],
    "datto_networking": ["devices"],
    "datto_rmm": ["total_devices", "desktops_laptops", "servers", "network_devices"],
    "datto_saas_defense": ["users"],
    "graphus": ["mailboxes"],
    "network_detective_pro": ["sites"],
    "passly": ["users"],
    "rocketcyber": ["devices"],
    "saas_protection": ["seats"],
    "traverse": ["devices"],
    "uniview": ["devices"],
    "vsa_10": ["devices"],
    "vulscan": ["ip_addresses"],
    "workplace": ["users"],
    "spanning_o365": ["users"],
    "spanning_google": ["users"],
}

COUNT = Metric("users", "user")
TB = Metric("storage_tb", "tb", fractional=True)


def test_catalog_has_the_25_modules_of_the_spec_in_order() -> None:
    assert len(CATALOG) == 25
    assert list(CATALOG.module_ids) == list(SPEC_MODULES)
    for module in CATALOG.modules:
        assert [m.id for m in module.metrics] == SPEC_MODULES[module.id]
        assert module.name


def test_units_and_names() -> None:
    assert CATALOG.metric("vulscan", "ip_addresses") == Metric("ip_addresses", "ip_address")
    assert CATALOG.metric("dark_web_id", "live_searches") == Metric("live_searches", "search")
    module = CATALOG.module("datto_file_protection")
    assert module is not None and module.name == "Datto File Protection (DFP)"
    assert len(CATALOG.metric_keys()) == 31


def test_only_storage_tb_is_fractional() -> None:
    fractional = [(mod.id, m.id) for mod in CATALOG.modules for m in mod.metrics if m.fractional]
    assert fractional == [("datto_azure_backup", "storage_tb")]
    assert CATALOG.metric("datto_azure_backup", "storage_tb") == TB


def test_lookups_of_unknown_ids_answer_none() -> None:
    assert CATALOG.module("nope") is None
    assert CATALOG.metric("nope", "users") is None
    assert CATALOG.metric("datto_rmm", "users") is None
    assert "datto_rmm" in CATALOG and "nope" not in CATALOG


def test_catalog_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CATALOG.modules = ()  # type: ignore[misc]
    metric = CATALOG.modules[0].metrics[0]
    with pytest.raises(AttributeError):
        metric.fractional = True  # type: ignore[misc]


def test_a_new_module_is_a_data_change() -> None:
    text = """
[[modules]]
id = "new_thing"
name = "New Thing"

[[modules.metrics]]
id = "widgets"
unit = "widget"

[[modules.metrics]]
id = "gigabytes"
unit = "gb"
fractional = true
"""
    catalog = load_catalog(text)
    assert isinstance(catalog, Catalog)
    assert catalog.module_ids == ("new_thing",)
    assert catalog.metric("new_thing", "gigabytes") == Metric("gigabytes", "gb", True)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "modules = 3",
        '[[modules]]\nid = "x"\nname = "X"\n',  # no metrics
        '[[modules]]\nid = "Bad Id"\nname = "X"\n[[modules.metrics]]\nid = "a"\nunit = "u"\n',
        '[[modules]]\nid = "x"\nname = "X"\n[[modules.metrics]]\nid = "a"\n',  # no unit
        '[[modules]]\nid = "x"\nname = "X"\n[[modules.metrics]]\nid = "a"\nunit = "u"\n'
        'fractional = "yes"\n',
        '[[modules]]\nid = "x"\nname = "X"\n[[modules.metrics]]\nid = "a"\nunit = "u"\n'
        '[[modules]]\nid = "x"\nname = "Y"\n[[modules.metrics]]\nid = "a"\nunit = "u"\n',
        "not toml [",
    ],
)
def test_malformed_catalogs_are_refused(text: str) -> None:
    with pytest.raises(CatalogError):
        load_catalog(text)


@pytest.mark.parametrize(
    ("value", "digits"),
    [("1", 0), ("1.0", 0), ("1.2300", 2), ("0.0001", 4), ("1E+3", 0), ("1E-5", 5), ("-2.5", 1)],
)
def test_fraction_digits(value: str, digits: int) -> None:
    assert fraction_digits(Decimal(value)) == digits


@pytest.mark.parametrize("value", ["0", "1", "12", "1000000", "7.000", "-0"])
def test_valid_counts(value: str) -> None:
    assert quantity_errors(COUNT, Decimal(value)) == []


@pytest.mark.parametrize("value", ["0", "1.5", "0.0001", "12.3456", "2.50000", "1E+2"])
def test_valid_fractional_quantities(value: str) -> None:
    assert quantity_errors(TB, Decimal(value)) == []


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        (COUNT, "-1", ["negative"]),
        (TB, "-0.5", ["negative"]),
        (COUNT, "1.5", ["whole number"]),
        (COUNT, "0.12345", ["4 fractional digits", "whole number"]),
        (TB, "0.12345", ["4 fractional digits"]),
        (TB, "1E-7", ["4 fractional digits"]),
        (COUNT, "-1.5", ["negative", "whole number"]),
        (COUNT, "NaN", ["finite"]),
        (TB, "sNaN", ["finite"]),
        (TB, "Infinity", ["finite"]),
        (COUNT, "-Infinity", ["finite"]),
    ],
)
def test_invalid_quantities(metric: Metric, value: str, expected: list[str]) -> None:
    errors = quantity_errors(metric, Decimal(value))
    assert len(errors) == len(expected)
    for error, fragment in zip(errors, expected, strict=True):
        assert fragment in error


def test_floats_are_not_quantities() -> None:
    assert quantity_errors(TB, 1.5) != []  # type: ignore[arg-type]
