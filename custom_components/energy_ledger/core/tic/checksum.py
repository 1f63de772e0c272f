"""TIC group checksums, as the framing layer validates them.

The formula itself lives in one place, `encode.checksum` (``(sum & 0x3F) + 0x20``); this module
only says *which bytes* it covers in each dialect:

- standard: from the first label character up to and including the HT before the checksum
  (the horodate and every HT included);
- historic "mode 1": ``LABEL SP DATA``, the SP before the checksum excluded (every real capture);
- historic "mode 2": the same plus that SP. Both historic variants are accepted.

The checksum character is always in 0x20-0x5F, so it can be a space: never strip a group.
"""

from __future__ import annotations

from .encode import checksum

__all__ = ["checksum", "checksum_standard", "historic_checksum_ok", "standard_checksum_ok"]


def checksum_standard(payload: bytes) -> int:
    """The checksum of a standard group whose `payload` runs from the label to the last HT."""
    return checksum(payload)


def standard_checksum_ok(group: bytes) -> bool:
    """Whether a standard group (between LF and CR, checksum last) carries the right checksum."""
    return len(group) >= 2 and checksum(group[:-1]) == group[-1]


def historic_checksum_ok(body: bytes, check: int) -> bool:
    """Whether `check` is the mode 1 or mode 2 checksum of a historic ``LABEL SP DATA`` `body`.

    Mode 2 adds the SP (0x20) before the checksum to the sum; as ``mode1 = (S & 0x3F) + 0x20``,
    ``mode2 = ((S + 0x20) & 0x3F) + 0x20 = (mode1 & 0x3F) + 0x20``: derived, not recomputed.
    """
    mode1 = checksum(body)
    return check == mode1 or check == (mode1 & 0x3F) + 0x20
