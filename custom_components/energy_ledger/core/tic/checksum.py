"""TIC group checksums, as the framing layer validates them.

The formula itself lives in one place, `encode.checksum` (``(sum & 0x3F) + 0x20``); this module
only says *which bytes* it covers in each dialect:

- standard: from the first label character up to and including the HT before the checksum
  (the horodate and every HT included);
- historic "mode 1": ``LABEL SP DATA``, the SP before the checksum excluded (every real capture);
- historic "mode 2": the same plus that SP.

The checksum character is always in 0x20-0x5F, so it can be a space: never strip a group.
"""

from __future__ import annotations

from .encode import checksum

__all__ = ["checksum", "checksum_standard", "historic_checksum_mode"]


def checksum_standard(payload: bytes) -> int:
    """The checksum of a standard group whose `payload` runs from the label to the last HT."""
    return checksum(payload)


def historic_checksum_mode(group: bytes) -> int | None:
    """Which historic checksum variant (1 or 2) validates `group`, or None if neither does.

    `group` is ``LABEL SP DATA SP CHECKSUM`` (the bytes between LF and CR). At most one variant
    can validate a group: as ``mode1 = (S & 0x3F) + 0x20`` over ``LABEL SP DATA``, the SP makes
    ``mode2 = ((S + 0x20) & 0x3F) + 0x20 = (mode1 & 0x3F) + 0x20``, which always differs.
    """
    if len(group) < 2:
        return None
    check = group[-1]
    # checksum(group[:-2]) without the slice: every new historic group goes through here.
    mode1 = ((sum(group) - check - group[-2]) & 0x3F) + 0x20
    if check == mode1:
        return 1
    if check == (mode1 & 0x3F) + 0x20:
        return 2
    return None
