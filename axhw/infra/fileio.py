"""Atomic output: write to a temporary file beside the target, then rename; never a half-written file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .errors import AxhwError

__all__ = ["ensure_dir", "atomic_path", "write_text", "write_bytes", "write_json", "sha256_text",
           "sha256_file", "cache_root", "format_from_suffix"]


def ensure_dir(path: Path) -> Path:
    """Create a directory (and parents) or fail with a one-line error."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AxhwError(f"cannot create directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise AxhwError(f"directory {path} is not writable")
    return path


def _umask() -> int:
    """The process umask, read without setting it where Linux allows (os.umask is the only other
    way to read it, and it briefly changes it for every thread)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str = ""):
    """Yield a temporary path in target's directory; rename it onto target only if the block succeeds.

    The result gets the permissions an ordinary open() would give (0666 less the umask), not
    mkstemp's 0600. An unwritable location is a one-line AxhwError."""
    target = Path(target)
    ensure_dir(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp",
                                   dir=target.parent)
    except OSError as exc:
        raise AxhwError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    except OSError as exc:
        if exc.filename not in (str(tmp_path), tmp_path, str(target), target):
            raise
        raise AxhwError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_bytes(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_json(target: Path, obj) -> Path:
    return write_text(target, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cache_root() -> Path:
    """Where derived artefacts (simulator builds, LUTs, synthesis results) are cached.

    `AXHW_CACHE_DIR` overrides; default `~/.cache/axhw`.
    """
    root = os.environ.get("AXHW_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "axhw"
    )
    return ensure_dir(Path(root))


def format_from_suffix(path, fmt: str | None, formats, suffix_format: dict[str, str],
                       what: str) -> str:
    """An output's format: `fmt` if given, else the one the suffix of `path` names. A known
    suffix that contradicts `fmt` is an error (CSV must not land in a .npy name); no `path`
    (stdout) needs `fmt`."""
    suffix = Path(path).suffix.lower() if path else ""
    implied = suffix_format.get(suffix)
    if fmt is None:
        if implied is None:
            source = f"from {path}" if path else "for stdout"
            raise AxhwError(f"cannot tell the {what} format {source}: give --format "
                            f"({', '.join(formats)})")
        return implied
    if fmt not in formats:
        raise AxhwError(f"unknown format {fmt!r} for {what}: choose one of {', '.join(formats)}")
    if implied is not None and implied != fmt:
        raise AxhwError(f"--format {fmt} contradicts -o {path}: a {suffix} file is {implied}, "
                        f"not {fmt}")
    return fmt
