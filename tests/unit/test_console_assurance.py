"""The console's wording for reconciliation uploads, hold changes and webhook retries."""

from __future__ import annotations

from services.console.client import ApiProblem
from services.console.pages.reconciliation import file_errors, previous_and_next, recorded
from services.console.pages.webhooks import retried
from services.console.session import Session
from services.console.views import change
from tests.unit.test_console_templates import render


def test_file_errors_name_the_line_and_column_of_the_file() -> None:
    problem = ApiProblem(
        422,
        "x",
        errors=[
            ([2, "quantity"], "Input should be a valid decimal"),
            (["header"], "missing column(s) unit_cost"),
            ([], "the file has no bill lines"),
            ([7, "lines"], "line 0: unknown metric 'x' for module datto_rmm"),
        ],
    )
    assert file_errors(problem) == (
        "Line 2, column quantity: Input should be a valid decimal; "
        "The first line (the column names): missing column(s) unit_cost; "
        "The file: the file has no bill lines; "
        "Line 7: line 0: unknown metric 'x' for module datto_rmm"
    )
    many = ApiProblem(422, "x", errors=[([n, "metric"], "bad") for n in range(2, 10)])
    assert file_errors(many).endswith("Line 6, column metric: bad; and 3 more")
    assert file_errors(ApiProblem(413, "More than 10000 rows; split the file.")) == (
        "More than 10000 rows; split the file."
    )


def test_a_hold_change_in_percent_and_the_months_around_one() -> None:
    assert change("90", "30") == "+200 %"
    assert change("10", "40") == "\N{MINUS SIGN}75 %"
    assert change("0", "20") == "stopped (\N{MINUS SIGN}100 %)"
    assert change("5", "0") == "new"
    assert change("30", "30") == "0 %"
    assert previous_and_next("2026-01") == ("2025-12", "2026-02")
    assert previous_and_next("2026-12") == ("2026-11", "2027-01")


def test_what_an_upload_and_a_retry_tell_the_clerk() -> None:
    one = {"module": "datto_rmm", "period": "2026-10", "currency": "EUR", "lines": [{}]}
    assert recorded(one) == "Vendor bill recorded: datto_rmm 2026-10 (1 line, EUR)."
    two = {"bills": [one, {**one, "module": "graphus", "lines": [{}, {}]}]}
    assert recorded(two) == (
        "Vendor bills recorded: datto_rmm 2026-10 (1 line, EUR), graphus 2026-10 (2 lines, EUR)."
    )
    assert retried({"status": "succeeded", "log": []}).startswith("Delivered")
    failed = {"status": "pending", "log": [{"response_status": None, "error": "timed out"}]}
    assert retried(failed) == (
        "Tried again: the endpoint did not answer (timed out). Automatic attempts continue."
    )
    refused = {"status": "failed", "log": [{"response_status": 503, "error": None}]}
    assert retried(refused) == (
        "Tried again: the endpoint answered 503. No automatic attempts are left; retry again "
        "once the receiver is fixed."
    )


ADMIN = Session(key="k", key_id="kid", role="admin", csrf="tok")
DISABLED = {
    "id": "w-1",
    "url": "https://books.example/hook",
    "events": ["invoice.posted"],
    "description": None,
    "status": "disabled",
    "disabled_reason": "every delivery failed since 2026-11-20T08:00:00+00:00",
    "created_at": "2026-11-01T08:00:00Z",
}


def test_a_disabled_endpoint_is_marked_in_the_list_and_on_its_log() -> None:
    listed = render(
        "webhooks.html",
        ADMIN,
        title="Webhooks",
        current="Webhooks",
        endpoints=[DISABLED, {**DISABLED, "id": "w-2", "status": "active"}],
        more=False,
        events=(),
        form_id="webhook-create",
        event_prefix="event:",
    )
    assert listed.count('class="disabled-endpoint"') == 1
    assert '<span class="badge status-disabled">disabled</span>' in listed
    assert "every delivery failed since 2026-11-20" in listed
    failed = {
        "id": "d-1",
        "event_id": "e-1",
        "event_type": "invoice.posted",
        "status": "failed",
        "attempts": 2,
        "next_attempt_at": None,
        "log": [
            {
                "attempted_at": "2026-11-20T08:00:00Z",
                "response_status": 500,
                "error": None,
                "duration_ms": 12,
                "manual": False,
            }
        ],
    }
    log = render(
        "webhook.html",
        ADMIN,
        title="Webhook deliveries",
        current="Webhooks",
        endpoint=DISABLED,
        deliveries=[failed, {**failed, "id": "d-2", "status": "succeeded"}],
        next_cursor=None,
        params={},
    )
    assert "<strong>Disabled:</strong>" in log
    assert log.count(">Retry</button>") == 1
    assert 'action="/console/webhooks/w-1/deliveries/d-1/retry"' in log
    assert "HTTP 500" in log
