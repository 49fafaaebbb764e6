"""Write docs/benchmarks.md from the figures the benchmarks saved (benchmarks/results/).

    python -m benchmarks.render

Never edit docs/benchmarks.md by hand: re-run a benchmark, then this.
"""

from __future__ import annotations

import json

from benchmarks import RESULTS

DOC = RESULTS.parent.parent / "docs" / "benchmarks.md"
INTRO = """# Benchmarks

Written by `python -m benchmarks.render` from `benchmarks/results/*.json`; each section
says the command that measured it, on what machine, when and at which commit. The
machines are shared and noisy, so every benchmark measures its own baseline in the same
run: compare the ratios.
"""


def _header(record: dict, title: str, text: str) -> list[str]:
    m = record["machine"]
    return ["", f"## {title}", "", text, "",
            f"`{record['command'].strip()}` — {m['processor']}, {m['cores']} "
            f"core{'s' if m['cores'] != 1 else ''}, "
            f"{m['memory_mib'] / 1024:.0f} GiB; {record['date']}, commit {record['commit']}.", ""]


def physics_speed(f: dict) -> list[str]:
    return ["| approach | samples/s on one core |", "|---|---|",
            f"| the report's (per-pixel `noise.pnoise2`, Python integrator) "
            f"| {f['report_per_s']:.1f} |",
            f"| massfield (`make_samples`) | {f['massfield_per_s']:.0f} |",
            f"| speed-up | **{f['speed_up']:.0f}×** |", "",
            "Each task (docs/tasks.md) against `mass`, in the same run:", "",
            "| task | samples/s on one core | against mass |", "|---|---|---|",
            *(f"| {name} | {rate:.0f} | {rate / f['tasks_per_s']['mass']:.2f}× |"
              for name, rate in f.get("tasks_per_s", {}).items())]


def generate_speed(f: dict) -> list[str]:
    h = f["hdf5"]
    lines = [f"{f['samples']} samples in {f['shards']} shards of {f['shard_size']} per run. "
             f"Writing HDF5 in one process costs {100 * h['writing_costs']:+.1f} % over making "
             f"the samples in memory; {h['bytes_per_sample']:.0f} bytes per sample.", "",
             "| workers | in memory, samples/s | efficiency | Dask + HDF5, samples/s "
             "| efficiency |", "|---|---|---|---|---|"]
    lines += [f"| {r['workers']} | {r['in_memory_per_s']:.0f} | {r['in_memory_efficiency']:.2f} "
              f"| {r['dask_hdf5_per_s']:.0f} | **{r['dask_hdf5_efficiency']:.2f}** |"
              for r in f["workers"]]
    return lines


def memory(f: dict) -> list[str]:
    lines = [f"Peak resident memory (largest process of the command's tree), "
             f"{f['samples']:,} against {f['samples'] * f['scale']:,} samples "
             f"(shards of {f['shard_size']}).", "",
             "| command | small store, MiB | 10× store, MiB | ratio |", "|---|---|---|---|"]
    lines += [f"| {r['command']} | {r['small_mib']:.0f} | {r['large_mib']:.0f} "
              f"| **{r['ratio']:.2f}** |" for r in f["rows"]]
    return lines


def verify_speed(f: dict) -> list[str]:
    return [f"The default store: {f['shards']} shards, {f['gigabytes']:.3f} GB, read from the "
            f"page cache.", "", "| check | seconds | seconds per GB |", "|---|---|---|",
            f"| every reader, before use: file SHA-256 against manifest.json "
            f"| {f['reader_check_s']:.2f} | {f['reader_check_s_per_gb']:.2f} |",
            f"| a shard proving itself (no manifest record): its datasets re-hashed "
            f"| {f['proof_s']:.2f} | {f['proof_s_per_gb']:.2f} |",
            f"| `inspect --verify`: checksums, schema, physical checks "
            f"| {f['verify_s']:.2f} | {f['verify_s_per_gb']:.2f} |", "",
            f"Training checks the train and validation shards once: "
            f"{f['reader_check_train_validation_s']:.2f} s, {100 * f['share_of_epoch']:.2f} % of "
            f"one {f['crnn_epoch_s']:.0f} s CRNN epoch. `evaluate` checks the test shards: "
            f"{f['reader_check_test_s']:.2f} s, {100 * f['share_of_evaluate']:.2f} % of a "
            f"{f['evaluate_s']:.0f} s evaluation (one model and both baselines)."]


