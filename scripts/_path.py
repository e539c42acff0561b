"""Make the project importable when a script is run as `python scripts/NAME.py`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
