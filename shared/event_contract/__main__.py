"""``python -m shared.event_contract``: writes the schema of every event type's current
version into ``schemas/``. It refuses to overwrite a committed schema with a breaking change:
that needs a new ``VERSION`` on the event class (and so a new file)."""

from __future__ import annotations

import sys

from shared.event_contract.compatibility import breaking_changes
from shared.event_contract.schemas import committed_schema, envelope_schema, render, schema_file
from shared.events import EVENT_TYPES


def main() -> int:
    refused = 0
    for cls in EVENT_TYPES.values():
        new = envelope_schema(cls)
        old = committed_schema(cls.TYPE, cls.VERSION)
        if old is not None and (problems := breaking_changes(old, new)):
            print(
                f"{cls.TYPE} v{cls.VERSION}: breaking change, raise VERSION", *problems, sep="\n  "
            )
            refused += 1
            continue
        path = schema_file(cls.TYPE, cls.VERSION)
        path.parent.mkdir(parents=True, exist_ok=True)
        if old != new:
            path.write_text(render(new), encoding="utf-8")
            print(f"wrote {path}")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
