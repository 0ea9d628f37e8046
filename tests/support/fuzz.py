"""Schemathesis against a running gateway's aggregated OpenAPI document: every operation,
with valid and with invalid data, checked for server errors and for answers that break the
document (status, content type, headers, body schema)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
MIN_OPERATIONS = 30


class Pacer:
    """Keeps a steady request rate (below a gateway's per-key rate limit)."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1 / per_second if per_second else 0.0
        self.next = time.monotonic()

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next:
            time.sleep(self.next - now)
        self.next = max(now, self.next) + self.interval


def fuzz_gateway(
    base_url: str, key: str, examples: int, per_second: float | None = None
) -> list[str]:
    """Answers the failures: one per operation and generation mode, shrunk by Hypothesis."""
    response = httpx.get(f"{base_url}/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    schema = schemathesis.openapi.from_dict(response.json())
    schema.config.update(base_url=base_url)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {key}"}
    pacer = Pacer(per_second)
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operations.append(result.ok())
        else:
            failures.append(f"an operation schemathesis cannot use: {result.err()}")
    assert len(operations) >= MIN_OPERATIONS, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = _runner(
                operation.as_strategy(generation_mode=mode), examples, session, headers, pacer
            )
            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, no body); otherwise a failure.
                if mode is not GenerationMode.NEGATIVE:
                    raise
            except (Exception, FailureGroup) as exc:  # the failed checks, with the request
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return failures


def _runner(
    strategy: SearchStrategy[schemathesis.Case],
    examples: int,
    session: requests.Session,
    headers: dict[str, str],
    pacer: Pacer,
) -> Callable[[], None]:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )
    def run(case: schemathesis.Case) -> None:
        pacer.wait()
        case.call_and_validate(session=session, headers=headers, checks=CHECKS, timeout=30)

    return run
