"""Complete samples per second on one core: the report's approach against ours, in one run.

The report's approach (its §3.1 code): ``noise.pnoise2`` called per pixel from Python
loops, np.gradient, the Python integrator of listing 2 and per-step four-warm encoding.
Ours: pipeline.physics.sample.make_samples; then every task of pipeline/tasks against
``mass`` (the same code path, measured in the same run). Usage:

    python -m benchmarks.physics_speed [--report-samples 20] [--our-samples 4000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import noise
import numpy as np

from benchmarks import save
from pipeline.config import PhysicsConfig
from pipeline.physics.encoding import cell_coordinate
from pipeline.physics.field import trap_weights
from pipeline.physics.sample import make_samples, sample_streams
from pipeline.tasks import TASKS


def report_sample(rng: np.random.Generator, p: PhysicsConfig) -> tuple:
    """One sample the way the report's code made it (with our offsets and grid mapping)."""
    ox, oy = rng.uniform(0, p.offset_high, 2)
    mass = rng.uniform(p.mass_low, p.mass_high)
    field = np.zeros((p.size, p.size))
    for i in range(p.size):
        for j in range(p.size):
            field[i][j] = noise.pnoise2(ox + i / p.size, oy + j / p.size, octaves=p.octaves,
                                        persistence=p.persistence, lacunarity=p.lacunarity,
                                        repeatx=p.repeat, repeaty=p.repeat, base=p.base)
    field /= np.abs(field).max()
    trap = trap_weights(p.size, p.trap_flatness)
    phi = (1 - trap) * field + p.trap_safety * trap
    grad_rows, grad_cols = np.gradient(phi)
    force = np.stack([-grad_cols, -grad_rows], axis=-1)
    k = p.downsample
    psi = phi.reshape(p.grid, k, p.grid, k).mean(axis=(1, 3))
    position, velocity = np.array([p.size / 2, p.size / 2]), np.zeros(2)
    trajectory = [position]
    for _ in range(p.n_positions - 1):
        x, y = position
        velocity = velocity + force[int(y), int(x)] / mass
        position = position + velocity
        trajectory.append(position)
    encodings = []
    for x, y in trajectory[::p.stride][:p.time_steps]:
        grid = np.zeros((p.grid, p.grid))
        gx = min(max(cell_coordinate(x, k), 0), p.grid - 1)
        gy = min(max(cell_coordinate(y, k), 0), p.grid - 1)
        for col in (int(gx), int(gx) + 1):
            for row in (int(gy), int(gy) + 1):
                if col < p.grid and row < p.grid:
                    grid[row, col] = (1 - abs(gx - col)) * (1 - abs(gy - row))
        encodings.append(grid)
    return mass, psi, np.array(trajectory), np.array(encodings)


def task_rate(name: str, n: int) -> float:
    """Samples per second of one task, made as shards make them (blocks of 128)."""
    physics = PhysicsConfig(task=name)
    TASKS[name].make_samples(sample_streams(np.random.SeedSequence(0), 8), physics)  # compile
    streams = sample_streams(np.random.SeedSequence(1), n)
    start = time.perf_counter()
    for first in range(0, n, 128):
        TASKS[name].make_samples(streams[first:first + 128], physics)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-samples", type=int, default=20)
    parser.add_argument("--our-samples", type=int, default=4000)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    physics = PhysicsConfig()
    make_samples(sample_streams(np.random.SeedSequence(0), 8), physics)  # compile / load cache

    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(args.report_samples):
        report_sample(rng, physics)
    report_rate = args.report_samples / (time.perf_counter() - start)

    streams = sample_streams(np.random.SeedSequence(1), args.our_samples)
    start = time.perf_counter()
    for first in range(0, args.our_samples, 128):  # the block size shards are written in
        make_samples(streams[first:first + 128], physics)
    our_rate = args.our_samples / (time.perf_counter() - start)

    print(f"report approach : {report_rate:10.1f} samples/s/core ({args.report_samples} samples)")
    print(f"massfield       : {our_rate:10.1f} samples/s/core ({args.our_samples} samples)")
    print(f"speed-up        : {our_rate / report_rate:10.1f}x")
    tasks = {name: task_rate(name, args.our_samples) for name in TASKS}
    for name, rate in tasks.items():
        print(f"task {name:13s}: {rate:10.1f} samples/s/core, {rate / tasks['mass']:.2f}x mass")
    save("physics_speed", {"report_per_s": report_rate, "massfield_per_s": our_rate,
                           "speed_up": our_rate / report_rate,
                           "report_samples": args.report_samples,
                           "massfield_samples": args.our_samples, "tasks_per_s": tasks},
         "python -m benchmarks.physics_speed " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
