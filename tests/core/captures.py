"""Real Linky TIC captures for the tests, as the serial line would deliver them.

The captures live outside the repository, in ``../shared/tic-captures`` next to the repo root
(resolved from this file's location). ``.bin`` files are raw bytes and are returned untouched.
``.txt`` files hold one group per line and a blank line between frames; `load_capture` rebuilds
the bytes: every line becomes ``LF + line + CR`` and every block of lines between blank lines
becomes ``STX + groups + ETX``, *including the first and the last block* even when they are
partial frames (a capture usually starts and ends mid-frame). Closing them is what makes every
group of the file reach the parser, so the counts of the README table (e.g. 17/17 for the
three-phase historic capture, 67/68 for the producer one) can be measured; a line is copied
byte for byte, so a line that holds control bytes (the NEGATIVE capture has CR, EOT and STX
inside a line) replays them.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CAPTURES = REPO_ROOT.parent / "shared" / "tic-captures"

STX = b"\x02"
ETX = b"\x03"


def wrap_text_capture(text: bytes) -> bytes:
    """Rebuild the serial bytes of a ``.txt`` capture (see the module docstring)."""
    frames: list[list[bytes]] = [[]]
    for line in text.split(b"\n"):
        if line:
            frames[-1].append(b"\n" + line + b"\r")
        elif frames[-1]:
            frames.append([])  # a blank line ends the frame
    return b"".join(STX + b"".join(groups) + ETX for groups in frames if groups)


def load_capture(name: str) -> bytes:
    """The bytes of capture `name`: raw for ``.bin``, rebuilt (`wrap_text_capture`) for ``.txt``."""
    raw = (CAPTURES / name).read_bytes()
    if name.endswith(".txt"):
        return wrap_text_capture(raw)
    return raw


def capture_names() -> list[str]:
    """Every capture file, sorted."""
    return sorted(path.name for path in CAPTURES.iterdir() if path.suffix in {".bin", ".txt"})
