"""The `axhw` command line. Subcommands live in their own modules and load lazily."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from . import __version__
from .infra import progress
from .infra.errors import AxhwError

__all__ = ["COMMANDS", "LazyGroup", "MAX_ERROR_CHARS", "MAX_ERROR_WORD", "cli", "error_line",
           "main"]

# command name -> "module:attribute" (a click.Command). Loaded on first use.
COMMANDS: dict[str, str] = {
    "gen": "axhw.commands.gen:gen",
    "verify": "axhw.commands.verify:verify",
    "demo": "axhw.commands.demo:demo",
    "families": "axhw.commands.gen:families",
    "lut": "axhw.commands.lut:lut",
    "metrics": "axhw.commands.metrics:metrics",
    "characterize": "axhw.commands.characterize:characterize",
    "pdks": "axhw.commands.pdks:pdks",
    "sweep": "axhw.commands.sweep:sweep",
    "report": "axhw.commands.report:report",
    "export": "axhw.commands.export:export",
    "dse": "axhw.commands.dse:dse",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                raise click.UsageError(f"command {name!r} is not available in this build") from None
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="axhw")
@click.option("-v", "--verbose", is_flag=True, help="Show tool logs and tracebacks.")
@click.pass_context
def cli(ctx, verbose):
    """axhw: approximate multipliers, from idea to verified RTL, PPA and DNN emulation."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    progress.enable(verbose or sys.stderr.isatty())


# An error line may echo user input (a -p value, a path): bound it. A long word (a pasted
# value) is elided in its middle, then the whole line; a trailing "(log: PATH)" stays whole.
MAX_ERROR_WORD = 120
MAX_ERROR_CHARS = 300


def _elide(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def error_line(text: str) -> str:
    """One line: words of at most MAX_ERROR_WORD characters, MAX_ERROR_CHARS in all (plus the
    trailing log path, kept whole: the user needs its name)."""
    text = " ".join(_elide(word, MAX_ERROR_WORD) if not word.startswith("/") else word
                    for word in str(text).split())
    body, sep, log = text.rpartition(" (log: ")
    if not (sep and log.endswith(")") and " " not in log):
        body, sep, log = text, "", ""
    return _elide(body, MAX_ERROR_CHARS) + sep + log


def main(argv=None) -> int:
    """Entry point: AxhwError -> one line on stderr and its exit code; never a traceback
    unless --verbose."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    from .infra.runner import Interrupted  # noqa: PLC0415

    try:
        cli.main(args=argv, prog_name="axhw", standalone_mode=False)
    except Interrupted as exc:  # not an error: one line, and the signal's exit status
        click.echo(f"axhw: {exc}", err=True)
        return exc.exit_code
    except AxhwError as exc:
        click.echo(error_line(f"axhw: error: {exc}"), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("axhw: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(error_line(f"axhw: error: {exc.format_message()}"), err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("axhw: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, not a traceback
        if verbose:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(error_line(f"axhw: internal error: {type(exc).__name__}: {msg} "
                              "(rerun with -v for details)"), err=True)
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
