"""What every invoicing endpoint depends on: the signed caller, paging, the invoicing runtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.invoicing.documents.parties import SellerDefaults
from services.invoicing.runtime import InvoicingRuntime
from shared.deps import Caller, Paging, runtime_dependency

__all__ = ["Caller", "Defaults", "Paging", "Runtime"]
Runtime = Annotated[InvoicingRuntime, Depends(runtime_dependency(InvoicingRuntime))]


def seller_defaults(runtime: Runtime) -> SellerDefaults:
    return SellerDefaults(runtime.settings.seller_name, runtime.settings.payment_terms_days)


Defaults = Annotated[SellerDefaults, Depends(seller_defaults)]
