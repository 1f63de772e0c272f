"""What a decoder reports besides its result: typed, stable problem kinds.

Decoders never raise on their input. Everything wrong with a payload becomes a `Problem` whose
`kind` is stable (diagnostics count them, the source logs each kind once per topic) and whose
`field` says where (a dotted path in the payload, ``""`` for the payload as a whole). The `detail`
is a short English sentence that never quotes a payload value (values can be personal: meter ids,
IP addresses); the only payload text it may quote is a unit name, truncated like field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class ProblemKind(StrEnum):
    """Why a payload, or one of its fields, was not (entirely) used."""

    INVALID_JSON = "invalid_json"
    """Not UTF-8, not JSON, or nested too deeply to parse: nothing decoded."""
    WRONG_TYPE = "wrong_type"
    """A value or section of the wrong JSON type (text or a boolean where a number is expected,
    a number where an object is expected, a payload that is not an object...)."""
    MISSING_SECTION = "missing_section"
    """A required section is absent (v2 ``data``/``units``, v1 sensors without any subsystem)."""
    MISSING_FIELD = "missing_field"
    """A required field is absent (v2 ``meterId``)."""
    UNKNOWN_SECTION = "unknown_section"
    """A telemetry section the profile does not know: dropped, never guessed."""
    UNKNOWN_FIELD = "unknown_field"
    """A telemetry field the profile does not know, inside a known section: dropped."""
    UNKNOWN_UNIT = "unknown_unit"
    """A measured field whose unit is missing or not a known unit of its quantity: dropped."""
    NOT_FINITE = "not_finite"
    """NaN, an infinity, or a number too large for a float: dropped."""
    NEGATIVE_TOTAL = "negative_total"
    """A negative energy counter (daily, total, settlement): dropped."""
    OUT_OF_RANGE = "out_of_range"
    """A number outside what the field can be (negative uptime or heap, state of charge > 100)."""
    BAD_TIMESTAMP = "bad_timestamp"
    """An ISO date where milliseconds since boot are expected, or the reverse, or a date without
    a time zone or that does not parse."""
    INVALID_VALUE = "invalid_value"
    """A value of the right type that is not valid for its field (grid mode "sideways", an empty
    meter id, a TIC value malformed for its label, an empty or non-ASCII per-topic payload)."""
    UNKNOWN_METER = "unknown_meter"
    """A v2 payload for a meter id outside the set the caller accepts: nothing decoded."""
    UNKNOWN_TOPIC = "unknown_topic"
    """A per-topic message on a topic that is not ``<base>/<LABEL>`` or ``<base>/<LABEL>/h``."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a payload (hashable: a source can log each once per topic)."""

    kind: ProblemKind
    field: str
    """Dotted path of the offending field in the payload (``load.power``), ``""`` for the root."""
    detail: str


@dataclass(frozen=True, slots=True)
class DecodeResult[T]:
    """A decoder's answer: its value (None when nothing usable was decoded) and its problems.

    A value comes with problems when only some fields were bad: those fields are left out.
    """

    value: T | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """A value and not a single problem."""
        return self.value is not None and not self.problems


_NAME_CHARS: Final = 32
"""Longest payload-supplied name quoted in a problem (field names are attacker-controlled)."""


def quote_name(name: object) -> str:
    """A payload-supplied key, safe to put into a problem: a str, at most 32 characters."""
    text = name if isinstance(name, str) else repr(name)
    text = "".join(ch if ch.isprintable() else "?" for ch in text[: _NAME_CHARS + 1])
    return text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 1] + "…"


def join_path(*parts: object) -> str:
    """Dotted path of payload keys, each made safe with `quote_name`."""
    return ".".join(quote_name(part) for part in parts)
