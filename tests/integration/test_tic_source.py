"""The serial source alone on a real pseudo-terminal: re-detection, one log line each way."""

from __future__ import annotations

import asyncio
import errno
import logging
from datetime import UTC, datetime

import pytest
import serialx

from custom_components.energy_ledger.core.reading import Reading
from custom_components.energy_ledger.sources import tic_serial
from custom_components.energy_ledger.sources.tic_serial import (
    TicPortError,
    TicSerialSource,
    open_port,
)

from .conftest import STANDARD_TRI, MeterFeed, TicLine, one_frame
from .test_tic_end_to_end import wait_for


async def test_line_noise_then_recovery_logs_once_each_way(
    tic_line: TicLine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Valid frames, then only noise (as after a baud change), then valid frames again.

    The source notices the silence, re-detects, reports the link down once and up once, and
    logs one warning and one info line however long the noise lasts.
    """
    monkeypatch.setattr(tic_serial, "SILENCE_BEFORE_REDETECT", 0.6)
    monkeypatch.setattr(tic_serial, "BACKOFF_START", 0.1)
    readings: list[Reading] = []
    links: list[bool] = []
    received_at = datetime(2026, 1, 14, 5, 0, tzinfo=UTC)
    source = TicSerialSource(
        tic_line.port,
        baudrate_hint=9600,
        on_reading=readings.append,
        on_connection=links.append,
        clock=lambda: received_at,
    )
    valid = one_frame(STANDARD_TRI.read_bytes())
    feed = MeterFeed(tic_line, valid)
    task = asyncio.get_running_loop().create_task(source.run())
    try:
        with caplog.at_level(logging.INFO, logger=tic_serial.__name__):
            await wait_for(lambda: len(readings) >= 2)
            feed.frame = b"\x02\nSINSTS\t02700\tX\r\x03"  # checksum wrong: a noisy wire
            await wait_for(lambda: links == [True, False])
            await asyncio.sleep(3.5)  # longer than a detection round: it fails, one warning
            feed.frame = valid
            await wait_for(lambda: links == [True, False, True])
    finally:
        await feed.stop()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    records = [r for r in caplog.records if r.name == tic_serial.__name__]
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO]
    assert tic_line.port not in records[0].getMessage()
    assert source.reader.rejected["checksum"] >= 1
    assert {reading.received_at for reading in readings} == {received_at}  # the given clock
    assert source.reconnects >= 2


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "permission_denied"),
        (OSError(errno.EACCES, "Permission denied"), "permission_denied"),
        (OSError(errno.EBUSY, "Device or resource busy"), "cannot_open"),
        (serialx.SerialException("could not configure port"), "cannot_open"),
    ],
)
async def test_open_errors_map_to_flow_errors(
    monkeypatch: pytest.MonkeyPatch, error: Exception, reason: str
) -> None:
    """Each way an open fails becomes one translated reason, without the path in the text.

    Tests run as root, which no device permission stops, so these failures are raised by a
    stand-in for serialx's open.
    """

    async def failing_open(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(serialx, "open_serial_connection", failing_open)
    with pytest.raises(TicPortError) as caught:
        await open_port("/dev/serial/by-id/usb-FTDI_TINFO_DA0ABCDE-if00", 9600)
    assert caught.value.reason == reason
    assert "DA0ABCDE" not in str(caught.value)
