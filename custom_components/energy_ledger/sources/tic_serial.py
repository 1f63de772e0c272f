"""Linky TIC over a serial port (USB dongle, pseudo-terminal or network bridge) with serialx.

The source opens the port natively in asyncio (no executor, no blocking open), detects mode and
baud from the data itself, then reads forever: an unplugged dongle or a dropped bridge is reported
once, retried with a capped backoff and reported once more when it is back. It knows nothing of
Home Assistant: a `TicReader` turns the bytes into Readings (short frames completed), which it
hands to a callback with the connection changes; the time they were received comes from the
clock its owner gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import serialx

from ..core.reading import Reading
from ..core.tic import TicFrame, TicMode, TicStreamParser
from ..core.tic.reader import TicReader

_LOGGER = logging.getLogger(__name__)

BAUDRATES: tuple[int, ...] = (9600, 1200)
READ_CHUNK = 512
DETECT_SECONDS_PER_BAUD = {9600: 4.0, 1200: 6.0}
"""Long enough for two standard three-phase frames (1.3 s each) or two historic frames (2.3 s)."""
SILENCE_BEFORE_REDETECT = 30.0
"""Seconds without a valid frame on an open port before mode and baud are detected again."""
BACKOFF_START = 1.0
BACKOFF_MAX = 30.0


class TicPortError(Exception):
    """The port could not be opened; `reason` is a translation key of the config flow."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class NoTicDataError(Exception):
    """The port opened but delivered no valid TIC frame at any baud."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "no data at any baud" if reason == "no_data" else "bytes but no valid TIC group"
        )
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Detection:
    """What was found on a port: enough to read it and to describe it to the user."""

    baudrate: int
    mode: TicMode
    frame: TicFrame


async def open_port(port: str, baudrate: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open `port` 7E1 at `baudrate`, mapping failures to user-facing reasons."""
    try:
        return await serialx.open_serial_connection(
            port,
            baudrate=baudrate,
            bytesize=7,
            parity=serialx.Parity.EVEN,
            stopbits=1,
        )
    except PermissionError as err:
        raise TicPortError("permission_denied", _describe(err)) from err
    except (OSError, serialx.SerialException) as err:
        denied = getattr(err, "errno", None) == errno.EACCES
        raise TicPortError(
            "permission_denied" if denied else "cannot_open", _describe(err)
        ) from err


def _describe(err: Exception) -> str:
    """What went wrong, without the port path (by-id paths carry the adapter's serial number)."""
    return getattr(err, "strerror", None) or type(err).__name__


