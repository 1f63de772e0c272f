"""Commands to EnerLink meters, and whether the meter obeyed (no Home Assistant imports).

A command is a small JSON object (`{"grid": "export"}`, `{"energy": {"reset": "all"}}`...) to
which the sender adds a UUID ``correlation_id`` and an ISO ``timestamp``, as the EnerLink
platform does (see the real rows in ``samples/enerlink/dump_device_commands_rows.tsv``). A meter
confirms a command by sending any message that carries its ``correlation_id``: that is the only
acknowledgement the protocol has, so `CommandTracker` looks for it in every inbound message and
otherwise gives up after a timeout (five minutes on the platform).

Time is always passed in: the caller decides what "now" is and when a timeout fires, so Home
Assistant can drive it with its own timers and tests with a simulated clock.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import voluptuous as vol

from .device import GridMode
from .schema import CORRELATION_KEYS, load_json

DEFAULT_TIMEOUT: Final = timedelta(minutes=5)
"""How long a meter has to acknowledge a command (the EnerLink platform's own limit)."""
TIMEOUT_MIN_S: Final = 10
TIMEOUT_MAX_S: Final = 3_600
"""Acknowledgement timeout bounds a user may choose: a meter answers within seconds, but a
broker or Wi-Fi hiccup needs some slack; beyond an hour nobody still waits for the answer."""
DEFAULT_MAX_PENDING: Final = 100
"""Commands waiting for an acknowledgement, per tracker; beyond, the oldest is given up."""

SENSOR_INTERVAL_MIN_MS: Final = 1_000
SENSOR_INTERVAL_MAX_MS: Final = 3_600_000
"""Telemetry interval bounds: EnerLink meters report every 5 to 30 s; one second to one hour
covers every sane setting and keeps a typo (5 instead of 5000) from flooding the broker."""

MAX_COMMAND_BYTES: Final = 4_096
"""Longest encoded command accepted (a real command is under 200 bytes)."""
_MAX_DEPTH: Final = 4
"""Nesting limit of a raw command's values (real commands nest two levels)."""

ENVELOPE_KEYS: Final = ("correlation_id", "timestamp")
"""Added by the sender to every command; a raw command may not set them itself."""
_GRID_MODES: Final = frozenset(mode.value for mode in GridMode)
_CORRELATION_MARK: Final = b"orrelation"
"""Both spellings contain it: a payload without it is skipped unparsed."""


class EnergyReset(StrEnum):
    """Which energy counters an energy reset clears."""

    ALL = "all"
    BATTERY = "battery"
    SOLAR = "solar"
    LOAD = "load"


class CommandStatus(StrEnum):
    """Where a command stands."""

    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    TIMED_OUT = "timed_out"


class InvalidCommandError(ValueError):
    """A command object that cannot be sent; the message says which field and why."""


# ---- Command objects --------------------------------------------------------------------------


def _json_value(value: object, depth: int = 0) -> object:
    """A JSON value a device can parse: finite numbers, text, flags, lists and objects."""
    if depth > _MAX_DEPTH:
        raise vol.Invalid(f"nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise vol.Invalid("not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        result: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise vol.Invalid("object keys must be text")
            try:
                result[key] = _json_value(item, depth + 1)
            except vol.Invalid as err:
                raise vol.Invalid(err.msg, path=[key, *err.path]) from None
        return result
    raise vol.Invalid(f"{type(value).__name__} is not a JSON value")


def _interval_ms(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise vol.Invalid("sensor interval must be a whole number of milliseconds")
    if not SENSOR_INTERVAL_MIN_MS <= value <= SENSOR_INTERVAL_MAX_MS:
        raise vol.Invalid(
            f"sensor interval must be between {SENSOR_INTERVAL_MIN_MS} and "
            f"{SENSOR_INTERVAL_MAX_MS} ms"
        )
    return value


def _json_object(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise vol.Invalid("the command must be a JSON object")
    return value


def _no_envelope(body: Mapping[str, object]) -> Mapping[str, object]:
    for key in ENVELOPE_KEYS:
        if key in body:
            raise vol.Invalid("added by Energy Ledger to every command", path=[key])
    return body


def _fits(body: Mapping[str, object]) -> Mapping[str, object]:
    if len(json.dumps(body)) > MAX_COMMAND_BYTES:
        raise vol.Invalid(f"command longer than {MAX_COMMAND_BYTES} bytes")
    return body


COMMAND_BODY_SCHEMA: Final = vol.Schema(
    vol.All(
        _json_object,
        vol.Length(min=1, msg="the command is empty"),
        _no_envelope,
        {
            # The sections the integration knows are checked strictly, so a typo is an error
            # rather than a command the meter silently ignores; relays, motors, PWM and what
            # future firmwares accept go through as plain JSON.
            vol.Optional("grid"): vol.In(sorted(_GRID_MODES)),
            vol.Optional("energy"): vol.All(
                {
                    vol.Optional("reset"): vol.In([target.value for target in EnergyReset]),
                    vol.Optional("reset_settlement"): vol.In(["all"]),
                },
                vol.Length(min=1, msg="energy needs reset or reset_settlement"),
            ),
            vol.Optional("mqtt"): vol.All(
                {vol.Optional("sensor_interval"): _interval_ms, str: _json_value},
                vol.Length(min=1, msg="mqtt needs sensor_interval"),
            ),
            str: _json_value,
        },
        _fits,
    )
)
"""What a raw command object must look like; voluptuous errors name the offending field."""


@dataclass(frozen=True, slots=True)
class Command:
    """One command to one meter, with the envelope that lets its acknowledgement be found."""

    body: Mapping[str, object]
    """What the meter is asked to do, as sent, without the envelope."""
    correlation_id: str
    timestamp: datetime

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise ValueError("the command timestamp must be timezone-aware")

    @property
    def payload(self) -> dict[str, object]:
        """The JSON object published: the body, then the timestamp and the correlation id."""
        return {
            **self.body,
            "timestamp": _iso_millis(self.timestamp),
            "correlation_id": self.correlation_id,
        }

    def encode(self) -> bytes:
        """The payload as compact UTF-8 JSON."""
        return json.dumps(self.payload, separators=(",", ":")).encode()


def _iso_millis(moment: datetime) -> str:
    """``2025-07-16T04:47:22.732Z``: UTC with milliseconds, as the platform writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_correlation_id() -> str:
    return str(uuid.uuid4())


def raw_command(
    body: Mapping[str, object],
    *,
    now: datetime,
    new_id: Callable[[], str] = _new_correlation_id,
) -> Command:
    """A command from a caller's object, validated by `COMMAND_BODY_SCHEMA`.

    Raises InvalidCommandError naming the field at fault.
    """
    try:
        valid = COMMAND_BODY_SCHEMA(body)
    except vol.Invalid as err:
        raise InvalidCommandError(str(err)) from err
    return Command(MappingProxyType(dict(valid)), new_id(), now)


def grid_mode_command(mode: GridMode | str, *, now: datetime) -> Command:
    """Switch the grid relay: ``{"grid": "import" | "export" | "off"}``."""
    return raw_command({"grid": str(mode)}, now=now)


def energy_reset_command(target: EnergyReset | str, *, now: datetime) -> Command:
    """Clear energy counters: ``{"energy": {"reset": "all" | "battery" | "solar" | "load"}}``."""
    return raw_command({"energy": {"reset": str(target)}}, now=now)


def settlement_reset_command(*, now: datetime) -> Command:
    """Clear the settlement counters: ``{"energy": {"reset_settlement": "all"}}``."""
    return raw_command({"energy": {"reset_settlement": "all"}}, now=now)


def sensor_interval_command(interval_ms: int, *, now: datetime) -> Command:
    """Set the telemetry interval: ``{"mqtt": {"sensor_interval": <ms>}}``."""
    return raw_command({"mqtt": {"sensor_interval": interval_ms}}, now=now)


def command_settings(body: Mapping[str, object]) -> dict[str, object]:
    """The device settings a command sets and the meter may never report back.

    ``grid`` (a `GridMode`) and ``sensor_interval`` (ms): once acknowledged, they are what the
    meter runs with, which the integration shows until the meter reports otherwise.
    """
    settings: dict[str, object] = {}
    grid = body.get("grid")
    if isinstance(grid, str) and grid in _GRID_MODES:
        settings["grid"] = GridMode(grid)
    mqtt = body.get("mqtt")
    if isinstance(mqtt, Mapping) and isinstance(mqtt.get("sensor_interval"), int):
        settings["sensor_interval"] = mqtt["sensor_interval"]
    return settings


def setting_as_dict(acknowledged_at: datetime, value: object) -> dict[str, object]:
    """A setting of `command_settings` and when the meter acknowledged it, JSON-ready.

    The time is kept so that a newer report of the meter still wins after a restart.
    """
    return {
        "value": value if isinstance(value, int) else str(value),
        "acknowledged_at": acknowledged_at.isoformat(),
    }


def setting_from_dict(name: str, data: Mapping[str, object]) -> tuple[datetime, object]:
    """A setting stored by `setting_as_dict`, checked as the command that set it was.

    Raises InvalidCommandError for an unknown setting or a value no command could have set.
    """
    value = data.get("value")
    body: dict[str, object]
    if name == "grid":
        body = {"grid": value}
    elif name == "sensor_interval":
        body = {"mqtt": {"sensor_interval": value}}
    else:
        raise InvalidCommandError(f"unknown setting {name!r}")
    try:
        acknowledged_at = _aware_datetime(data.get("acknowledged_at"))
        return acknowledged_at, command_settings(COMMAND_BODY_SCHEMA(body))[name]
    except vol.Invalid as err:
        raise InvalidCommandError(str(err)) from err


# ---- Acknowledgements -------------------------------------------------------------------------


def _walk_ids(value: object, depth: int = 0) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in CORRELATION_KEYS and isinstance(item, str):
                yield item
            else:
                yield from _walk_ids(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_ids(item, depth + 1)


def correlation_ids_in(payload: bytes) -> frozenset[str]:
    """The correlation ids an inbound JSON payload carries, at any level. Never raises.

    Devices answer in different shapes (a bare ``{"correlation_id": ...}``, the id inside an
    ``ack`` object, or in their next status), so every ``correlation_id`` (or
    ``correlationId``) key counts. Payloads that cannot carry one are not parsed.
    """
    if _CORRELATION_MARK not in payload:
        return frozenset()
    value, problem = load_json(payload)
    if problem is not None:
        return frozenset()
    return frozenset(_walk_ids(value))


@dataclass(frozen=True, slots=True)
class TrackedCommand:
    """A command sent to a meter and where it stands."""

    meter: str
    command: Command
    status: CommandStatus
    sent_at: datetime
    deadline: datetime
    settled_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, to outlive a restart (the meter is stored by whoever stores this)."""
        return {
            "command": copy.deepcopy(dict(self.command.body)),
            "correlation_id": self.command.correlation_id,
            "timestamp": self.command.timestamp.isoformat(),
            "status": self.status.value,
            "sent_at": self.sent_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "settled_at": None if self.settled_at is None else self.settled_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, meter: str, data: Mapping[str, object]) -> TrackedCommand:
        """A command stored by `as_dict`; raises InvalidCommandError naming the bad field."""
        try:
            valid = _STORED_SCHEMA(dict(data))
        except vol.Invalid as err:
            raise InvalidCommandError(str(err)) from err
        return cls(
            meter,
            Command(
                MappingProxyType(dict(valid["command"])),
                valid["correlation_id"],
                valid["timestamp"],
            ),
            CommandStatus(valid["status"]),
            valid["sent_at"],
            valid["deadline"],
            valid["settled_at"],
        )

    def after_restart(self, now: datetime) -> TrackedCommand:
        """The command as it stands once Home Assistant is back.

        Settled commands are unchanged. A pending one is timed out at `now`: nobody listened
        for its acknowledgement while Home Assistant was stopped, so whether the meter obeyed
        is unknown, and a command never stays pending without a timer to end it.
        """
        if self.status is not CommandStatus.PENDING:
            return self
        return replace(self, status=CommandStatus.TIMED_OUT, settled_at=now)


def _aware_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise vol.Invalid("expected an ISO date and time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise vol.Invalid("expected an ISO date and time") from None
    if moment.tzinfo is None:
        raise vol.Invalid("the date and time has no time zone")
    return moment


_STORED_SCHEMA: Final = vol.Schema(
    {
        vol.Required("command"): COMMAND_BODY_SCHEMA,
        vol.Required("correlation_id"): vol.All(str, vol.Length(min=1, max=100)),
        vol.Required("timestamp"): _aware_datetime,
        vol.Required("status"): vol.In([status.value for status in CommandStatus]),
        vol.Required("sent_at"): _aware_datetime,
        vol.Required("deadline"): _aware_datetime,
        vol.Required("settled_at"): vol.Any(None, _aware_datetime),
    }
)
"""What `TrackedCommand.as_dict` writes; anything else in storage is refused, not guessed."""


class CommandTracker:
    """Commands waiting for their acknowledgement: pending → acknowledged or timed out.

    Memory is bounded: at most `max_pending` commands wait at once; tracking one more gives up
    on the oldest, which is reported as timed out (nobody waits for it any longer). Settled
    commands are not kept: a late acknowledgement of a timed-out command changes nothing.
    """

    def __init__(
        self, timeout: timedelta = DEFAULT_TIMEOUT, max_pending: int = DEFAULT_MAX_PENDING
    ) -> None:
        if timeout <= timedelta(0):
            raise ValueError("the timeout must be positive")
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.timeout = timeout
        self.max_pending = max_pending
        self._pending: dict[str, TrackedCommand] = {}

    @property
    def pending(self) -> Mapping[str, TrackedCommand]:
        """Commands waiting, by correlation id, oldest first."""
        return MappingProxyType(self._pending)

    def track(
        self, meter: str, command: Command, now: datetime, timeout: timedelta | None = None
    ) -> tuple[TrackedCommand, tuple[TrackedCommand, ...]]:
        """Start waiting for `command`; returns it pending, and the commands given up for it.

        `timeout` overrides the tracker's own for this command (the user may change it while
        other commands are pending: those keep the deadline they were sent with).
        """
        timeout = self.timeout if timeout is None else timeout
        if timeout <= timedelta(0):
            raise ValueError("the timeout must be positive")
        if command.correlation_id in self._pending:
            raise ValueError("this correlation id is already pending")
        given_up: list[TrackedCommand] = []
        while len(self._pending) >= self.max_pending:
            oldest = next(iter(self._pending))
            given_up.append(self._settle(oldest, CommandStatus.TIMED_OUT, now))
        tracked = TrackedCommand(meter, command, CommandStatus.PENDING, now, now + timeout)
        self._pending[command.correlation_id] = tracked
        return tracked, tuple(given_up)

    def discard(self, correlation_id: str) -> None:
        """Forget a command that could not be sent at all."""
        self._pending.pop(correlation_id, None)

    def observe(self, payload: bytes, now: datetime) -> tuple[TrackedCommand, ...]:
        """Acknowledge every pending command whose correlation id the inbound payload carries."""
        if not self._pending:
            return ()
        return tuple(
            self._settle(correlation_id, CommandStatus.ACKNOWLEDGED, now)
            for correlation_id in correlation_ids_in(payload)
            if correlation_id in self._pending
        )

    def expire(self, correlation_id: str, now: datetime) -> TrackedCommand | None:
        """Time the command out (its timer fired); None when it is no longer pending."""
        if correlation_id not in self._pending:
            return None
        return self._settle(correlation_id, CommandStatus.TIMED_OUT, now)

    def _settle(self, correlation_id: str, status: CommandStatus, now: datetime) -> TrackedCommand:
        return replace(self._pending.pop(correlation_id), status=status, settled_at=now)
