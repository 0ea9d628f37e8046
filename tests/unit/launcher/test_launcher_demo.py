"""The demo's start: the port checked before anything is made, the key kept for the next
start (readable by its owner only), the insights its summary shows; the simulator's period."""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import stat
from pathlib import Path

import pytest

from launcher.cli import main
from launcher.periods import last_month
from launcher.serve import PortTaken, check_port, embedded_line, has_data
from shared.settings import ServiceSettings
from tools.demo import DemoState, attention, prepare, run_demo
from tools.simulator.serve import sample_state


@pytest.fixture
def taken_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_a_taken_port_stops_the_demo_before_it_creates_anything(
    taken_port: tuple[socket.socket, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sock, port = taken_port
    data_dir = tmp_path / "demo"
    args = argparse.Namespace(host="127.0.0.1", port=port, data_dir=data_dir, fresh=False)
    with sock:
        assert run_demo(ServiceSettings(), args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"icb demo: port {port} on 127.0.0.1 is taken (Address already in use); "
        "stop what uses it or give another --port\n"
    )
    assert not data_dir.exists()


def test_a_free_port_passes(taken_port: tuple[socket.socket, int]) -> None:
    sock, port = taken_port
    with sock, pytest.raises(PortTaken):
        check_port("127.0.0.1", port)
    check_port("127.0.0.1", port)


def test_the_demo_key_is_kept_for_its_owner_only(tmp_path: Path) -> None:
    assert DemoState.load(tmp_path) is None
    DemoState("icb_key", "2026-10").save(tmp_path)
    assert stat.S_IMODE((tmp_path / "demo.json").stat().st_mode) == 0o600
    assert DemoState.load(tmp_path) == DemoState("icb_key", "2026-10")


def test_the_summary_shows_critical_insights_else_the_most_severe() -> None:
    critical = {"kind": "sync_failed", "severity": "critical", "message": "m"}
    warning = {"kind": "unmapped_orgs", "severity": "warning", "message": "m"}
    info = {"kind": "x", "severity": "info", "message": "m"}
    assert attention([warning, critical, info, critical]) == [critical, critical]
    assert attention([info, warning]) == [warning]
    assert attention([]) == []


def test_serve_embedded_says_where_and_on_what_data() -> None:
    assert embedded_line("127.0.0.1", 8000, Path(".icb-data"), True) == (
        "icb: the API listens on http://127.0.0.1:8000 (docs at /docs); "
        "its existing data in .icb-data"
    )
    assert "a new data directory in d" in embedded_line("h", 1, Path("d"), False)


def test_last_month() -> None:
    assert last_month(dt.date(2026, 1, 31)) == "2025-12"
    assert last_month(dt.date(2026, 3, 1)) == "2026-02"


def test_the_simulator_defaults_to_the_demo_period() -> None:
    state = sample_state(seed=7, companies=2, period=None, token="t", page_size=10)
    assert state.msp.period == last_month()


def _args(data_dir: Path, fresh: bool = False) -> argparse.Namespace:
    return argparse.Namespace(data_dir=data_dir, fresh=fresh)


def test_a_second_start_keeps_the_data_and_key_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "demo"
    key, previous = prepare(ServiceSettings(), _args(data_dir))
    assert previous is None and key.startswith("icb_")
    assert has_data(data_dir)
    DemoState(key, "2026-10").save(data_dir)
    capsys.readouterr()

    assert prepare(ServiceSettings(), _args(data_dir)) == (key, DemoState(key, "2026-10"))
    assert "Showing the previous demo again" in capsys.readouterr().out
    assert has_data(data_dir)


def test_fresh_or_an_unfinished_demo_starts_over_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    (data_dir / "leftover").write_text("x")
    key, previous = prepare(ServiceSettings(), _args(data_dir))
    assert previous is None and not (data_dir / "leftover").exists()
    assert "it holds no finished demo" in capsys.readouterr().out
    DemoState(key, "2026-10").save(data_dir)

    new_key, previous = prepare(ServiceSettings(), _args(data_dir, fresh=True))
    assert previous is None and new_key != key
    assert f"Deleting {data_dir} (--fresh)" in capsys.readouterr().out
    assert DemoState.load(data_dir) is None


def test_serve_embedded_on_a_taken_port_is_one_line(
    taken_port: tuple[socket.socket, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sock, port = taken_port
    with sock:
        assert main(["serve", "--embedded", "--port", str(port), "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"icb: port {port} on 127.0.0.1 is taken")
    assert not has_data(tmp_path)
