"""``icb``: parses the command line and hands each command to the module that does it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from launcher.client import DEFAULT_API_URL, KEY_VARIABLE, URL_VARIABLE
from launcher.cycle import EXPORT_FORMATS
from launcher.periods import period
from launcher.serve import DEFAULT_PORTS
from shared.context import Role

DEFAULT_DATA_DIR = Path(".icb-data")
DISTRIBUTION = "integrated-customer-billing"


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: ...)`` unless the help text already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text:
            return text
        return super()._get_help_string(action) or text


if TYPE_CHECKING:
    from shared.settings import ServiceSettings

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def _command(sub: Subcommands, name: str, help: str) -> argparse.ArgumentParser:
    made: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=help, formatter_class=HelpFormatter
    )
    return made


def _api_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-url",
        help=f"the API's base URL (default: ${URL_VARIABLE}, else {DEFAULT_API_URL})",
    )
    parser.add_argument("--api-key", help=f"an API key (default: ${KEY_VARIABLE})")


def _period_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--period", type=period, required=True, help=help + " (no default)")


def _cycle_parsers(sub: Subcommands) -> None:
    billing = _command(sub, "billing", "billing runs against the API")
    billing_sub = billing.add_subparsers(dest="action", required=True)
    run = _command(
        billing_sub, "run", "bill a period: create or refresh its drafts and corrections"
    )
    _period_option(run, "the month to bill, YYYY-MM")
    _api_options(run)

    invoices = _command(sub, "invoices", "invoices against the API")
    invoices_sub = invoices.add_subparsers(dest="action", required=True)
    post = _command(
        invoices_sub,
        "post",
        "post a period's drafts: the regular invoices not held (--all: corrections too)",
    )
    _period_option(post, "the month whose drafts to post, YYYY-MM")
    post.add_argument(
        "--all",
        action="store_true",
        help="post the adjustments and credit notes too, not only the regular invoices",
    )
    _api_options(post)

    export = _command(sub, "export", "a period's posted documents in one file, for accounting")
    export.add_argument(
        "format",
        choices=EXPORT_FORMATS,
        help="csv: a row per line; json; datev, xero, quickbooks: bookkeeping imports "
        "(accounts from PUT /v1/accounting/settings)",
    )
    _period_option(export, "the month to export, YYYY-MM")
    export.add_argument("--output", type=Path, help="the file to write (default: standard output)")
    _api_options(export)


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the embedded mode's data directory (default: the configured database)",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="icb", description="Integrated Customer Billing", formatter_class=HelpFormatter
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = root.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return _command(sub, name, help)

    serve = command("serve", "run one service, or all of them embedded")
    serve.add_argument(
        "service",
        nargs="?",
        choices=sorted(DEFAULT_PORTS),
        help="the service to run alone (default: none; give --embedded for all)",
    )
    serve.add_argument(
        "--embedded",
        action="store_true",
        help="every service in one process on SQLite and an in-process bus",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument(
        "--port",
        type=int,
        help="the port (default: 8000 for the gateway and --embedded, 8101-8103 for the others)",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="--embedded: the directory of the SQLite files",
    )

    tenant = command("tenant", "tenants")
    tenant_sub = tenant.add_subparsers(dest="action", required=True)
    create = _command(
        tenant_sub, "create", "create a tenant; prints its first admin key as the last line"
    )
    create.add_argument("name", help="the tenant's name")
    create.add_argument("--timezone", default="UTC", help="the tenant's IANA time zone")
    _data_dir_option(create)
    listing = _command(tenant_sub, "list", "every tenant: id, time zone, active keys, name")
    _data_dir_option(listing)

    key = command("key", "API keys, for the platform operator")
    key_sub = key.add_subparsers(dest="action", required=True)
    key_create = _command(
        key_sub,
        "create",
        "a new API key of a tenant (e.g. when it lost its admin keys); the key is the last line",
    )
    key_create.add_argument("--tenant", required=True, help="the tenant's id or name (no default)")
    key_create.add_argument(
        "--role", required=True, choices=[r.value for r in Role], help="the key's role (no default)"
    )
    key_create.add_argument("--name", default="operator key", help="the key's name")
    _data_dir_option(key_create)

    command("migrate", "apply every service's migrations")

    _cycle_parsers(sub)

    demo = command("demo", "the embedded system with a generated sample MSP")
    demo.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    demo.add_argument("--port", type=int, default=8000, help="the API's port")
    demo.add_argument(
        "--data-dir", type=Path, default=Path(".icb-demo"), help="the demo's data and key"
    )
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="delete the previous demo's data and key and load a new sample",
    )
    demo.add_argument("--companies", type=int, default=40, help="companies of the sample MSP")
    demo.add_argument("--seed", type=int, default=7, help="seed of the sample generator")
    demo.add_argument(
        "--period", type=period, help="the month to bill, YYYY-MM (default: last month)"
    )
    demo.add_argument("--exit", action="store_true", help="stop after the summary")

    simulate = command("simulate", "the module simulator: every module's usage API")
    simulate.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    simulate.add_argument("--port", type=int, default=8200, help="the port")
    simulate.add_argument("--seed", type=int, default=7, help="seed of the sample generator")
    simulate.add_argument("--companies", type=int, default=40, help="companies of the sample")
    simulate.add_argument(
        "--period",
        type=period,
        help="the month the sample is built around, YYYY-MM (default: last month, as the demo)",
    )
    simulate.add_argument("--token", default="simulator-token", help="the bearer token")
    simulate.add_argument("--page-size", type=int, default=500, help="records per page")
    simulate.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="MODULE:DATE",
        help="answer HTTP 500 for this day ('*' for every module); repeatable (default: none)",
    )
    return root


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args = root.parse_args(argv)
    if args.command in ("billing", "invoices", "export"):
        from launcher.cycle import run_command

        return run_command(args)

    from shared.settings import ServiceSettings

    settings = ServiceSettings()
    if args.command == "serve":
        from launcher.serve import PortTaken, serve_embedded, serve_one

        if args.embedded:
            try:
                serve_embedded(settings, args.host, args.port, args.data_dir)
            except PortTaken as exc:
                print(f"icb: {exc}", file=sys.stderr)
                return 2
        elif args.service:
            serve_one(args.service, args.host, args.port)
        else:
            root.error("name a service, or give --embedded")
    elif args.command in ("tenant", "key"):
        return _operator_command(settings, args)
    elif args.command == "migrate":
        from shared.migrations import migrate_all

        migrate_all(settings.database_url)
    elif args.command == "simulate":
        from tools.simulator import serve as simulator

        try:
            failures = [simulator.parse_failure(text) for text in args.fail]
        except ValueError as exc:
            root.error(str(exc))
        state = simulator.sample_state(
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


def _operator_command(settings: ServiceSettings, args: argparse.Namespace) -> int:
    """``icb tenant create|list`` and ``icb key create``: the key is the last line printed."""
    from launcher import tenants

    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        if args.command == "key":
            role = Role(args.role)
            made = tenants.create_key(settings, args.tenant, role, args.name, args.data_dir)
            print(asyncio.run(made))
        elif args.action == "list":
            for line in asyncio.run(tenants.tenant_lines(settings, args.data_dir)):
                print(line)
        else:
            key = asyncio.run(
                tenants.create_tenant_with_key(settings, args.name, args.timezone, args.data_dir)
            )
            print(key)
    except (ValueError, LookupError) as exc:
        print(f"icb: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
