#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
# The PDK libraries live beside the checkout in CI (../shared/pdk); tests skip what is absent.
if [ -z "${AXHW_PDK_ROOT:-}" ] && [ -d "$ROOT/../shared/pdk" ]; then export AXHW_PDK_ROOT="$ROOT/../shared/pdk"; fi
exec "$ROOT/.venv/bin/python" -m pytest -n 2 --dist loadgroup "$@"
