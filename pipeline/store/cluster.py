"""Running shard tasks on Dask: a local cluster tuned for this workload, or the address
of a cluster someone runs (docs/cluster.md), with Dask's own noise kept from the user.

Knows nothing of shards: it runs a task function over indices and yields the results.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator

from ..errors import ConfigError, DataError
from ..interrupts import stop_signals_flag, stop_signals_ignored

LOCAL_SCHEDULERS = ("processes", "threads", "synchronous")
ADDRESS_PREFIXES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


# Every worker process otherwise samples its own stack every 10 ms (the profiler) and
# checks its event loop every 20 ms: measurable on a machine with no idle core.
QUIET_WORKERS = {"distributed.worker.profile.enabled": False,
                 "distributed.admin.tick.interval": "500ms",
                 "distributed.admin.system-monitor.interval": "2s",
                 "distributed.worker.memory.monitor-interval": "1s"}


@contextlib.contextmanager
def _environment(**values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def local_cluster(workers: int, processes: bool = True):
    """A local Dask cluster of ``workers`` single-threaded processes (or one process of
    ``workers`` threads), configured to leave the cores to the tasks. Worker processes log
    nothing (read from the environment when they start): connections closing on shutdown
    are not news to the user, and a task's own error reaches the client anyway."""
    import dask
    from distributed import LocalCluster

    with (dask.config.set(QUIET_WORKERS), stop_signals_ignored(),
          _environment(DASK_LOGGING__DISTRIBUTED="critical")):
        return LocalCluster(n_workers=workers if processes else 1,
                            threads_per_worker=1 if processes else workers,
                            # any free port: the scheduler serves HTTP even without a
                            # dashboard, and 8787 may be another cluster's (a warning)
                            processes=processes, dashboard_address=":0")


def quiet_dask_logs() -> None:
    """For a command-line process: Dask logs lost workers and connections with tracebacks,
    some from its background threads after the client has closed; the user gets our one
    line instead. Dask's logging config gives some of its loggers levels of their own. The
    local cluster's worker processes configure theirs from the environment at import (a
    surviving worker logged a failed heartbeat's traceback as the cluster closed)."""
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "critical"
    import distributed  # noqa: F401  (its import configures the loggers set here)

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def check_scheduler(scheduler: str) -> None:
    """ConfigError for a ``--scheduler`` that is neither a local kind nor an address."""
    if scheduler not in LOCAL_SCHEDULERS and not scheduler.startswith(ADDRESS_PREFIXES):
        raise ConfigError(f"--scheduler {scheduler!r}: expected one of "
                          f"{', '.join(LOCAL_SCHEDULERS)} or a Dask scheduler address "
                          f"(tcp://HOST:PORT)")


def _connect(scheduler: str, workers: int | None):
    from distributed import Client

    if scheduler in LOCAL_SCHEDULERS:
        cluster = local_cluster(workers or os.cpu_count() or 1, scheduler == "processes")
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError) as exc:
        raise DataError(f"--scheduler {scheduler}: cannot reach the Dask scheduler "
                        f"({str(exc).splitlines()[0]}); check the address and that it runs") \
            from None


POLL_SECONDS = 0.05  # how often the waiting loop looks for results and Ctrl-C


def run_on_dask(task: Callable, arguments: list[tuple], keys: list[str], scheduler: str,
                workers: int | None) -> Iterator[dict]:
    """``task(*args)`` for each of ``arguments`` on the cluster, results as they finish. The
    cluster (when started here) and the client close when the caller stops iterating.

    While Dask runs, a stop signal (Ctrl-C, SIGTERM, SIGHUP) only sets a flag, which this
    loop turns into :class:`~pipeline.interrupts.Interrupted` between batches, and it cannot
    interrupt the closing. Raised wherever the main thread happened to be, inside Dask's
    client code, it could leave a queue's lock held: the event loop then blocked on that
    lock, and closing the cluster hung for ever (seen under load)."""
    from distributed import as_completed

    with stop_signals_flag() as interrupted:
        client, cluster = _connect(scheduler, workers)
        try:
            pending = as_completed([client.submit(task, *args, key=key, pure=False)
                                    for args, key in zip(arguments, keys, strict=True)])
            while not pending.is_empty():
                for future in pending.next_batch(block=False):
                    yield future.result()
                interrupted.check()
                time.sleep(POLL_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                client.close()
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close()


def is_dask_failure(exc: BaseException) -> bool:
    """Whether an exception comes from Dask's machinery (a lost worker or scheduler)."""
    return type(exc).__module__.split(".")[0] in ("distributed", "tornado", "asyncio")


