"""``icb simulate``: the simulator on a port."""

from __future__ import annotations

from datetime import date

import uvicorn

from launcher.periods import last_month
from tools.simulator.app import create_app
from tools.simulator.state import SimulatorState


def sample_state(
    *, seed: int, companies: int, period: str | None, token: str, page_size: int
) -> SimulatorState:
    """The simulator's sample MSP, built around last month unless ``period`` says otherwise:
    the month the demo bills, so that both show the same MSP."""
    return SimulatorState(
        seed=seed,
        companies=companies,
        period=period or last_month(),
        token=token,
        page_size=page_size,
    )


def parse_failure(text: str) -> tuple[str, date]:
    """``MODULE:YYYY-MM-DD`` (``*`` for every module)."""
    module, sep, day = text.rpartition(":")
    if not sep or not module:
        raise ValueError(f"{text!r} is not MODULE:YYYY-MM-DD")
    return module, date.fromisoformat(day)


def serve(state: SimulatorState, host: str, port: int, failures: list[tuple[str, date]]) -> None:
    for module, day in failures:
        state.fail(module, day)
    print(
        f"module simulator on http://{host}:{port} ({state.msp!r}); "
        f"a module's base URL: http://{host}:{port}/<module>/v1, token {state.token!r}",
        flush=True,
    )
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning", access_log=False)
