"""The console's wording for reconciliation uploads, hold changes and webhook retries."""

from __future__ import annotations

from services.console.client import ApiProblem
from services.console.pages.reconciliation import file_errors, previous_and_next, recorded
from services.console.pages.webhooks import retried
from services.console.views import change


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
