"""What endpoints of every service depend on: the signed caller, paging, the runtime."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from shared.context import CallerContext, verify
from shared.pagination import PageParams, page_params
from shared.runtime import BaseRuntime

R = TypeVar("R", bound=BaseRuntime)


def runtime_of(request: Request) -> BaseRuntime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, BaseRuntime)
    return runtime


def runtime_dependency(kind: type[R]) -> Callable[[Request], R]:
    """The dependency answering the app's runtime as the service's own runtime class."""

    def dependency(request: Request) -> R:
        runtime = request.app.state.runtime
        if not isinstance(runtime, kind):
            raise TypeError(f"this app runs a {type(runtime).__name__}, not a {kind.__name__}")
        return runtime

    return dependency


def caller(request: Request) -> CallerContext:
    """The caller the gateway signed for (refused when the signature does not hold)."""
    return verify(runtime_of(request).settings.internal_secret, request)


Caller = Annotated[CallerContext, Depends(caller)]
Paging = Annotated[PageParams, Depends(page_params)]
