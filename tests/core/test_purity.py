"""core/ runs without Home Assistant: import and use it in a Python that cannot see it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from importlib.abc import MetaPathFinder

class NoHomeAssistant(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "homeassistant" or name.startswith("homeassistant."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoHomeAssistant())
from datetime import datetime, timezone
from custom_components.energy_ledger.core.tic import TicStreamParser, decode_frame
from custom_components.energy_ledger.core.tic.encode import encode_frame, encode_standard_group

parser = TicStreamParser()
(frame,) = parser.feed(encode_frame([encode_standard_group("EAST", "000001234")]))
reading = decode_frame(frame, datetime.now(timezone.utc))
assert reading.import_energy_wh == 1234, reading
assert not any(m.startswith("homeassistant") for m in sys.modules)
print("ok")
"""


def test_core_runs_without_home_assistant() -> None:
    """The package imports, parses and decodes with Home Assistant unimportable."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
