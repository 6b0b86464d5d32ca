"""wt-eval tests: the shared helpers of tests/conftest.py and tests/eval/evalcases.py made importable."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
