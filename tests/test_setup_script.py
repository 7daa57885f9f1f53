"""scripts/setup.sh: README's apt list is the script's, and apt's and pip's output go to a log
that is shown only when a step fails (one progress line per step otherwise)."""

from __future__ import annotations

import re
import subprocess

from conftest import ROOT

SETUP = (ROOT / "scripts" / "setup.sh").read_text()


def test_readme_lists_the_apt_packages_setup_installs():
    apt = re.search(r"^APT_PKGS=\(([^)]*)\)", SETUP, re.M).group(1).split()
    readme = (ROOT / "README.md").read_text()
    start = readme.index("Both first run `scripts/setup.sh`")
    listed = readme[readme.index("apt packages", start):readme.index("if missing", start)]
    assert sorted(re.findall(r"`([a-z0-9+.-]+)`", listed)) == sorted(apt)


def test_apt_and_pip_run_through_the_quiet_step():
    lines = SETUP.splitlines()
    noisy = [i for i, ln in enumerate(lines)
             if re.search(r"apt-get (update|install) -|-m pip install", ln)]
    assert len(noisy) == 3
    assert all(lines[i].lstrip().startswith("quietly") or
               lines[i - 1].lstrip().startswith("quietly") for i in noisy)


def run_step(tmp_path, command: str):
    quietly = re.search(r"^quietly\(\) \{.*?^\}", SETUP, re.M | re.S).group(0)
    script = f"set -euo pipefail\n{quietly}\nquietly step {tmp_path / 'log'} {command}\necho after"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)


def test_a_step_prints_one_line_and_keeps_its_output_in_the_log(tmp_path):
    ok = run_step(tmp_path, "seq 700")
    assert ok.returncode == 0 and ok.stdout == "after\n"
    assert re.fullmatch(r"\[setup\] step done in \d+ s\n", ok.stderr)
    assert (tmp_path / "log").read_text().splitlines() == [str(i) for i in range(1, 701)]


def test_a_failing_step_shows_its_log_and_stops(tmp_path):
    bad = run_step(tmp_path, "bash -c 'echo E: Unable to locate package x; exit 100'")
    assert bad.returncode == 1 and "after" not in bad.stdout
    assert "E: Unable to locate package x" in bad.stderr
    assert f"[setup] step failed (full log: {tmp_path / 'log'})" in bad.stderr
