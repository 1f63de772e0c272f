"""JSON loading, voluptuous field validators that say *why* they fail, and lenient validation.

Every validator here raises an `Invalid` subclass that carries a `ProblemKind`, so a failure maps
to a stable problem kind instead of a message to parse. `validate` runs a voluptuous schema and,
instead of rejecting the whole payload for one bad field, reports each invalid field and drops
it, then validates what is left again: the schemas only use optional keys and validate each key
independently, so the second pass always succeeds (a third is never needed; the loop is bounded
anyway).

Voluptuous costs most of the decoding time of a valid payload (about 60 % of a 1 kB v1 sensors
payload), and nearly every payload is valid. So a `LenientSchema` also compiles its schema into
a plain walk (`_compile`) that runs the same field validators on the same keys and builds the
same result; voluptuous runs only when that walk meets anything amiss, to say what and where.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import FunctionType
from typing import ClassVar, Final

import voluptuous as vol

from .problems import Problem, ProblemKind, join_path
from .units import FLOAT_MAX_INT

CORRELATION_KEYS: Final = frozenset({"correlation_id", "correlationId"})
"""Keys a device echoes from a command to acknowledge it: not telemetry, never an unknown field."""
MAX_PAYLOAD_BYTES: Final = 65_536
"""Larger payloads are refused unparsed (EnerLink payloads are about 1 kB)."""

MAX_TEXT_CHARS: Final = 255
"""Longest text value kept (battery state, device status, IP address...)."""

MAX_METER_ID_CHARS: Final = 64

_MAX_PASSES: Final = 3


# ---- JSON -------------------------------------------------------------------------------------


def load_json(payload: bytes | bytearray | str) -> tuple[object, Problem | None]:
    """Parse an MQTT payload as UTF-8 JSON. Never raises.

    Returns ``(value, None)``, or ``(None, problem)`` with an ``invalid_json`` problem. NaN and
    Infinity literals parse (to float NaN/inf): the schemas report them as ``not_finite`` on the
    field that carries them, which says more than "invalid JSON" for the whole payload.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None, Problem(ProblemKind.INVALID_JSON, "", "payload larger than 64 KiB")
    try:
        text = payload if isinstance(payload, str) else bytes(payload).decode("utf-8")
        return json.loads(text), None
    except UnicodeDecodeError:
        return None, Problem(ProblemKind.INVALID_JSON, "", "payload is not UTF-8 text")
    except RecursionError:
        return None, Problem(ProblemKind.INVALID_JSON, "", "JSON nested too deeply")
    except ValueError:  # JSONDecodeError, and ints longer than Python's digit limit
        return None, Problem(ProblemKind.INVALID_JSON, "", "payload is not valid JSON")


# ---- Kind-carrying errors ---------------------------------------------------------------------


class KindInvalid(vol.Invalid):
    """A voluptuous error that knows which `ProblemKind` it is."""

    kind: ClassVar[ProblemKind] = ProblemKind.WRONG_TYPE


class WrongType(KindInvalid):
    kind = ProblemKind.WRONG_TYPE


class NotFinite(KindInvalid):
    kind = ProblemKind.NOT_FINITE


class NegativeTotal(KindInvalid):
    kind = ProblemKind.NEGATIVE_TOTAL


class OutOfRange(KindInvalid):
    kind = ProblemKind.OUT_OF_RANGE


class BadTimestamp(KindInvalid):
    kind = ProblemKind.BAD_TIMESTAMP


class InvalidValue(KindInvalid):
    kind = ProblemKind.INVALID_VALUE


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# ---- Field validators -------------------------------------------------------------------------


