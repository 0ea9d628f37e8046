"""``icb --version`` and ``--help``: every option of every command says what it does and
what its default is."""

from __future__ import annotations

import argparse
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.cli import main, parser

ROOT = Path(__file__).resolve().parents[3]
BUILT_IN = {"-h", "--help", "--version"}


def _commands(
    current: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, current
    for action in current._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


COMMANDS = dict(_commands(parser()))


def _option_entries(help_text: str) -> dict[str, str]:
    """``{first option string: its whole entry}`` from the ``options:`` section."""
    section = help_text.split("\noptions:\n", 1)[1]
    entries: dict[str, str] = {}
    current = ""
    for line in section.splitlines():
        if re.match(r"^  -", line):
            current = line.split()[0].rstrip(",")
            entries[current] = line
        elif line.startswith("   ") and current:
            entries[current] += " " + line.strip()
        else:
            current = ""
    return {name: " ".join(text.split()) for name, text in entries.items()}


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"icb {expected}"


def test_the_cycle_commands_exist() -> None:
    assert {("billing", "run"), ("invoices", "post"), ("export",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: " ".join(p) or "icb")
def test_every_option_has_help_naming_its_default(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*path, "--help"])
    assert stopped.value.code == 0
    entries = _option_entries(capsys.readouterr().out)
    options = [
        a.option_strings[0]
        for a in COMMANDS[path]._actions
        if a.option_strings and not BUILT_IN & set(a.option_strings)
    ]
    assert sorted(set(entries) - BUILT_IN) == sorted(options)
    for option in options:
        entry = entries[option]
        assert "default" in entry, entry
        assert len(entry.split()) > 3, f"{option} has no help text: {entry!r}"


def test_a_period_is_checked_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["billing", "run", "--period", "2026-13"])
    assert stopped.value.code == 2
    assert "'2026-13' is not a month as YYYY-MM" in capsys.readouterr().err


def test_without_a_key_the_cycle_says_how_to_give_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ICB_API_KEY", raising=False)
    assert main(["invoices", "post", "--period", "2026-10"]) == 2
    assert capsys.readouterr().err == "icb: no API key: give --api-key or set ICB_API_KEY\n"