async def _first_frame(
    reader: asyncio.StreamReader, parser: TicStreamParser, seconds: float
) -> TicFrame | None:
    """Read until the parser yields a frame or `seconds` elapse."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(READ_CHUNK), remaining)
        except TimeoutError:
            return None
        if not chunk:
            raise TicPortError("cannot_open", "end of stream")
        if frames := parser.feed(chunk):
            return frames[0]
    return None


@asynccontextmanager
async def detected_port(
    port: str, baudrates: Sequence[int] = BAUDRATES
) -> AsyncIterator[tuple[Detection, asyncio.StreamReader]]:
    """Open `port` at the first baud in `baudrates` that yields a valid frame; close on exit.

    The port stays open at the detected baud for the caller to go on reading, so a stream is
    never closed and reopened between detection and reading. Raises TicPortError when the port
    cannot be opened, NoTicDataError with reason `no_data` when nothing arrives at all and
    `not_tic` when bytes arrive but none form a valid group.
    """
    bytes_seen = 0
    for baudrate in baudrates:
        reader, writer = await open_port(port, baudrate)
        try:
            parser = TicStreamParser()
            frame = await _first_frame(reader, parser, DETECT_SECONDS_PER_BAUD.get(baudrate, 5.0))
            bytes_seen += parser.bytes_received
            if frame is not None:
                yield Detection(baudrate=baudrate, mode=frame.mode, frame=frame), reader
                return
        finally:
            writer.close()
            # The next open of the same device fails (EINVAL) while this close is pending.
            with contextlib.suppress(OSError, serialx.SerialException):
                await writer.wait_closed()
    raise NoTicDataError("not_tic" if bytes_seen else "no_data")


async def detect(port: str, baudrates: Sequence[int] = BAUDRATES) -> Detection:
    """Detect mode and baud on `port` and close it (see `detected_port`)."""
    async with detected_port(port, baudrates) as (detection, _reader):
        return detection


type ReadingCallback = Callable[[Reading], None]
type ConnectionCallback = Callable[[bool], None]
type Clock = Callable[[], datetime]


class TicSerialSource:
    """Keeps one TIC port read, whatever happens to the dongle, until `run()` is cancelled.

    Callbacks run in the event loop: `on_reading(reading)` for every frame, received at
    `clock()` (timezone-aware), `on_connection(connected)` when the port is opened and a frame
    was read, or lost.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate_hint: int | None,
        on_reading: ReadingCallback,
        on_connection: ConnectionCallback,
        clock: Clock,
    ) -> None:
        self.port = port
        self.baudrate: int | None = baudrate_hint
        self._detected_mode: TicMode | None = None
        self.reader = TicReader()
        self.reconnects = 0
        self.last_error: str | None = None
        self._on_reading = on_reading
        self._on_connection = on_connection
        self._clock = clock
        self._connected = False

    @property
    def mode(self) -> TicMode | None:
        """The TIC mode frames are read in: the reader's once the stream locked it, until then
        the one detection found (None before any)."""
        return self.reader.mode or self._detected_mode

    @property
    def connected(self) -> bool:
        """True while the port is open and delivering valid frames."""
        return self._connected

    def _baud_order(self) -> tuple[int, ...]:
        if self.baudrate is None:
            return BAUDRATES
        return (self.baudrate, *(b for b in BAUDRATES if b != self.baudrate))

    def _set_connected(self, connected: bool) -> None:
        if connected == self._connected:
            return
        self._connected = connected
        self._on_connection(connected)

    async def run(self) -> None:
        """Read until cancelled: detect, read, and on any failure retry with a capped backoff."""
        backoff = BACKOFF_START
        lost_logged = False
        while True:
            try:
                async with detected_port(self.port, self._baud_order()) as (detection, stream):
                    self.baudrate, self._detected_mode = detection.baudrate, detection.mode
                    self.reader.reset()  # a new stream: its mode is locked again
                    if lost_logged:
                        _LOGGER.info("TIC port is back (%s, %d baud)", self.mode, self.baudrate)
                    lost_logged = False
                    backoff = BACKOFF_START
                    self._set_connected(True)
                    self._on_reading(self.reader.read_frame(detection.frame, self._clock()))
                    await self._read_until_silent(stream)
                self.last_error = f"no valid frame for {SILENCE_BEFORE_REDETECT:.0f} s"
            except (TicPortError, NoTicDataError) as err:
                self.last_error = str(err)
            except (OSError, serialx.SerialException) as err:
                self.last_error = _describe(err)
            self._set_connected(False)
            if not lost_logged:
                _LOGGER.warning(
                    "TIC port unavailable (%s); retrying every %d s at most",
                    self.last_error,
                    BACKOFF_MAX,
                )
                lost_logged = True
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _read_until_silent(self, stream: asyncio.StreamReader) -> None:
        """Read frames; return when no valid frame came for a while (baud or mode changed)."""
        last_frame = time.monotonic()
        while True:
            try:
                chunk = await asyncio.wait_for(stream.read(READ_CHUNK), SILENCE_BEFORE_REDETECT)
            except TimeoutError:
                return
            if not chunk:
                raise TicPortError("cannot_open", "port closed")
            now = time.monotonic()
            for reading in self.reader.read(chunk, self._clock):
                last_frame = now
                self._on_reading(reading)
            if now - last_frame > SILENCE_BEFORE_REDETECT:
                return
