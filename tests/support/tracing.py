"""Spans in memory: a tracer provider for the test process (set once, as OpenTelemetry
allows) that records only inside ``recorded_spans``, so the tests after it pay nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult


class _Switch(Sampler):
    def __init__(self) -> None:
        self.on = False

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return (ALWAYS_ON if self.on else ALWAYS_OFF).should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return "on in recorded_spans"


_switch = _Switch()
_exporter = InMemorySpanExporter()
_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    provider = TracerProvider(sampler=_switch)
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        raise RuntimeError("another tracer provider was set in this process first")
    _installed = True


@contextlib.contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """The spans finished inside the block."""
    _install()
    _exporter.clear()
    _switch.on = True
    try:
        yield _exporter
    finally:
        _switch.on = False
