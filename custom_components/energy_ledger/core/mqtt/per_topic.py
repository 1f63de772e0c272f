"""One value per topic: TIC-to-MQTT bridges (TeleInfod and the like) into the same `Reading`.

Such a bridge publishes each TIC label of a frame to its own topic under a base topic:
``TeleInfo/LinkyConsommation/EASF01`` = ``802``. What TeleInfod does to the values, and so what
this module expects:

* numeric labels are re-printed as unsigned decimal without leading zeros (``EASF01 000000802``
  becomes ``802``, ``NTARF 01`` becomes ``1``): decoded as the int directly, no re-padding needed;
* text-like labels (ADSC, VTIC, DATE, NGTF, LTARF, STGE, MSG1, MSG2, PRM, RELAIS) are sent as the
  meter sent them; ``DATE`` carries its horodate (``E241011010531``) as its value;
* a label with a horodate (SMAXSN, SMAXIN, CCASN, UMOY1, DPM1...) is published twice: the value
  on ``<base>/<LABEL>`` and the horodate on ``<base>/<LABEL>/h``.

Each value is decoded with the TIC label catalogue and `tic.decode.decode_group`, so such a meter
gets exactly the typed values of a serial Linky, and `TopicAccumulator` rebuilds a frame from the
latest value of every label and decodes it with `tic.decode.decode_frame` (same normalized
fields: EAST, registers, tariff period and index, meter clock, address).

A bridge that mangles a label is not repaired: TeleInfod passes ``PJOURF+1`` through ``atoi``,
which keeps only its first block (``00008001 NONUTILE ...`` becomes ``8001``); that is not a day
profile and is reported (``invalid_value``) rather than shown as a one-block profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from ..reading import Reading
from ..tic.decode import decode_frame, decode_group
from ..tic.framing import MAX_LABEL_CHARS
from ..tic.horodate import HORODATE_LENGTH, parse_horodate
from ..tic.labels import LabelKind, spec_for
from ..tic.model import TicFrame, TicGroup, TicMode
from .problems import Problem, ProblemKind, join_path

HORODATE_SUBTOPIC: Final = "h"
"""``<base>/<LABEL>/h`` carries the horodate of ``<base>/<LABEL>``."""

MAX_VALUE_CHARS: Final = 256
"""Longer per-topic payloads are refused (the longest TIC data, PJOURF+1, is 98 characters)."""

_LABEL: Final = re.compile(rf"[A-Z0-9+\-]{{1,{MAX_LABEL_CHARS}}}")
_UNSIGNED: Final = re.compile(r"[0-9]+")
_NEGATIVE: Final = re.compile(r"-[0-9]+")
_NOT_APPLICABLE: Final = re.compile(r" [0-9]{12}")
"""A horodate whose season is a space: valid, "not applicable" (DPMx/FPMx)."""

_NUMERIC: Final = frozenset(
    {
        LabelKind.ENERGY,
        LabelKind.REACTIVE_ENERGY,
        LabelKind.APPARENT_POWER,
        LabelKind.ACTIVE_POWER,
        LabelKind.CURRENT,
        LabelKind.VOLTAGE,
        LabelKind.POWER_KVA,
        LabelKind.DURATION_MIN,
        LabelKind.INTEGER,
        LabelKind.TARIFF_INDEX,
    }
)
_ENERGY: Final = frozenset({LabelKind.ENERGY, LabelKind.REACTIVE_ENERGY})
_UNKNOWN_TOMORROW: Final = "----"
"""DEMAIN before the colour of tomorrow is known: decodes to None, and that is valid."""


@dataclass(frozen=True, slots=True)
class TopicValue:
    """The decoded value of one per-topic message."""

    label: str
    value: object
    """The typed value a serial Linky gives for `label` (int, str, `Stge`, datetime...); for a
    horodate topic, the horodate as a datetime (None when the meter says "not applicable")."""
    horodate: bool = False
    """The message was ``<base>/<LABEL>/h``: `value` is the horodate of `label`."""


@dataclass(frozen=True, slots=True)
class _Decoded:
    value: TopicValue
    data: str
    """What the group's data (or, for a horodate topic or DATE, its horodate) was on the wire."""


def _sub_topic(base_topic: str, topic: str) -> str | None:
    base = base_topic.rstrip("/")
    if not base or not topic.startswith(base + "/"):
        return None
    return topic[len(base) + 1 :]


def _problem(kind: ProblemKind, label: str, detail: str) -> Problem:
    return Problem(kind, join_path(label), detail)


def _payload_text(payload: bytes | bytearray | str, label: str) -> str | Problem:
    if len(payload) > MAX_VALUE_CHARS:
        return _problem(ProblemKind.INVALID_VALUE, label, "payload too long for a TIC value")
    text = payload if isinstance(payload, str) else bytes(payload).decode("latin-1")
    if not text.isascii():
        return _problem(ProblemKind.INVALID_VALUE, label, "payload is not 7-bit ASCII text")
    text = text.rstrip("\r\n")
    if not text:
        return _problem(ProblemKind.INVALID_VALUE, label, "empty payload")
    return text