def number(value: object) -> int | float:
    """A finite JSON number (not a boolean, not numeric text), an int no larger than a float."""
    # Exact types first: every number of every payload comes through here.
    if type(value) is float and math.isfinite(value):
        return value
    if type(value) is int and abs(value) <= FLOAT_MAX_INT:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WrongType(f"expected a number, got {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise NotFinite("NaN or infinite")
    if isinstance(value, int) and abs(value) > FLOAT_MAX_INT:
        raise NotFinite("too large for a float")
    return value


def counter(value: object) -> int | float:
    """An energy counter: a finite number, not negative (``-0.0`` becomes ``0.0``)."""
    checked = number(value)
    if checked < 0:
        raise NegativeTotal("negative energy counter")
    return checked if isinstance(checked, int) else checked + 0.0


def non_negative(value: object) -> int | float:
    """A finite number that cannot be negative (heap size, attempts, uptime)."""
    checked = number(value)
    if checked < 0:
        raise OutOfRange("negative")
    return checked


def percent(value: object) -> int | float:
    """A percentage, 0 to 100."""
    checked = number(value)
    if not 0 <= checked <= 100:
        raise OutOfRange("outside 0-100 %")
    return checked


def flag(value: object) -> bool:
    """A JSON boolean (not 0/1, not "true")."""
    if not isinstance(value, bool):
        raise WrongType(f"expected a boolean, got {_type_name(value)}")
    return value


def text(value: object) -> str:
    """Text, stripped, at most `MAX_TEXT_CHARS` characters."""
    if not isinstance(value, str):
        raise WrongType(f"expected text, got {_type_name(value)}")
    stripped = value.strip()
    if len(stripped) > MAX_TEXT_CHARS:
        raise InvalidValue(f"text longer than {MAX_TEXT_CHARS} characters")
    return stripped


def meter_id(value: object) -> str:
    """A meter id: non-empty printable text, stripped, at most 64 characters."""
    if not isinstance(value, str):
        raise WrongType(f"expected text, got {_type_name(value)}")
    stripped = value.strip()
    if not stripped or len(stripped) > MAX_METER_ID_CHARS or not stripped.isprintable():
        raise InvalidValue("meter id empty, too long or not printable")
    return stripped


def unit_name(value: object) -> str:
    """The name of a unit in a ``units`` block."""
    if not isinstance(value, str):
        raise WrongType(f"expected a unit name, got {_type_name(value)}")
    return value.strip()


def uptime_ms(value: object) -> int:
    """Milliseconds since boot (an EnerLink v1 ``timestamp``): a non-negative integer.

    ISO text here is the "ms versus ISO" confusion: reported as ``bad_timestamp``.
    """
    if isinstance(value, str):
        raise BadTimestamp("text where milliseconds since boot are expected")
    checked = number(value)
    if isinstance(checked, float):
        if not checked.is_integer():
            raise BadTimestamp("fractional milliseconds since boot")
        checked = int(checked)
    if checked < 0:
        raise OutOfRange("negative milliseconds since boot")
    return checked


def iso_datetime(value: object) -> datetime:
    """An ISO 8601 date and time with a time zone (an EnerLink v2 ``datetime``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise BadTimestamp("a number where an ISO date is expected")
    if not isinstance(value, str):
        raise WrongType(f"expected an ISO date, got {_type_name(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadTimestamp("not an ISO 8601 date") from None
    if parsed.utcoffset() is None:
        raise BadTimestamp("ISO date without a time zone")
    return parsed


def scalar(value: object) -> str | bool | int | float:
    """A JSON scalar worth keeping as an extra: text, a boolean or a finite number."""
    if isinstance(value, (str, bool)):
        return text(value) if isinstance(value, str) else value
    return number(value)


def scalars(value: object) -> object:
    """A scalar, or an object of scalars (one level), for the `extra` of device records."""
    if not isinstance(value, dict):
        return scalar(value)
    cleaned: dict[str, object] = {}
    errors: list[vol.Invalid] = []
    for key, item in value.items():
        try:
            cleaned[key] = scalar(item)
        except vol.Invalid as err:
            err.prepend([key])
            errors.append(err)
    if errors:
        raise vol.MultipleInvalid(errors)
    return cleaned


# ---- Lenient validation -----------------------------------------------------------------------


def _problem_for(err: vol.Invalid) -> Problem:
    field = join_path(*err.path)
    if isinstance(err, KindInvalid):
        return Problem(err.kind, field, err.msg)
    if isinstance(err, vol.DictInvalid):
        return Problem(ProblemKind.WRONG_TYPE, field, "expected an object")
    return Problem(ProblemKind.WRONG_TYPE, field, "wrong type")


def _without(data: object, path: Sequence[object]) -> object:
    """A copy of `data` without the value at `path` (only the dicts along the path are copied)."""
    if not path or not isinstance(data, dict) or path[0] not in data:
        return data
    head, rest = path[0], path[1:]
    copy = dict(data)
    if rest:
        copy[head] = _without(copy[head], rest)
    else:
        del copy[head]
    return copy


def _errors_of(err: vol.Invalid) -> list[vol.Invalid]:
    if isinstance(err, vol.MultipleInvalid):
        return [leaf for inner in err.errors for leaf in _errors_of(inner)]
    return [err]


class _ExplainError(Exception):
    """The fast walk met something it leaves to voluptuous (which explains what is wrong)."""


type _Check = Callable[[object], object]


def _compile(node: object, extra: int) -> _Check:
    """A plain check of `node` that returns what voluptuous would for a value it accepts.

    Only what the payload schemas use is compiled: schemas and dicts whose keys are
    `vol.Optional` names (no default) or the `str` type, with plain functions or schemas as
    values; anything else is a programming error, raised at import time.
    """
    if isinstance(node, vol.Schema):
        return _compile(node.schema, node.extra)
    if isinstance(node, dict):
        return _compile_dict(node, extra)
    if isinstance(node, FunctionType):
        return node  # voluptuous calls it alike; an error it raises sends us to voluptuous
    raise TypeError(f"no fast check for {node!r}")


def _compile_dict(schema: dict[object, object], extra: int) -> _Check:
    named: dict[str, _Check] = {}
    any_text: _Check | None = None
    for key, value in schema.items():
        if isinstance(key, vol.Optional) and isinstance(key.schema, str):
            if key.default is not vol.UNDEFINED:
                raise TypeError(f"no fast check for a default of {key.schema!r}")
            named[key.schema] = _compile(value, extra)
        elif key is str:
            any_text = _compile(value, extra)
        else:
            raise TypeError(f"no fast check for the key {key!r}")
    if extra not in (vol.ALLOW_EXTRA, vol.PREVENT_EXTRA):
        raise TypeError("no fast check for removed extra keys")
    keep_extra = extra == vol.ALLOW_EXTRA

    def check(data: object) -> dict[object, object]:
        # As voluptuous: an exact name first, then the `str` key, then extra keys.
        if type(data) is not dict:
            raise _ExplainError
        out: dict[object, object] = {}
        for key, value in data.items():
            if type(key) is not str:
                raise _ExplainError
            validator = named.get(key, any_text)
            if validator is not None:
                out[key] = validator(value)
            elif keep_extra:
                out[key] = value
            else:
                raise _ExplainError
        return out

    return check


class LenientSchema:
    """A payload schema for `validate`: the voluptuous `schema`, and `check`, its fast walk.

    `check` returns what `schema` returns for a payload it accepts, and raises for any other.
    """

    __slots__ = ("check", "schema")

    def __init__(self, schema: vol.Schema) -> None:
        if not isinstance(schema.schema, dict):
            raise TypeError("a payload schema is an object")
        self.schema = schema
        self.check = _compile(schema, schema.extra)


def validate(
    schema: LenientSchema, data: object, problems: list[Problem]
) -> Mapping[str, object] | None:
    """Validate `data` (an object) with `schema`, dropping and reporting each invalid field.

    Problems are appended to `problems`. Returns the validated mapping, or None when `data`
    itself is invalid (not an object). Never raises.
    """
    try:
        return schema.check(data)  # type: ignore[return-value]
    except (_ExplainError, vol.Invalid, ValueError):
        pass  # not valid as it stands: voluptuous finds each problem
    check: Callable[[object], object] = schema.schema
    current = data
    for _ in range(_MAX_PASSES):
        try:
            result = check(current)
        except vol.Invalid as err:
            for leaf in _errors_of(err):
                problem = _problem_for(leaf)
                if problem not in problems:
                    problems.append(problem)
                if not leaf.path:
                    return None
                current = _without(current, leaf.path)
            continue
        return result if isinstance(result, dict) else None
    return None  # pragma: no cover - unreachable with schemas of optional, independent keys
