#!/usr/bin/env bash
# Set up (idempotent) and run the main job on its embedded defaults (axhw demo [-o DIR], default
# ./axhw-demo): generate, verify, characterize, export LUTs and C, sweep + Pareto report, ilp DSE.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/axhw" demo "$@"
