"""wt-tune fixtures: the toy target (tests/tune/toytarget.py) stands in for a training tool."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
