"""``icb``: serve the services, create tenants, migrate, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import uvicorn

from shared.settings import ServiceSettings

DEFAULT_PORTS = {"gateway": 8000, "ingest": 8101, "mapping": 8102, "invoicing": 8103}
DEFAULT_DATA_DIR = Path(".icb-data")


def _serve_one(name: str, host: str, port: int | None) -> None:
    from launcher.registry import EVENT_SERVICES, SERVICES
    from shared.bus.kafka import KafkaBus
    from shared.db import create_engine
    from shared.events import all_topics
    from shared.logging import configure_logging

    module = SERVICES[name]
    settings: ServiceSettings = module.SETTINGS()
    configure_logging(settings.log_level, name)
    engine = create_engine(settings.database_url, module.SCHEMA_NAME, settings.database_pool_size)
    if name in EVENT_SERVICES:
        bus = KafkaBus(
            settings.kafka_bootstrap_servers,
            all_topics(settings.topic_prefix),
            settings.topic_partitions,
        )
        runtime = module.build_runtime(settings, engine, bus)
    else:
        runtime = module.build_runtime(settings, engine)
    app = module.create_app(runtime)
    uvicorn.run(
        app, host=host, port=port or DEFAULT_PORTS[name], log_level="warning", access_log=False
    )


def _serve_embedded(settings: ServiceSettings, host: str, port: int | None, data_dir: Path) -> None:
    from launcher.embedded import EmbeddedSystem
    from shared.logging import configure_logging

    configure_logging(settings.log_level, "embedded")
    system = EmbeddedSystem(data_dir)
    uvicorn.run(
        system.app,
        host=host,
        port=port or DEFAULT_PORTS["gateway"],
        log_level="warning",
        access_log=False,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="icb", description="Integrated Customer Billing")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run one service, or all of them embedded")
    serve.add_argument("service", nargs="?", choices=sorted(DEFAULT_PORTS))
    serve.add_argument(
        "--embedded",
        action="store_true",
        help="every service in one process on SQLite and an in-process bus",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int)
    serve.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)

    tenant = sub.add_parser("tenant", help="tenants")
    tenant_sub = tenant.add_subparsers(dest="action", required=True)
    create = tenant_sub.add_parser("create", help="create a tenant; prints its first admin key")
    create.add_argument("name")
    create.add_argument("--timezone", default="UTC")
    create.add_argument("--data-dir", type=Path, help="the embedded mode's data directory")

    sub.add_parser("migrate", help="apply every service's migrations")

    demo = sub.add_parser("demo", help="the embedded system with a generated sample MSP")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=Path(".icb-demo"))
    demo.add_argument("--companies", type=int, default=40)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--period", help="YYYY-MM (default: last month)")
    demo.add_argument("--exit", action="store_true", help="stop after the summary")

    simulate = sub.add_parser("simulate", help="the module simulator: every module's usage API")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8200)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--companies", type=int, default=40)
    simulate.add_argument("--period", help="YYYY-MM the sample is built around (default: now)")
    simulate.add_argument("--token", default="simulator-token", help="the bearer token")
    simulate.add_argument("--page-size", type=int, default=500)
    simulate.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="MODULE:DATE",
        help="answer HTTP 500 for this day ('*' for every module); repeatable",
    )

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    if args.command == "serve":
        if args.embedded:
            _serve_embedded(settings, args.host, args.port, args.data_dir)
        elif args.service:
            _serve_one(args.service, args.host, args.port)
        else:
            parser.error("name a service, or give --embedded")
    elif args.command == "tenant":
        from launcher.tenants import create_tenant_with_key

        if args.data_dir:
            args.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            key = asyncio.run(
                create_tenant_with_key(settings, args.name, args.timezone, args.data_dir)
            )
        except ValueError as exc:
            print(f"icb: {exc}", file=sys.stderr)
            return 2
        print(key)
    elif args.command == "migrate":
        from shared.migrations import migrate_all

        migrate_all(settings.database_url)
    elif args.command == "simulate":
        from tools.simulator import serve as simulator
        from tools.simulator.state import SimulatorState

        try:
            failures = [simulator.parse_failure(text) for text in args.fail]
        except ValueError as exc:
            parser.error(str(exc))
        state = SimulatorState(
            seed=args.seed,
            companies=args.companies,
            period=args.period,
            token=args.token,
            page_size=args.page_size,
        )
        simulator.serve(state, args.host, args.port, failures)
    elif args.command == "demo":
        from tools.demo import run_demo

        return run_demo(settings, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
