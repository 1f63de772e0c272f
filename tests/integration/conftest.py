"""Fixtures for Home Assistant tests: a real serial line on a socat pseudo-terminal pair.

The integration opens `TicLine.port` exactly as it would open a USB dongle; the test writes
meter bytes into the other end. `unplug()` kills socat so the port disappears like a dongle
pulled out, `plug()` brings it back at the same path.

One pty quirk needs care: on this kernel, setting a pty to the 7E1 settings it already has fails
with EINVAL, so the second open of the same pty at the same baud fails where a real UART would
open fine. The rig moves the port's speed away (to 38400) before every write, which a pty ignores
for the data, so every open by the integration finds different settings, as on real hardware.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import termios
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from custom_components.energy_ledger.sources import tic_serial

from .mqtt_broker import auth_broker, broker, tls_broker  # noqa: F401 - fixtures for every test module

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "tic-captures"
STANDARD_TRI = CAPTURES / "standard_tri_tempo__lains-teleinfo-nom__stream_standard_complete.bin"
HISTORIC_HC = CAPTURES / "historic_mono_hc__esciara-pyteleinfo__conftest-VALID_FRAME.bin"


def one_frame(raw: bytes) -> bytes:
    """The first complete STX...ETX frame of a capture."""
    start = raw.index(b"\x02")
    return raw[start : raw.index(b"\x03", start) + 1]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: object, enable_custom_integrations: None
) -> None:
    """Run every test with the real recorder and let Home Assistant load energy_ledger.

    The recorder comes first: it must exist before `hass` is created.
    """


@pytest.fixture(autouse=True)
def fast_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give up on a silent baud after 1.5 s instead of several seconds (a pty has no baud)."""
    monkeypatch.setattr(tic_serial, "DETECT_SECONDS_PER_BAUD", {9600: 1.5, 1200: 1.5})


class TicLine:
    """A pseudo-terminal pair: `port` for the integration, `meter_end` for the test."""

    def __init__(self, directory: Path) -> None:
        self.port = str(directory / "ttyTIC")
        self.meter_end = str(directory / "meter")
        self._socat: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None
        self._port_fd: int | None = None

    def plug(self) -> None:
        """Create the pair and wait until both links exist."""
        socat = shutil.which("socat")
        assert socat, "socat is required (scripts/setup installs it)"
        self._socat = subprocess.Popen(
            [
                socat,
                f"pty,link={self.port},raw,echo=0",
                f"pty,link={self.meter_end},raw,echo=0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.port) and os.path.exists(self.meter_end)):
            assert time.monotonic() < deadline, "socat did not create the pty pair"
            time.sleep(0.01)
        self._fd = os.open(self.meter_end, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self._port_fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def unplug(self) -> None:
        """Kill socat: the port vanishes, the integration's reads fail."""
        for fd in (self._fd, self._port_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._port_fd = None
        if self._socat is not None:
            self._socat.terminate()
            self._socat.wait(5)
            self._socat = None
        deadline = time.monotonic() + 5
        while os.path.lexists(self.port):
            assert time.monotonic() < deadline, "socat did not remove its link"
            time.sleep(0.01)

    def write(self, data: bytes) -> None:
        """Send meter bytes; dropped when unplugged or when nobody reads, as on a real line."""
        if self._fd is None or self._port_fd is None:
            return
        settings = termios.tcgetattr(self._port_fd)
        settings[4] = settings[5] = termios.B38400
        termios.tcsetattr(self._port_fd, termios.TCSANOW, settings)
        with contextlib.suppress(BlockingIOError):
            os.write(self._fd, data)


@pytest.fixture
def tic_line(tmp_path: Path) -> Iterator[TicLine]:
    """A plugged-in line; unplugged at the end of the test."""
    line = TicLine(tmp_path)
    line.plug()
    yield line
    line.unplug()


@pytest.fixture
async def meter(tic_line: TicLine) -> AsyncIterator[MeterFeed]:
    """A meter sending the first frame of the standard three-phase capture every 0.2 s."""
    feed = MeterFeed(tic_line, one_frame(STANDARD_TRI.read_bytes()))
    yield feed
    await feed.stop()


class MeterFeed:
    """Writes a frame to a line periodically from an asyncio task, like a meter would."""

    def __init__(self, line: TicLine, frame: bytes, period: float = 0.2) -> None:
        self.line = line
        self.frame = frame
        self._period = period
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.line.write(self.frame)
            await asyncio.sleep(self._period)

    async def stop(self) -> None:
        """Stop sending."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
