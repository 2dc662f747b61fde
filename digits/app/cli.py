"""The command line: ``python -m digits COMMAND`` (or ``digits COMMAND``).

Each command lives in its own module with two functions: ``configure(parser)`` adds
its flags to an argparse sub-parser and ``run(args)`` does the work and returns the
exit status.  This module only wires them together and turns the errors a user can
fix (:class:`~digits.system.errors.DigitsError`) into one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from digits.system.errors import DigitsError, UsageError

# name -> (module, one-line help).  Modules are imported when the parser is built;
# they keep heavy imports (matplotlib) inside ``run`` so that start-up stays quick.
COMMANDS = {
    "download": ("digits.app.commands.download", "download and verify the four MNIST files"),
    "train": ("digits.app.commands.train", "train a network on MNIST, printing test accuracy per epoch"),
    "evaluate": ("digits.app.commands.evaluate", "the test accuracy of a trained network, or of several voting"),
    "classify": ("digits.app.commands.classify", "read the digit in each picture with a trained network"),
    "draw": ("digits.app.commands.draw", "draw a digit with the mouse and watch the network read it"),
    "serve": ("digits.app.commands.serve", "a page in the browser to draw a digit and watch the network read it"),
    "compare": ("digits.app.commands.compare", "saved runs' per-epoch curves on the same axes, the settings that differ named"),
}


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2 (the scripts use it too)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, except where there is none to show (None, False)."""

    def _get_help_string(self, action):
        if action.default in (None, False) and "%(default)" not in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="digits",
        description="Handwritten digits with the networks of Nielsen's "
                    "'Neural Networks and Deep Learning'.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    commands.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(
            name, help=help_text, description=help_text,
            formatter_class=HelpFormatter)
        module.configure(sub)
        sub.set_defaults(run=module.run, parser=sub)
    return parser


def check_seed(seed) -> None:
    """Refuse a ``--seed`` below 0 (numpy's generators take none) before any work is done."""
    from digits.nn.hyperparameters import check

    check({"seed": seed}, {"seed": "--seed"})


def exit_status(action, name, interrupted="interrupted") -> int:
    """Run ``action()`` and return its exit status for the shell.

    Errors a user can fix become one line on stderr, ``NAME: error: ...``: status 2 for
    nonsense arguments, 1 for other problems, 130 for Ctrl-C (which prints ``NAME:
    interrupted``, or the ``interrupted`` text given).  Scripts use it too.
    """
    from digits.app.http import printable      # a file name's newline stays on the line

    try:
        return action()
    except UsageError as error:
        print(f"{name}: error: {printable(str(error))}", file=sys.stderr)
        return 2
    except DigitsError as error:
        print(f"{name}: error: {printable(str(error))}", file=sys.stderr)
        return 1
    except MemoryError as error:    # e.g. --sizes 784 100000000 10
        reason = str(error).split(" for an array")[0] or "MemoryError"
        advice = ("; try smaller sizes or mini-batches" if name.endswith(("train", ".py"))
                  else "; the network or the picture is too large for this machine")
        print(f"{name}: error: not enough memory ({reason}){advice}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{name}: {interrupted}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read our output has gone (``... | head``): stop quietly, and keep
        # Python from complaining again when it flushes stdout on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return exit_status(lambda: args.run(args), f"digits {args.command}")