def _decode_horodate(label: str, text: str) -> _Decoded | Problem:
    raw = text.rstrip()
    parsed = parse_horodate(raw)
    if parsed is not None:
        return _Decoded(TopicValue(label, parsed.value, horodate=True), raw)
    if len(raw) == HORODATE_LENGTH and _NOT_APPLICABLE.fullmatch(raw):
        return _Decoded(TopicValue(label, None, horodate=True), raw)
    return _problem(ProblemKind.INVALID_VALUE, label, "not a TIC horodate")


def _decode_value(label: str, text: str) -> _Decoded | Problem:
    kind = spec_for(label).kind
    if kind is LabelKind.DATE:
        stamp = decode_group(label, "", text.strip())
        if stamp is None:
            return _problem(ProblemKind.INVALID_VALUE, label, "not a TIC horodate")
        return _Decoded(TopicValue(label, stamp), text.strip())
    if kind in _NUMERIC:
        digits = text.strip()
        if _NEGATIVE.fullmatch(digits):
            if kind in _ENERGY:
                return _problem(ProblemKind.NEGATIVE_TOTAL, label, "negative energy index")
            return _problem(ProblemKind.INVALID_VALUE, label, "negative value")
        if not _UNSIGNED.fullmatch(digits):
            return _problem(ProblemKind.WRONG_TYPE, label, "not an unsigned integer")
        text = digits
    value = decode_group(label, text)
    if value is None and not (
        kind is LabelKind.TEMPO_TOMORROW and text.strip() == _UNKNOWN_TOMORROW
    ):
        return _problem(ProblemKind.INVALID_VALUE, label, f"malformed {kind} value")
    return _Decoded(TopicValue(label, value), text)


def _decode(base_topic: str, topic: str, payload: bytes | bytearray | str) -> _Decoded | Problem:
    rest = _sub_topic(base_topic, topic)
    if rest is None:
        return Problem(ProblemKind.UNKNOWN_TOPIC, "", "topic not under the base topic")
    label, _, suffix = rest.partition("/")
    if _LABEL.fullmatch(label) is None or (suffix and suffix != HORODATE_SUBTOPIC):
        return Problem(ProblemKind.UNKNOWN_TOPIC, join_path(rest), "not a TIC label topic")
    text = _payload_text(payload, label)
    if isinstance(text, Problem):
        return text
    if suffix:
        return _decode_horodate(label, text)
    return _decode_value(label, text)


def decode_topic_value(
    base_topic: str, topic: str, payload: bytes | bytearray | str
) -> TopicValue | Problem:
    """Decode one message of a one-value-per-topic meter. Never raises.

    `topic` must be ``<base_topic>/<LABEL>`` (the value) or ``<base_topic>/<LABEL>/h`` (its
    horodate), LABEL a TIC label (``A-Z 0-9 + -``, at most 9 characters; labels outside the
    catalogue decode to text, as on a serial line). The problem's field is the label.
    """
    decoded = _decode(base_topic, topic, payload)
    return decoded if isinstance(decoded, Problem) else decoded.value


class TopicAccumulator:
    """The latest value of every label of one meter, assembled into a `Reading` on demand."""

    __slots__ = ("_base", "_data", "_horodates", "_meter_id")

    def __init__(self, base_topic: str, *, meter_id: str = "") -> None:
        """`meter_id`: the id of the Readings; empty to use the meter's own ADSC/ADCO."""
        self._base = base_topic
        self._meter_id = meter_id
        self._data: dict[str, str] = {}
        self._horodates: dict[str, str] = {}

    @property
    def base_topic(self) -> str:
        return self._base

    @property
    def labels(self) -> frozenset[str]:
        """The labels with a value so far."""
        return frozenset(self._data)

    def feed(self, topic: str, payload: bytes | bytearray | str) -> TopicValue | Problem:
        """Decode one message and keep its value. A problem keeps the label's previous value."""
        decoded = _decode(self._base, topic, payload)
        if isinstance(decoded, Problem):
            return decoded
        label = decoded.value.label
        if decoded.value.horodate:
            self._horodates[label] = decoded.data
        elif spec_for(label).kind is LabelKind.DATE:
            self._data[label] = ""
            self._horodates[label] = decoded.data
        else:
            self._data[label] = decoded.data
        return decoded.value

    def clear(self) -> None:
        """Forget every value (the meter was reset or its bridge restarted)."""
        self._data.clear()
        self._horodates.clear()

    def reading(self, received_at: datetime) -> Reading | None:
        """A `Reading` of the latest values, as `decode_frame` makes one; None before any value.

        Never raises.
        """
        if not self._data:
            return None
        groups = tuple(
            TicGroup(label, data, self._horodates.get(label)) for label, data in self._data.items()
        )
        reading = decode_frame(TicFrame(TicMode.STANDARD, groups), received_at)
        if self._meter_id:
            return replace(reading, meter_id=self._meter_id)
        return reading
