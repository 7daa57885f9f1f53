"""Output directories axhw owns: one run at a time, and only its own files replaced.

- :func:`claim` locks OUTDIR (an advisory ``flock`` on the directory itself: no lock file is
  left, and the kernel drops it when the process dies, even by kill -9). A second run into the
  same OUTDIR refuses in one line instead of interleaving its tables with the first one's.
- :func:`replace_dir` swaps a finished temporary directory into place. It writes a manifest of
  the files it put there (name and SHA-256); an existing OUTDIR is replaced only when it holds
  exactly the files of such a manifest, unchanged, so nothing axhw did not write is deleted.
- Temporary siblings that a killed run left (``.NAME.tmp-*``, ``.NAME.old-*``) are removed by
  the next run that holds the lock (only the lock holder makes them).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import AxhwError
from .fileio import ensure_dir, umask, write_json

__all__ = ["MANIFEST", "check_replaceable", "claim", "new_tmp_dir", "replace_dir"]

MANIFEST = "manifest.json"
_SCRATCH = re.compile(r"\.(?P<name>.+)\.(?:tmp|old)-[A-Za-z0-9_]{8}")


@contextlib.contextmanager
def claim(outdir: Path, remove_if_unused: bool = False) -> Iterator[Path]:
    """Create (if needed) and lock `outdir` for the block; its stale scratch siblings are removed.
    With `remove_if_unused`, a directory this call created is removed again if the block fails
    and left it empty (bad input writes nothing)."""
    outdir = Path(outdir).resolve()
    if outdir.exists() and not outdir.is_dir():
        raise AxhwError(f"-o {outdir}: exists and is not a directory")
    created = not outdir.exists()
    ensure_dir(outdir)
    fd = os.open(outdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AxhwError(f"-o {outdir}: another axhw run is writing this directory; wait for "
                            "it to finish or choose another directory") from None
        except OSError:  # a file system without flock on directories (some NFS): unlocked,
            pass  # and scratch beside OUTDIR may be another run's
        else:
            _remove_scratch(outdir)
        try:
            yield outdir
        except BaseException:
            if remove_if_unused and created:
                with contextlib.suppress(OSError):
                    outdir.rmdir()  # only if still empty
            raise
    finally:
        os.close(fd)


def _remove_scratch(outdir: Path) -> None:
    for path in outdir.parent.glob(f".{glob.escape(outdir.name)}.*-*"):
        m = _SCRATCH.fullmatch(path.name)
        if m and m["name"] == outdir.name and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def new_tmp_dir(outdir: Path) -> Path:
    """A temporary directory beside `outdir` (same file system, so it can be renamed onto it)."""
    return Path(tempfile.mkdtemp(prefix=f".{outdir.name}.tmp-", dir=outdir.parent))


def _files(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under `root`, the manifest excepted."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir() and not path.is_symlink() or rel == MANIFEST:
            continue
        out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest()
                    if path.is_file() and not path.is_symlink() else "not a regular file")
    return out


def check_replaceable(outdir: Path, what: str) -> None:
    """Refuse (one line) an existing, non-empty `outdir` that holds anything but the unchanged
    files its own manifest lists."""
    if not outdir.is_dir() or not any(outdir.iterdir()):
        return
    hint = "choose a new or empty directory"
    try:
        listed = json.loads((outdir / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise AxhwError(f"-o {outdir}: a non-empty directory that is not an earlier {what}'s "
                        f"output; {hint}") from None
    found = _files(outdir)
    foreign = sorted(set(found) - set(listed))
    changed = sorted(k for k in set(found) & set(listed) if found[k] != listed[k])
    if foreign or changed:
        names = ", ".join((foreign + changed)[:3]) + (", ..." if len(foreign + changed) > 3 else "")
        reason = "not an earlier " + what + "'s output" if foreign else "changed since axhw wrote it"
        raise AxhwError(f"-o {outdir}: {names}: {reason}; axhw replaces only its own files: "
                        f"move them away or {hint}")


def replace_dir(tmp: Path, outdir: Path, what: str) -> None:
    """Write `tmp`'s manifest, give it the permissions of an ordinary mkdir, and swap it onto
    `outdir` (checked with :func:`check_replaceable`; the caller holds :func:`claim`)."""
    check_replaceable(outdir, what)
    write_json(tmp / MANIFEST, {"written_by": f"axhw {what}", "files": _files(tmp)})
    os.chmod(tmp, 0o777 & ~umask())
    old = None
    if outdir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old-", dir=outdir.parent))
        os.replace(outdir, old)  # rename(2) may replace an empty directory
    os.replace(tmp, outdir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
