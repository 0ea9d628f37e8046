"""What the simulator serves: the sample MSP's daily counts per module, and planned failures."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from tools.sample import SampleMsp, generate

ANY_MODULE = "*"
CACHED_DAYS = 64


@dataclass
class Failure:
    """A day that answers HTTP 500 from page ``from_page`` on, ``times`` more times (None:
    until healed)."""

    times: int | None = None
    from_page: int = 1


class SimulatorState:
    def __init__(
        self,
        *,
        seed: int = 7,
        companies: int = 40,
        period: str | None = None,
        token: str = "simulator-token",
        page_size: int = 500,
    ) -> None:
        self.msp: SampleMsp = generate(seed, companies, period or date.today().strftime("%Y-%m"))
        self.token = token
        self.page_size = page_size
        self.failures: dict[tuple[str, date], Failure] = {}
        self.requests = 0
        self._days: OrderedDict[date, dict[str, list[dict[str, Any]]]] = OrderedDict()

    def fail(self, module: str, day: date, times: int | None = None, from_page: int = 1) -> None:
        self.failures[(module, day)] = Failure(times, from_page)

    def heal(self, module: str | None = None, day: date | None = None) -> None:
        """Heals one failing day, or every one."""
        if module is None or day is None:
            self.failures.clear()
        else:
            self.failures.pop((module, day), None)

    def fails(self, module: str, day: date, page: int) -> bool:
        """Whether this request fails; counts a limited failure down."""
        for key in ((module, day), (ANY_MODULE, day)):
            failure = self.failures.get(key)
            if failure is None or page < failure.from_page:
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self.failures[key]
            return True
        return False

    def items(self, module: str, day: date) -> list[dict[str, Any]]:
        """The module's records of the day, in the order the generator streams them."""
        by_module = self._days.get(day)
        if by_module is None:
            by_module = {}
            for r in self.msp.records(day, day):
                by_module.setdefault(r.module, []).append(
                    {
                        "org_id": r.org_id,
                        "org_name": r.org_name,
                        "metric": r.metric,
                        "date": r.date.isoformat(),
                        "quantity": format(r.quantity, "f"),
                    }
                )
            self._days[day] = by_module
            while len(self._days) > CACHED_DAYS:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end(day)
        return by_module.get(module, [])
