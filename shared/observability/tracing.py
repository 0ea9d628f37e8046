"""OpenTelemetry traces: one trace from the gateway's request through HTTP, the outbox and
the bus to the consumers' database writes.

The context crosses HTTP in ``traceparent`` headers (httpx and FastAPI instrumentation), the
outbox in a column of its row (written in the business transaction, relayed later) and Kafka
in message headers. Spans are exported by OTLP only when an endpoint is configured
(``ICB_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``); without one no provider is set
and the API's no-op tracer costs next to nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.trace import Link, SpanKind, StatusCode
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.base import Headers

log = logging.getLogger(__name__)
tracer = trace.get_tracer("icb")

_instrumented: weakref.WeakSet[object] = weakref.WeakSet()


def configure_tracing(service: str, endpoint: str | None = None) -> bool:
    """Exports spans by OTLP/HTTP when an endpoint is configured (``ICB_OTLP_ENDPOINT``, or
    the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``); answers whether it does."""
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    traces_url = endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": f"icb-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url)))
    trace.set_tracer_provider(provider)
    log.info("traces are exported to %s", traces_url)
    return True


def _once(obj: object) -> bool:
    if obj in _instrumented:
        return False
    _instrumented.add(obj)
    return True


def instrument_app(app: FastAPI) -> None:
    """Server spans for the app's requests, continuing a caller's ``traceparent``."""
    if _once(app):
        FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz$,/readyz$,/metrics$")


def instrument_engine(engine: AsyncEngine) -> None:
    """A client span for every statement on the engine (its own hooks: the SQLAlchemy
    instrumentation instruments one engine a process and stops below SQLAlchemy 2.1)."""
    if not _once(engine.sync_engine):
        return
    sync_engine = engine.sync_engine
    system = sync_engine.dialect.name

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        # Statements outside a trace (the background loops' polls) would each be a trace
        # of their own: noise, not insight.
        if context is None or not trace.get_current_span().get_span_context().is_valid:
            return
        context._icb_span = tracer.start_span(
            statement.split(None, 1)[0] if statement else system,
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.statement": statement[:2000]},
        )

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _end(_conn: Any, _cursor: Any, _s: str, _p: Any, context: Any, _many: bool) -> None:
        span = getattr(context, "_icb_span", None)
        if span is not None:
            span.end()
            context._icb_span = None

    @event.listens_for(sync_engine, "handle_error")
    def _failed(error: Any) -> None:
        span = getattr(error.execution_context, "_icb_span", None)
        if span is not None:
            span.set_status(StatusCode.ERROR, type(error.original_exception).__name__)
            span.end()
            error.execution_context._icb_span = None


def instrument_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Client spans and ``traceparent`` headers on the client's requests, whatever its
    transport (the embedded system's are in-process ASGI ones)."""
    if _once(client):
        HTTPXClientInstrumentor.instrument_client(client)
    return client


def current_context() -> str | None:
    """The current trace context as the outbox stores it (JSON), or None outside a trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return json.dumps(carrier, separators=(",", ":")) if carrier else None


def headers_of(stored: str | None) -> Headers:
    """Kafka headers carrying a context stored by ``current_context``."""
    if not stored:
        return ()
    try:
        carrier = json.loads(stored)
    except ValueError:
        return ()
    return tuple((k, str(v).encode()) for k, v in carrier.items() if isinstance(k, str))


def _context_of(headers: Headers) -> otel_context.Context:
    carrier = {k: v.decode(errors="replace") for k, v in headers}
    return propagate.extract(carrier)


@contextlib.contextmanager
def consuming(group: str, topics: Sequence[str], batch: Sequence[Headers]) -> Iterator[None]:
    """A consumer span for one batch: the child of its first traced message, linked to
    every traced message's span (a batch mixes the events of many requests)."""
    contexts = [_context_of(h) for h in batch if h]
    links = []
    for ctx in contexts:
        span_context = trace.get_current_span(ctx).get_span_context()
        if span_context.is_valid:
            links.append(Link(span_context))
    parent = contexts[0] if contexts else None
    with tracer.start_as_current_span(
        f"{group} process",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "kafka",
            "messaging.consumer.group.name": group,
            "messaging.destination.name": ",".join(sorted(set(topics))),
            "messaging.batch.message_count": len(batch),
        },
    ):
        yield