def scale(f: dict) -> list[str]:
    ref, big = f["reference"], f["large"]
    lines = ["| step | samples | seconds | peak MiB | |", "|---|---|---|---|---|",
             f"| generate | {ref['samples']:,} | {ref['seconds']:.0f} | {ref['peak_mib']:.0f} "
             f"| {ref['per_sample_ms']:.3f} ms a sample |",
             f"| generate | {big['samples']:,} | {big['seconds']:.0f} | {big['peak_mib']:.0f} "
             f"| {big['per_sample_ms']:.3f} ms a sample (**{f['per_sample_ratio']:.3f}×**), "
             f"{big['gigabytes']:.2f} GB |"]
    for name, step in f["steps"].items():
        extra = f"{step['mb_per_s']:.0f} MB/s" if "mb_per_s" in step else ""
        lines.append(f"| {name} | {big['samples']:,} | {step['seconds']:.0f} "
                     f"| {step['peak_mib']:.0f} | {extra} |")
    # seconds = start-up + per-sample cost × samples, through the two generate runs
    per_sample = (big["seconds"] - ref["seconds"]) / (big["samples"] - ref["samples"])
    start_up = ref["seconds"] - per_sample * ref["samples"]
    lines += ["", f"A line through the two `generate` runs: {start_up:.1f} s of start-up "
              f"(cluster, JIT) and {1000 * per_sample:.3f} ms a sample; per sample, a larger "
              f"store costs no more, the start-up is only spread thinner."]
    return lines


def loader_speed(f: dict) -> list[str]:
    return ["| measure | value |", "|---|---|",
            f"| loader alone (recurrent view), samples/s | {f['loader_per_s']:.0f} |",
            f"| CRNN training from batches made in advance, samples/s | {f['memory_per_s']:.0f} |",
            f"| CRNN training from the shards, samples/s | {f['shards_per_s']:.0f} |",
            f"| loader / training step | **{f['loader_over_step']:.1f}×** |",
            f"| shards / in memory | **{f['shards_over_memory']:.2f}** |",
            f"| view per batch of 64, XLA / plain TensorFlow (ms, one thread) "
            f"| {f['view_ms_xla']:.1f} / {f['view_ms_plain']:.1f} |"]


def reader_speed(f: dict) -> list[str]:
    lines = [f"Batches of {f['batch']}; {f['batches']} batches a reader after its first. "
             f"The CRNN training step consumes **{f['step_per_s']:.0f}** samples/s (batches "
             f"made in advance).", "", "| reader | samples/s | reader / step |", "|---|---|---|"]
    lines += [f"| {name} | {r['per_s']:.0f} | **{r['over_step']:.1f}×** |"
              for name, r in f["readers"].items()]
    return lines


def train_speed(f: dict) -> list[str]:
    lines = ["| model | first steps, plain / XLA (s) | wall ms per step, plain / XLA "
             "| plain / XLA wall | plain / XLA CPU |", "|---|---|---|---|---|"]
    for name, t in f["models"].items():
        plain, xla = t["plain"], t["xla"]
        lines.append(f"| {name} | {plain['first']:.1f} / {xla['first']:.1f} "
                     f"| {plain['wall']:.1f} / {xla['wall']:.1f} "
                     f"| **{plain['wall'] / xla['wall']:.2f}×** "
                     f"| {plain['cpu'] / xla['cpu']:.2f}× |")
    return lines


def install(f: dict) -> list[str]:
    rows = f["installs"]
    lines = ["| install | what it runs | pip install, s | venv, MB | TensorFlow |",
             "|---|---|---|---|---|"]
    runs = {"core": "`generate`, `repair`, `inspect` (a Dask worker)",
            "pipeline": "everything `dvc repro` runs"}
    lines += [f"| `{'massfield' if name == 'core' else 'massfield[pipeline]'}` | {runs[name]} "
              f"| {row['seconds']:.0f} | {row['megabytes']:.0f} "
              f"| {'yes' if row['tensorflow'] else 'no'} |" for name, row in rows.items()]
    return lines + ["", f"The core takes **{f['size_ratio']:.2f}** of the disk and "
                    f"{f['time_ratio']:.2f} of the time of the full install (pip's cache warm: "
                    f"downloads not counted; an empty venv's "
                    f"{rows['core']['empty_venv_megabytes']:.0f} MB not counted)."]


