"""Vendor bills: what each vendor charged, as JSON (one bill) or ``text/csv`` (bills of
several modules at once)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from services.invoicing.api.deps import Caller, Paging, Runtime
from services.invoicing.assurance import vendor_bills
from shared.catalog import CATALOG
from shared.csv_table import CsvError, CsvRow, TooManyRows, is_csv, read_table
from shared.money import UnknownCurrency, minor_units
from shared.openapi_docs import ApiModel, examples
from shared.pagination import Page, page_of
from shared.problems import PayloadTooLarge, ValidationFailed, invalid, plain_message
from shared.wire import Period, Quantity, UtcDateTime

router = APIRouter(prefix="/v1", tags=["revenue assurance"])
CSV_COLUMNS = ("module", "period", "currency", "metric", "quantity", "unit_cost")
MAX_LINES = 10_000


class BillLineIn(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    metric: str = Field(min_length=1, max_length=64)
    """A metric of the module (catalog), once per bill."""
    quantity: Decimal = Field(ge=0, lt=Decimal("1e15"), decimal_places=4)
    """The quantity the vendor charged for, at most 4 decimal digits."""
    unit_cost: Decimal = Field(ge=0, lt=Decimal("1e12"), decimal_places=6)
    """What the vendor charges per unit, in the bill's currency, at most 6 decimal digits;
    the margin report's cost of the metric."""


class VendorBillIn(ApiModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=examples(
            {
                "module": "datto_rmm",
                "period": "2026-10",
                "currency": "EUR",
                "lines": [{"metric": "servers", "quantity": "120", "unit_cost": "4.50"}],
            }
        ),
    )
    module: str = Field(max_length=64)
    """The module (catalog id) the vendor charged for."""
    period: Period
    """The month charged, ``YYYY-MM``; a later bill of the same module and period replaces
    this one."""
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")
    """The ISO 4217 currency the vendor charged in; one bill has one currency."""
    lines: list[BillLineIn] = Field(max_length=MAX_LINES)
    """What the vendor charged, per metric of the module (at most 10,000 lines)."""

    @field_validator("module")
    @classmethod
    def _known_module(cls, value: str) -> str:
        if CATALOG.module(value) is None:
            raise ValueError(f"unknown module {value!r}")
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        try:
            minor_units(value)
        except UnknownCurrency:
            raise ValueError(f"unknown currency {value!r}") from None
        return value.upper()

    @field_validator("lines")
    @classmethod
    def _metrics_of_the_module(
        cls, lines: list[BillLineIn], info: ValidationInfo
    ) -> list[BillLineIn]:
        module = info.data.get("module")
        seen: set[str] = set()
        for index, line in enumerate(lines):
            if module is not None and CATALOG.metric(module, line.metric) is None:
                raise ValueError(
                    f"line {index}: unknown metric {line.metric!r} for module {module}"
                )
            if line.metric in seen:
                raise ValueError(f"line {index}: metric {line.metric!r} appears twice")
            seen.add(line.metric)
        return lines

    def bill(self) -> vendor_bills.VendorBill:
        return vendor_bills.VendorBill(
            self.module,
            self.period,
            self.currency,
            tuple(vendor_bills.BillLine(x.metric, x.quantity, x.unit_cost) for x in self.lines),
        )


class BillLineOut(ApiModel):
    metric: str
    """The module's metric charged."""
    quantity: Quantity
    """The quantity the vendor charged for."""
    unit_cost: Decimal
    """What the vendor charges per unit, in the bill's currency."""


class VendorBillOut(ApiModel):
    module: str
    """The module (catalog id) the vendor charged for."""
    period: str
    """The month charged, ``YYYY-MM``."""
    currency: str
    """The ISO 4217 currency the vendor charged in."""
    lines: list[BillLineOut]
    """What the vendor charged, per metric."""
    received_at: UtcDateTime | None
    """When the bill was recorded (or last replaced)."""


class VendorBillsOut(ApiModel):
    """The bills a CSV file carried, one per module and period."""

    bills: list[VendorBillOut]
    """The bills recorded, one per module and period of the file."""


def bill_out(bill: vendor_bills.VendorBill) -> VendorBillOut:
    return VendorBillOut(
        module=bill.module,
        period=bill.period,
        currency=bill.currency,
        lines=[
            BillLineOut(metric=x.metric, quantity=x.quantity, unit_cost=x.unit_cost)
            for x in bill.lines
        ],
        received_at=bill.received_at,
    )


