import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The suite uses the libraries bundled with axhw (and osu018 from apt), never a local root:
# nothing may pass or skip because of what happens to lie beside the checkout.
os.environ.pop("AXHW_PDK_ROOT", None)
AXHW = str(Path(sys.executable).parent / "axhw")


def run_cli(*args, cwd=None, env=None):
    """Run the installed `axhw` console script; returns CompletedProcess (text)."""
    return subprocess.run([AXHW, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=900)


def assert_one_line_error(proc):
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("axhw: "), lines[0]


@pytest.fixture
def cli():
    return run_cli


def have_icarus() -> bool:
    return shutil.which("iverilog") is not None


requires_icarus = pytest.mark.skipif(not have_icarus(), reason="iverilog not installed")


@pytest.fixture(scope="module")
def one_torch_thread():
    """The suite runs 2 workers on 2 cores: torch's own threads would only contend."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
