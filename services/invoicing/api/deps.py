from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.invoicing.documents.parties import SellerDefaults
from shared.context import CallerContext
from shared.pagination import PageParams, page_params
from shared.runtime import ServiceRuntime, caller, runtime_of

Caller = Annotated[CallerContext, Depends(caller)]
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Paging = Annotated[PageParams, Depends(page_params)]


def seller_defaults(runtime: Runtime) -> SellerDefaults:
    return SellerDefaults(runtime.settings.seller_name, runtime.settings.payment_terms_days)


Defaults = Annotated[SellerDefaults, Depends(seller_defaults)]
