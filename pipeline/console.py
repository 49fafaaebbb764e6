"""What the command line prints: one-line errors, and the layouts of ``massfield inspect``.

Every user mistake — a bad parameter, a missing or damaged file, a fault of the machine —
becomes one line on stderr naming the file or key and the fix, with exit code 2
(parameters, usage) or 1 (data, faults); a stop signal (Ctrl-C, SIGTERM, SIGHUP) exits
with 128 + its number. A bug keeps its traceback.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import sys

import click
import yaml

from . import watchdog
from .errors import MassfieldError
from .interrupts import forget_received, signal_of, stop_signals_raise

USAGE_EXIT, DATA_EXIT = 2, 1


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def user_errors(command):
    """Turn our exceptions, file-system errors and stop signals into one line and an exit
    code (a stop signal's: 128 + its number, see interrupts.py)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            watchdog.arm()
            forget_received()
            with stop_signals_raise():
                return command(*args, **kwargs)
        except MassfieldError as exc:
            fail(str(exc), exc.exit_code)
        except BrokenPipeError:  # the reader of our output (say, `| head`) has had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except KeyboardInterrupt as exc:
            signum = signal_of(exc)
            fail(getattr(exc, "message", "") or
                 f"interrupted by {signal.Signals(signum).name}: nothing was written under a "
                 f"final name (files are written whole or not at all); re-run the command",
                 128 + signum)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                fail(f"{where}disk full ({exc.strerror}); free space there and re-run",
                     DATA_EXIT)
            fail(f"{where}{exc.strerror or exc}; check the path, its permissions and free "
                 f"space", DATA_EXIT)

    return wrapper


class OneLineGroup(click.Group):
    """A click group whose usage errors (unknown option, bad choice) are one line too."""

    def main(self, args=None, prog_name=None, **extra):
        try:
            return super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "massfield"
            fail(f"{exc.format_message()} (see `{command} --help`)", USAGE_EXIT)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code or DATA_EXIT)
        except click.exceptions.Abort:
            fail("interrupted", DATA_EXIT)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


class _Layout(yaml.SafeDumper):
    """Mappings one key a line, short lists inline: params read like params.yaml."""


_Layout.add_representer(list, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=True))


def block(data, indent: str = "  ") -> str:
    """Nested params or attributes laid out as indented YAML, one key a line."""
    text = yaml.dump(data, Dumper=_Layout, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
    return "\n".join(indent + line for line in text.rstrip().splitlines())


def store_text(summary: dict) -> str:
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    lines = [f"store     {summary['directory']} "
             f"({'manifest' if summary['has_manifest'] else summary['note']})",
             f"task      {summary['task']}",
             f"shards    {summary['shards']}, samples {summary['samples']} ({splits})",
             f"size      {summary['bytes'] / 1e6:.1f} MB, "
             f"{summary['bytes_per_sample'] / 1e3:.2f} kB per sample",
             f"mass      {summary['mass_min']:.4f} … {summary['mass_max']:.4f}, "
             f"mean {summary['mass_mean']:.4f}",
             f"redraws   {summary['redraws']} escaped particles redrawn"]
    if summary["problems"]:
        lines.append(f"problems  {'; '.join(summary['problems'])}: run "
                     f"`massfield inspect --verify {summary['directory']}`")
    return "\n".join(lines + ["params", block(summary["params"])])


def shard_text(shard: dict) -> str:
    attributes = {k: v for k, v in shard["attributes"].items() if k != "params"}
    lines = [f"shard     {shard['file']} ({shard['bytes'] / 1e6:.2f} MB)", "attributes",
             block(attributes), "params", block(shard["attributes"].get("params")), "datasets"]
    for d in shard["datasets"]:
        layout = f"chunks {tuple(d['chunks'])}" if d["chunks"] else "contiguous"
        packing = d["compression"] or "raw"
        if d["shuffle"]:
            packing += " + shuffle"
        lines += [f"  {d['name']}: {d['dtype']} {tuple(d['shape'])}, {layout}, {packing}, "
                  f"{d['bytes_on_disk'] / 1e3:.1f} kB on disk ({d['bytes_raw'] / 1e3:.1f} kB "
                  f"raw), {d['units']}",
                  f"    {d['description']}"]
    return "\n".join(lines)
