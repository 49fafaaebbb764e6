"""Stop signals: Ctrl-C (SIGINT), SIGTERM and SIGHUP end a long command the same way.

SIGTERM is what SLURM sends at a job's time limit, Kubernetes on eviction and ``timeout``
by default; SIGHUP comes when a terminal closes. Each becomes :class:`Interrupted` (a
``KeyboardInterrupt``, so every path that already cleans up after Ctrl-C does so for all
three), and the command exits with 128 + the signal's number — 130, 143, 129 — the code a
shell, SLURM and Kubernetes report for a process ended by that signal. A command stuck in
native code, where no handler can run, is ended by the watchdog (watchdog.py).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from . import watchdog

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``message`` (if any) says what was kept and how to resume."""

    def __init__(self, message: str = "", signum: int = signal.SIGINT):
        super().__init__(message)
        self.message, self.signum = message, signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_of(exc: BaseException) -> int:
    """The signal behind a KeyboardInterrupt: its own, or SIGINT (Python's Ctrl-C)."""
    return getattr(exc, "signum", signal.SIGINT)


def _install(signum: int, handler):
    """``signal.signal``; where the watchdog watches (a command), the handler is one-shot
    and re-arms itself when it runs (watchdog.py): a process stuck in native code, whose
    handler never runs, then dies of the watchdog's second signal."""
    handler = getattr(handler, "rearms", handler)
    if not (callable(handler) and watchdog.armed()):
        return signal.signal(signum, handler)

    def rearming(number, frame):
        _install(number, handler)
        handler(number, frame)

    rearming.rearms = handler
    previous = signal.signal(signum, rearming)
    watchdog.one_shot(signum)
    return previous


@contextlib.contextmanager
def _handlers(handler) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are the main thread's to handle
        return
    previous = {signum: _install(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            _install(signum, old)


# Stop signals received by this command. A signal raised as Interrupted inside library
# code that swallows it (a bare ``except:``) would be lost; every safe point (StopFlag)
# honours what is recorded here too.
_RECEIVED: list[int] = []


def _raise(signum, frame):
    _RECEIVED.append(signum)
    raise Interrupted(signum=signum)


def forget_received() -> None:
    """A new command starts with no stop signal pending (tests run many in one process)."""
    _RECEIVED.clear()


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Inside, every stop signal raises :class:`Interrupted` in the main thread."""
    with _handlers(_raise):
        yield


class StopFlag:
    """Set by a stop signal; the loop that owns it raises at a point of its own choosing."""

    def __init__(self):
        self.event = threading.Event()
        self.signum = signal.SIGINT

    def __call__(self, signum, frame) -> None:
        self.signum = signum
        _RECEIVED.append(signum)
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set() or bool(_RECEIVED)

    def check(self) -> None:
        if self.is_set():
            raise Interrupted(signum=self.signum if self.event.is_set() else _RECEIVED[-1])


@contextlib.contextmanager
def stop_signals_flag() -> Iterator[StopFlag]:
    """Inside, a stop signal only sets the yielded flag (a second one is ignored)."""
    flag = StopFlag()
    with _handlers(flag):
        yield flag


@contextlib.contextmanager
def stop_signals_ignored() -> Iterator[None]:
    """Inside, stop signals are ignored, and so are they in child processes started here
    (an ignored disposition survives fork and exec): a signal sent to the whole process
    group then reaches only this process, which shuts its workers down itself, instead of
    every worker dying at once and leaking its semaphores."""
    with _handlers(signal.SIG_IGN):
        yield
