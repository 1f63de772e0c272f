"""Linky TIC: framing, label catalogue and decoding into `Reading`s (no Home Assistant imports)."""

from __future__ import annotations

from .decode import decode_frame
from .horodate import Horodate, parse_horodate
from .labels import LABELS, LabelKind, LabelSpec, RegisterSet, spec_for
from .model import TicFrame, TicGroup, TicMode
from .stge import MeterAddress, Stge, TempoColour, decode_address, decode_stge

__all__ = [
    "LABELS",
    "Horodate",
    "LabelKind",
    "LabelSpec",
    "MeterAddress",
    "RegisterSet",
    "Stge",
    "TempoColour",
    "TicFrame",
    "TicGroup",
    "TicMode",
    "TicStreamParser",
    "decode_address",
    "decode_frame",
    "decode_stge",
    "parse_horodate",
    "spec_for",
]

from .framing import TicStreamParser
