"""The ``vgpred`` command line.

Every command module keeps torch and other heavy imports inside its functions, so
``vgpred --help`` and option errors are instant. Errors a user causes print one line
(``vgpred: error: <file or option>: <problem>``) and exit non-zero; ``--debug``
(or ``VGPRED_DEBUG=1``) shows the traceback instead.
"""
from __future__ import annotations

import os
import sys

import typer

from vgpred import __version__
from vgpred.cli.convert_cmd import app as convert_app
from vgpred.cli.data_cmd import app as data_app
from vgpred.cli.demo_cmd import demo
from vgpred.cli.evaluate_cmd import evaluate

from vgpred.cli.predict_cmd import models, predict, sample
from vgpred.cli.train_cmd import train
from vgpred.errors import VgpredError

app = typer.Typer(
    name="vgpred",
    help="Video prediction with a two-stream VideoGAN: animate a photo, sample videos, train, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command(help=predict.__doc__)(predict)
app.command(help=sample.__doc__)(sample)
app.command(
    help=train.__doc__,
    context_settings={"allow_extra_args": False, "ignore_unknown_options": False},
)(train)
app.command(help=evaluate.__doc__)(evaluate)

app.command(help=models.__doc__)(models)
app.command(help=demo.__doc__)(demo)
app.add_typer(data_app, name="data", help="Prepare training data: clip caches from videos, Moving MNIST.")
app.add_typer(convert_app, name="convert", help="Convert other toolkits' model files: the VideoGAN authors' Torch7 "
                                                "models (torch7).")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vgpred {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """vgpred: a still photo in, short videos of plausible futures out."""


def _fail(message: str, code: int) -> "NoReturn":  # noqa: F821
    print(f"vgpred: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(code)


# Usage errors derive from the ClickException of whichever click typer runs on (a
# dependency in older typer releases, a private copy in newer ones), reached through
# typer's public BadParameter, so vgpred imports only typer.
_USAGE_ERRORS = tuple(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_ABORTS = (typer.Abort, KeyboardInterrupt)
_INTERRUPTED = 130  # newer typer turns Ctrl-C inside a command into this exit code


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app with one-line errors."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("VGPRED_DEBUG", "") not in ("", "0")
    try:
        code = app(args=args, prog_name="vgpred", standalone_mode=False)
    except VgpredError as err:
        if debug:
            raise
        _fail(str(err), err.exit_code)
    except _ABORTS as err:
        if isinstance(err.__cause__, EOFError):  # typer turns an EOFError (a file that ends early) into Abort
            if debug:
                raise
            _fail(f"a file ended before its data did (EOFError: {err.__cause__}; run with --debug for the "
                  "traceback)", 1)
        _fail("interrupted", _INTERRUPTED)
    except _USAGE_ERRORS as err:
        if debug:
            raise
        _fail(err.format_message(), err.exit_code)
    except Exception as err:  # a bug or an environment problem: still one line
        if debug:
            raise
        _fail(f"{type(err).__name__}: {err} (run with --debug for the traceback)", 1)
    if code == _INTERRUPTED:
        _fail("interrupted", _INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
