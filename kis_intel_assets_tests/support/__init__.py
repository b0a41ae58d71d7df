"""What several test modules share and that is neither a test nor a fixture: databases, ports and processes,
simulator settings, `dagster dev`, the webhook receiver. conftest.py files hold only the fixtures, as thin
wrappers over these; each helper is defined here once."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
