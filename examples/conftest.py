"""Makes `import notifier` work in examples/tests without installing it (a real project would
install its package, or set `pythonpath = ["src"]` in its pytest configuration)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
