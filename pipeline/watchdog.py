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

import os
import select
import signal
import subprocess
import sys
import time

GRACE_S = 10.0  # README: "a stop signal ends any command within 10 s"
STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SA_RESETHAND = 0x80000000  # Linux's value, on every architecture glibc lays out as below
_ARMED = False


def arm(grace: float = GRACE_S) -> None:
    """Start the watchdog for this process (once; the main thread only)."""
    global _ARMED
    import threading

    if _ARMED or threading.current_thread() is not threading.main_thread():
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    subprocess.Popen([sys.executable, "-I", "-S", __file__, str(read), str(os.getpid()),
                      str(grace)], pass_fds=(read,), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL)
    os.close(read)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    _ARMED = True


def armed() -> bool:
    return _ARMED


def one_shot(signum: int) -> None:
    """Add SA_RESETHAND to the handler just installed for ``signum``: its next delivery
    restores the default action (die of the signal), so that the watchdog's second signal
    ends a process whose handler never got to run. Linux with glibc's layout only;
    elsewhere the watchdog's SIGKILL a second later ends it (exit 137)."""
    import ctypes
    import platform

    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        return

    class Action(ctypes.Structure):
        _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                    ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    action = Action()
    if libc.sigaction(signum, None, ctypes.byref(action)) == 0:
        action.flags |= SA_RESETHAND
        libc.sigaction(signum, ctypes.byref(action), None)


def _alive(pid: int) -> bool:
    return os.getppid() == pid  # reparented once the command is gone


def _watch(fd: int, pid: int, grace: float) -> None:
    """The watchdog process: wait for a stop signal's byte, then for the command's end."""
    for signum in STOP:
        signal.signal(signum, signal.SIG_IGN)  # a terminal's Ctrl-C reaches us too
    while _alive(pid):
        if not select.select([fd], [], [], 1.0)[0]:
            continue
        byte = os.read(fd, 1)
        if not byte:
            return  # the command has ended
        if byte[0] not in STOP:
            continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if select.select([fd], [], [], deadline - time.monotonic())[0] and not os.read(fd,
                                                                                          64):
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
