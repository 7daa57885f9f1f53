#!/usr/bin/env bash
# Idempotent set-up on Debian 12: apt tools, a venv in .venv, axhw installed editable.
# Fast when everything is already there (stamp files). Source-safe: only sets AXHW_VENV.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AXHW_VENV:-$ROOT/.venv}"
# Keep in step with README's list. chromium: the report-screenshot test renders report.html.
APT_PKGS=(iverilog opensta qflow-tech-osu018 make g++ python3-venv chromium)

# Runs "$@" with its output appended to a log that is shown (tail) only when the step fails.
quietly() {
  local what="$1" log="$2"; shift 2
  local start=$SECONDS
  if ! "$@" >> "$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "[setup] $what failed (full log: $log)" >&2
    exit 1
  fi
  echo "[setup] $what done in $((SECONDS - start)) s" >&2
}

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  APT_LOG="${TMPDIR:-/tmp}/axhw-setup-apt.log"
  echo "[setup] apt-get install ${missing[*]} (1-2 min; log: $APT_LOG)" >&2
  : > "$APT_LOG"
  quietly "apt-get update" "$APT_LOG" $SUDO apt-get update -qq
  quietly "apt-get install" "$APT_LOG" \
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating venv $VENV" >&2
  python3 -m venv "$VENV"
fi
EXTRAS="${AXHW_EXTRAS:-test,torch,cuda}"
STAMP="$VENV/.axhw-installed-$EXTRAS"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "[setup] pip install -e .[$EXTRAS] (about 2 min the first time, seconds after;" \
       "log: $VENV/pip-install.log)" >&2
  : > "$VENV/pip-install.log"
  quietly "pip install" "$VENV/pip-install.log" \
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[$EXTRAS]"
  touch "$STAMP"
fi
