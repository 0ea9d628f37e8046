from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.context import CallerContext
from shared.pagination import PageParams, page_params
from shared.runtime import ServiceRuntime, caller, runtime_of

Caller = Annotated[CallerContext, Depends(caller)]
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Paging = Annotated[PageParams, Depends(page_params)]
