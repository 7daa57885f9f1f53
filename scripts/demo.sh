#!/usr/bin/env bash
# Set up (idempotent) and run the main job on its embedded default:
# generate an 8-bit perforated multiplier, verify it exhaustively on Icarus and Verilator, summarize.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/axhw" demo "$@"
