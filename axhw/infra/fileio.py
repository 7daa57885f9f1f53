"""Atomic output: write to a temporary file beside the target, then rename; never a half-written file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

from .errors import AxhwError
from .names import check_plain_path

__all__ = ["ensure_dir", "atomic_path", "write_text", "write_bytes", "write_json", "sha256_text",
           "sha256_file", "cache_root", "format_from_suffix", "MAX_INPUT_BYTES",
           "check_can_create_in", "check_writable_target", "read_input", "read_input_text",
           "read_json", "umask"]


def ensure_dir(path: Path) -> Path:
    """Create a directory (and parents) or fail with a one-line error."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise AxhwError(f"cannot create directory {path}: it exists and is not a folder") from None
    except OSError as exc:
        raise AxhwError(f"cannot create directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise AxhwError(f"directory {path} is not writable")
    return path


def check_can_create_in(folder: Path) -> Path:
    """Create (and remove) a scratch folder in `folder`: the check that an output can be made
    there, before long work (os.access says yes for root in /proc, where nothing can be made)."""
    folder = ensure_dir(Path(folder))
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".axhw-probe-", dir=folder))
    except OSError as exc:
        raise AxhwError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    return folder


def umask() -> int:
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


def check_writable_target(target: Path) -> None:
    """Refuse an output path that exists and is not a regular file (see :func:`atomic_path`)."""
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):  # a new file (ensure_dir judges the folder)
        return
    except OSError as exc:
        raise AxhwError(f"cannot write {target}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise AxhwError(f"cannot write {target}: it exists and is {kind} (axhw writes new or "
                        "regular files only, and never replaces a device, FIFO or socket)")


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str = ""):
    """Yield a temporary path in target's directory; rename it onto target only if the block succeeds.

    The result gets the permissions an ordinary open() would give (0666 less the umask), not
    mkstemp's 0600. An unwritable location, or a target that exists and is not a regular file
    (a device such as /dev/null, a FIFO, a socket, a folder: renaming over it would replace it),
    is a one-line AxhwError."""
    target = Path(target)
    check_writable_target(target)
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
        os.chmod(tmp_path, 0o666 & ~umask())
        os.replace(tmp_path, target)
    except OSError as exc:
        if exc.filename not in (str(tmp_path), tmp_path, str(target), target):
            raise
        raise AxhwError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


# The most axhw reads of one user file: a device (/dev/zero) or a runaway file must be refused, not
# read until memory runs out. The largest real inputs (flat netlists of 32x32 designs, activity
# streams of millions of pairs) are tens of MB.
MAX_INPUT_BYTES = 256 * 2**20


def read_input(path, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a user's file (`what` names it in errors), never more than `limit`: anything
    larger, a directory or an unreadable path is a one-line AxhwError."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise AxhwError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise AxhwError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise AxhwError(f"{what} {path} is larger than {limit // 2**20} MiB: not an input axhw reads")
    return data


def read_input_text(path, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """read_input as text (undecodable bytes replaced: tools see the same file)."""
    return read_input(path, what, limit).decode("utf-8", errors="replace")


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


def read_json(path, what: str) -> dict:
    """A JSON object file named by the user (`what` names it in the one-line error)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AxhwError(f"{what} {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise AxhwError(f"{what} {path}: expected a JSON object")
    return data


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cache_root() -> Path:
    """Where derived artefacts (simulator builds, LUTs, synthesis results) are cached.

    `AXHW_CACHE_DIR` overrides; default `~/.cache/axhw`. Tools run in folders under it, and
    Yosys, ABC's shell and make read their paths: it must be a plain path
    (:func:`axhw.infra.names.check_plain_path`).
    """
    root = os.environ.get("AXHW_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "axhw"
    )
    check_plain_path(os.path.abspath(root), "the cache folder (AXHW_CACHE_DIR)")
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
