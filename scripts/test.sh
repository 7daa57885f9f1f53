#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
# The cell libraries the tests use ship inside the package (axhw/ppa/pdks; osu018 from apt).
# tests/test_installed_wheel.py builds the wheel, installs it into a fresh venv and runs the
# pipeline from outside the checkout.
exec "$ROOT/.venv/bin/python" -m pytest -n 2 --dist loadgroup "$@"
