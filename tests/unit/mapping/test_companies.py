from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.mapping.companies.schemas import CompanyIn, CompanyPatch


def test_a_patch_changes_only_the_fields_sent_and_cannot_clear_name_or_tax_rate() -> None:
    patch = CompanyPatch.model_validate(
        {"name": None, "tax_rate": None, "external_ref": None, "currency": " EUR "}
    )
    assert patch.changes() == {"external_ref": None, "currency": "EUR"}
    assert CompanyPatch.model_validate({"tax_rate": "0.2"}).changes() == {
        "tax_rate": Decimal("0.2")
    }


@pytest.mark.parametrize("currency", ["XXY", "EURO"])
def test_a_company_has_a_known_currency(currency: str) -> None:
    with pytest.raises(ValidationError, match="unknown ISO 4217 currency"):
        CompanyIn.model_validate({"name": "Contoso", "currency": currency})