def pipeline_time(f: dict) -> list[str]:
    where = ("on a fresh clone" if f.get("fresh_clone", True) else
             "in a working checkout (Numba's cache already warm: `generate` compiles nothing)")
    rows = ["| stage | seconds |", "|---|---|"]
    rows += [f"| {stage} | {seconds:.0f} |" for stage, seconds in f["stages"].items()]
    rows += [f"| **total** | **{f['total_s']:.0f}** ({f['of_budget']:.2f} of the "
             f"{f['budget_s']:.0f} s budget) |", "", f"Measured {where} at commit "
             f"{f['measured_commit']}."]
    base = f.get("baseline")
    if base:
        rows[-1] += (f" In the same run, a fresh clone of {base['measured_commit']}: "
                     f"{base['total_s']:.0f} s, so this commit took **{f['of_baseline']:.2f}×** "
                     f"its time (" + ", ".join(f"{stage} {seconds:.0f}" for stage, seconds
                                               in base["stages"].items()) + ").")
    return rows


def object_store(f: dict) -> list[str]:
    g = f["generate_s"]
    lines = [f"{f['samples']} samples in shards of {f['shard_size']}, {f['workers']} workers. "
             f"`generate` into the bucket {g['bucket']:.1f} s, into a directory "
             f"{g['disk']:.1f} s: **{f['generate_bucket_over_disk']:.2f}×** the disk's rate.",
             "", "| reader (first pass, as a new command) | disk, samples/s | bucket cold "
             "| × disk | bucket warm | × disk |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {r['disk']:.0f} | {r['bucket_cold']:.0f} | "
              f"{r['cold_over_disk']:.2f} | {r['bucket_warm']:.0f} | "
              f"**{r['warm_over_disk']:.2f}** |" for name, r in f["readers"].items()]
    slowest = min(min(r["bucket_cold"], r["bucket_warm"]) for r in f["readers"].values())
    return lines + ["", f"The CRNN's training step: {f['crnn_step_per_s']:.0f} samples/s; the "
                    f"slowest reader from the bucket, {slowest:.0f} samples/s, is "
                    f"{slowest / f['crnn_step_per_s']:.1f}× ahead of it. Cold includes fetching "
                    f"each shard (one request) from a server in one Python process on the same "
                    f"2 cores; a pass over a small split is dominated by fixed costs (the "
                    f"manifest's request, opening the store)."]


SECTIONS = {
    "install": ("What an install costs", "A fresh venv with the core install against one "
                "with `[pipeline]`.", install),
    "physics_speed": ("Making samples", "Complete samples per second on one core: the "
                      "report's approach against ours.", physics_speed),
    "generate_speed": ("Generating on many cores", "`generate` by worker count. The in-memory "
                       "line (plain processes, no HDF5, no Dask) is what the processor allows; "
                       "where both lines lose alike, the hardware caps the scaling.",
                       generate_speed),
    "memory": ("Memory that does not grow with the store", "The same work on a store ten "
               "times larger.", memory),
    "verify_speed": ("What checking shards costs", "Every reader checks each shard it uses; "
                     "what that costs against the work that reads them.", verify_speed),
    "scale": ("A million samples", "Generate, verify, train a CRNN for a fixed number of "
              "steps and evaluate it, on a million-sample store (the reference store sets the "
              "time per sample to match).", scale),
    "loader_speed": ("The tf.data loader", "The loader against the CRNN training step it "
                     "feeds (one model trains from both sources in turn).", loader_speed),
    "reader_speed": ("Every reader against the training step", "The tf.data loader, the "
                     "NumPy iterator and a PyTorch DataLoader — over `ShardDataset` by sample "
                     "(the default collate) and over `ShardBatches` by batch "
                     "(`batch_size=None`) — each giving the CRNN's inputs from checked "
                     "shards, against the CRNN training step.", reader_speed),
    "object_store": ("Object storage", "A store in an S3-compatible bucket (moto's server on "
                     "localhost) against the same store on local disk, in one run: "
                     "`generate`, then each reader's first pass over a split — cold (an empty "
                     "cache: each shard fetched whole) and warm (from the cache).",
                     object_store),
    "train_speed": ("Training steps with and without XLA", "Each model's training step "
                    "compiled by XLA or not, fed by the real loader.", train_speed),
    "pipeline_time": ("The default pipeline, stage by stage", "One `dvc repro --force`, "
                      "each stage timed from its start to the next one's (Numba "
                      "compiles once per clone, in the first stage that needs a kernel), "
                      "against the 600 s the README promises.", pipeline_time),
}


def render() -> str:
    lines = [INTRO.rstrip()]
    for name, (title, text, table) in SECTIONS.items():
        path = RESULTS / f"{name}.json"
        if path.exists():
            record = json.loads(path.read_text())
            lines += _header(record, title, text) + table(record["figures"])
    return "\n".join(lines) + "\n"


def main() -> None:
    DOC.write_text(render())
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
