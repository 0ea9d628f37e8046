"""``icb serve``: one service on Kafka and PostgreSQL, or all of them embedded."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import uvicorn

from shared.collector import tune_for_serving
from shared.problems import RETRY_AFTER_SECONDS
from shared.settings import ServiceSettings

DEFAULT_PORTS = {"gateway": 8000, "ingest": 8101, "mapping": 8102, "invoicing": 8103}
KEEP_ALIVE_SECONDS = 6 * RETRY_AFTER_SECONDS
"""How long an idle connection stays open: well past the ``Retry-After`` of a 503, so that a
client that waits as told and sends again on its pooled connection does not race the server
closing it (with uvicorn's default of 5 s, equal to the wait, it lost that race as a reset)."""


SERVER_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "timeout_keep_alive": KEEP_ALIVE_SECONDS,
}
"""How uvicorn serves every service and the embedded system."""


class PortTaken(RuntimeError):
    pass


def check_port(host: str, port: int) -> None:
    """``PortTaken`` when something already listens there (checked before anything is
    created, so that a taken port leaves no half-made state behind)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortTaken(
                f"port {port} on {host} is taken ({exc.strerror}); "
                "stop what uses it or give another --port"
            ) from exc


def has_data(data_dir: Path) -> bool:
    """Whether the embedded system has run in ``data_dir`` before."""
    return (data_dir / "gateway.db").exists()


def serve_one(name: str, host: str, port: int | None) -> None:
    from launcher.registry import EVENT_SERVICES, SERVICES
    from shared.bus.kafka import KafkaBus
    from shared.db import create_engine
    from shared.events import all_topics
    from shared.logging import configure_logging
    from shared.observability.tracing import configure_tracing

    module = SERVICES[name]
    settings: ServiceSettings = module.SETTINGS()
    configure_logging(settings.log_level, name, settings.log_format)
    configure_tracing(name, settings.otlp_endpoint)
    engine = create_engine(settings.database_url, module.SCHEMA_NAME, settings.database_pool_size)
    if name in EVENT_SERVICES:
        bus = KafkaBus(
            settings.kafka_bootstrap_servers,
            all_topics(settings.topic_prefix),
            settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
        runtime = module.build_runtime(settings, engine, bus)
    else:
        runtime = module.build_runtime(settings, engine)
    app = module.create_app(runtime)
    tune_for_serving()
    uvicorn.run(app, host=host, port=port or DEFAULT_PORTS[name], **SERVER_OPTIONS)


def embedded_line(host: str, port: int, data_dir: Path, existing: bool) -> str:
    data = "its existing data" if existing else "a new data directory"
    return f"icb: the API listens on http://{host}:{port} (docs at /docs); {data} in {data_dir}"


def serve_embedded(settings: ServiceSettings, host: str, port: int | None, data_dir: Path) -> None:
    from launcher.embedded import EmbeddedSystem
    from shared.logging import configure_logging
    from shared.observability.tracing import configure_tracing

    port = port or DEFAULT_PORTS["gateway"]
    check_port(host, port)
    configure_logging(settings.log_level, "embedded", settings.log_format)
    configure_tracing("embedded", settings.otlp_endpoint)
    existing = has_data(data_dir)
    system = EmbeddedSystem(data_dir)
    print(embedded_line(host, port, data_dir, existing), flush=True)
    tune_for_serving()
    uvicorn.run(system.app, host=host, port=port, **SERVER_OPTIONS)