def _refused(exc: ValidationError, where: Sequence[str | int]) -> ValidationFailed:
    errors = [{"loc": [*where, *e["loc"]], "msg": plain_message(e["msg"])} for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    return ValidationFailed(detail, errors=errors)


def _bills_of_rows(rows: list[CsvRow]) -> list[VendorBillIn]:
    """One bill per module and period, its lines in file order; every row must name the
    bill's currency. A row's errors point at its line in the file and its column."""
    grouped: dict[tuple[str, str], list[CsvRow]] = {}
    for row in rows:
        grouped.setdefault((row.values.get("module", ""), row.values.get("period", "")), []).append(
            row
        )
    bills = []
    for group in grouped.values():
        first = group[0]
        for row in group:
            if row.values.get("currency") != first.values.get("currency"):
                raise invalid(
                    ["body", row.line, "currency"], "one bill (module and period) has one currency"
                )
            try:
                BillLineIn.model_validate(
                    {k: row.values.get(k) for k in ("metric", "quantity", "unit_cost")}
                )
            except ValidationError as exc:
                raise _refused(exc, ["body", row.line]) from exc
        raw: dict[str, Any] = {k: first.values.get(k) for k in ("module", "period", "currency")}
        raw["lines"] = [
            {k: r.values.get(k) for k in ("metric", "quantity", "unit_cost")} for r in group
        ]
        try:
            bills.append(VendorBillIn.model_validate(raw))
        except ValidationError as exc:
            raise _refused(exc, ["body", first.line]) from exc
    return bills


async def _read_bills(request: Request, runtime: Runtime) -> tuple[list[VendorBillIn], bool]:
    body = await request.body()
    if len(body) > runtime.settings.max_body_bytes:
        raise PayloadTooLarge(f"The body is larger than {runtime.settings.max_body_bytes} bytes.")
    if not is_csv(request):
        try:
            return [VendorBillIn.model_validate_json(body)], False
        except ValidationError as exc:
            raise _refused(exc, ["body"]) from exc
    try:
        rows = read_table(body, CSV_COLUMNS, CSV_COLUMNS, MAX_LINES)
    except TooManyRows as exc:
        raise PayloadTooLarge(f"More than {MAX_LINES} rows; split the file.") from exc
    except CsvError as exc:
        raise invalid(exc.loc, exc.msg) from exc
    if not rows:
        raise invalid(["body"], "the file has no bill lines")
    return _bills_of_rows(rows), True


@router.post(
    "/vendor-bills",
    status_code=201,
    response_model=VendorBillOut | VendorBillsOut,
    summary="Record a vendor bill (JSON or CSV)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": VendorBillIn.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    )
                },
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "example": "module,period,currency,metric,quantity,unit_cost\n"
                        "datto_rmm,2026-10,EUR,servers,120,4.50\n",
                    }
                },
            },
        }
    },
)
async def post_vendor_bill(
    request: Request, ctx: Caller, runtime: Runtime
) -> VendorBillOut | VendorBillsOut:
    """Records what a vendor charged for a module and period (JSON: one bill, answered as
    the bill; CSV with the header ``module,period,currency,metric,quantity,unit_cost``: a
    bill per module and period, answered as ``{bills}``). A bill replaces an earlier one for
    the same module and period. A file with an error is refused whole."""
    bills, from_csv = await _read_bills(request, runtime)
    async with runtime.transaction() as session:
        stored = await vendor_bills.record_bills(session, ctx.tenant_id, [b.bill() for b in bills])
    if from_csv:
        return VendorBillsOut(bills=[bill_out(b) for b in stored])
    return bill_out(stored[0])


@router.get("/vendor-bills", response_model=Page[VendorBillOut], summary="List vendor bills")
async def list_vendor_bills(
    ctx: Caller,
    runtime: Runtime,
    paging: Paging,
    period: Annotated[Period | None, Query()] = None,
) -> Page[VendorBillOut]:
    """The recorded vendor bills (of one ``period``, ``YYYY-MM``), by period and module."""
    async with runtime.sessions() as session:
        bills = await vendor_bills.period_bills(session, ctx.tenant_id, period)
    return page_of([bill_out(b) for b in bills], paging)
