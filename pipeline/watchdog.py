"""A stop signal ends a command even while it is stuck in native code.

Python runs a signal handler only between bytecodes, in the main thread. Code that loops
in C holding the GIL — HDF5 on damaged metadata, a long Numba kernel — never lets it
run, and no Python thread can run either. So the watch is another process: :func:`arm`
starts this file as a small stdlib-only script and hands it the read end of a pipe that
Python's C-level signal handler writes each signal's number to (``signal.set_wakeup_fd``),
which needs no GIL. If the command is still alive ``GRACE_S`` seconds after a stop
signal, the watchdog prints the command's one line and sends the signal again. The
command's handlers are installed one-shot (SA_RESETHAND, :func:`one_shot`), and re-arm
themselves when they run; a process whose handler never ran therefore dies of that
second signal, and its exit status is the one a shell reports for the signal (143 for
SIGTERM). One that ran its handler and is still cleaning up is killed a second later.
Files are written whole or not at all, so nothing is left half-written under a final name.
"""

from __future__ import annotations

import ctypes
import os
import platform
import select
import signal
import subprocess
import sys
import time

# README: "ended by a watchdog 20 s after the signal". Long enough for the slowest safe
# point we know (XLA compiling a model's first step: over 10 s on a loaded 2-core machine),
# short enough for SLURM's KillWait and Kubernetes' grace period (30 s by default).
GRACE_S = 20.0
GRACE_ENV = "MASSFIELD_STOP_GRACE_S"  # another grace (a scheduler's shorter kill wait, tests)
STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SA_RESETHAND = 0x80000000  # Linux's value, on every architecture glibc lays out as below
_ARMED = False


def grace_seconds() -> float:
    """``GRACE_S``, or the seconds ``MASSFIELD_STOP_GRACE_S`` gives (ConfigError if not > 0)."""
    from .errors import ConfigError

    raw = os.environ.get(GRACE_ENV)
    if not raw:
        return GRACE_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):  # inf: a watchdog that never ends anything
        raise ConfigError(f"{GRACE_ENV}={raw!r}: expected seconds > 0 (unset: {GRACE_S:g})")
    return seconds


def arm(grace: float | None = None) -> None:
    """Start the watchdog for this process (once; the main thread only), ending it
    ``grace`` seconds (default :func:`grace_seconds`) after a stop signal it outlives."""
    global _ARMED
    import threading

    grace = grace_seconds() if grace is None else grace  # a bad value: said every time
    if _ARMED or threading.current_thread() is not threading.main_thread():
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    # its own session: a signal sent to the command's process group (a terminal, SLURM,
    # `timeout`) never reaches it, not even while it starts
    subprocess.Popen([sys.executable, "-I", "-S", __file__, str(read), str(os.getpid()),
                      str(grace)], pass_fds=(read,), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, start_new_session=True)
    # the read end stays open here too, so that a signal's byte never meets a broken pipe
    # (were the watchdog gone); the watchdog sees the command end by its parent changing
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    _ARMED = True


def armed() -> bool:
    return _ARMED


def one_shot(signum: int) -> None:
    """Add SA_RESETHAND to the handler just installed for ``signum``: its next delivery
    restores the default action (die of the signal), so that the watchdog's second signal
    ends a process whose handler never got to run. Linux with glibc's layout only;
    elsewhere the watchdog's SIGKILL a second later ends it (exit 137)."""
    if _LIBC is None:
        return
    action = _Action()
    if _LIBC.sigaction(signum, None, ctypes.byref(action)) == 0:
        action.flags |= SA_RESETHAND
        _LIBC.sigaction(signum, ctypes.byref(action), None)


class _Action(ctypes.Structure):
    """glibc's struct sigaction on Linux (x86-64 and AArch64 alike)."""

    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


# loaded here, not in a handler's path: a signal may arrive while one_shot runs
_LIBC = (ctypes.CDLL(None, use_errno=True)
         if sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64") else None)


def _alive(pid: int) -> bool:
    return os.getppid() == pid  # reparented once the command is gone


def _watch(fd: int, pid: int, grace: float) -> None:
    """The watchdog process: wait for a stop signal's byte, then for the command's end."""
    while _alive(pid):
        if not select.select([fd], [], [], 1.0)[0]:
            continue
        byte = os.read(fd, 1)
        if not byte:
            return  # every write end closed: the command has ended
        if byte[0] not in STOP:
            continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(pid):
            if (select.select([fd], [], [], min(1.0, deadline - time.monotonic()))[0]
                    and not os.read(fd, 64)):  # later signals: the first one's deadline holds
                return
        if not _alive(pid):
            return
        name = signal.Signals(byte[0]).name
        os.write(2, (f"error: interrupted by {name}: still running {grace:g} s later (busy "
                     f"in native code), so ended at once: nothing was written under a final "
                     f"name (files are written whole or not at all); re-run the command\n"
                     ).encode())
        os.kill(pid, byte[0])
        time.sleep(1.0)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        return


if __name__ == "__main__":
    _watch(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
