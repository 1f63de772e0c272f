"""Build TIC groups and frames with exact checksums.

Used by the simulator in `tools/` and by the property tests: the inverse of the parser.
"""

from __future__ import annotations

from collections.abc import Iterable

STX = b"\x02"
ETX = b"\x03"


def checksum(payload: bytes) -> int:
    """The TIC checksum character for the bytes it covers: (sum & 0x3F) + 0x20."""
    return (sum(payload) & 0x3F) + 0x20


def encode_standard_group(label: str, data: str, horodate: str | None = None) -> bytes:
    """One standard-mode group, LF ... CR, HT-separated; checksum up to and with the last HT."""
    body = label + "\t" + (horodate + "\t" if horodate is not None else "") + data + "\t"
    raw = body.encode("ascii")
    return b"\n" + raw + bytes((checksum(raw),)) + b"\r"


def encode_historic_group(label: str, data: str) -> bytes:
    """One historic-mode group, SP-separated, checksum "mode 1" (the SP before it excluded)."""
    raw = (label + " " + data).encode("ascii")
    return b"\n" + raw + b" " + bytes((checksum(raw),)) + b"\r"


def encode_frame(groups: Iterable[bytes]) -> bytes:
    """Wrap encoded groups in STX ... ETX."""
    return STX + b"".join(groups) + ETX
