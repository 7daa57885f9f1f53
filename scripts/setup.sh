#!/usr/bin/env bash
# Idempotent set-up on Debian 12: apt tools, a venv in .venv, axhw installed editable.
# Fast when everything is already there (stamp files). Source-safe: only sets AXHW_VENV.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AXHW_VENV:-$ROOT/.venv}"
APT_PKGS=(iverilog opensta qflow-tech-osu018 make g++ python3-venv chromium)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] apt-get install ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating venv $VENV" >&2
  python3 -m venv "$VENV"
fi
EXTRAS="${AXHW_EXTRAS:-test,torch,cuda}"
STAMP="$VENV/.axhw-installed-$EXTRAS"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "[setup] pip install -e .[$EXTRAS]" >&2
  # pip's log goes to a file (it can be long); shown only when the install fails.
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[$EXTRAS]" \
      > "$VENV/pip-install.log" 2>&1; then
    tail -n 40 "$VENV/pip-install.log" >&2
    echo "[setup] pip install failed (full log: $VENV/pip-install.log)" >&2
    exit 1
  fi
  touch "$STAMP"
fi
