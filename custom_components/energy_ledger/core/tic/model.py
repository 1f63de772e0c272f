"""Plain data shared by the TIC framing layer and the decoder."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TicMode(StrEnum):
    """The two TIC dialects. Baud is independent of the mode in practice (see tic-protocol.md)."""

    HISTORIC = "historic"
    STANDARD = "standard"


@dataclass(frozen=True, slots=True)
class TicGroup:
    """One checksum-valid group, as text (7-bit ASCII), nothing stripped.

    `data` keeps its padding spaces (NGTF, LTARF, MSG1 are space-padded); `horodate` is the raw
    13-character horodate of standard-mode groups that carry one, else None.
    """

    label: str
    data: str
    horodate: str | None = None


@dataclass(frozen=True, slots=True)
class TicFrame:
    """A complete STX...ETX frame whose groups all passed their checksum.

    Groups that failed are not here (they are counted by the parser); a frame keeps the valid ones.
    """

    mode: TicMode
    groups: tuple[TicGroup, ...]
