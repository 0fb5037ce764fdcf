"""Backfill, compaction and lookup figures for a generated corpus.

Usage: bench/backfill.py --runs 10000 --work DIR --out FILE.md
Needs the built `bin/summary-uploader`, `$S3S_FS` and the .venv's DuckDB
(scripts/bench-backfill provides them). Prints progress to stderr and
writes a Markdown section to --out.
"""

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPLOADER = os.path.join(ROOT, "bin", "summary-uploader")
KINDS = ["nucleotide", "protein", "rdrp"]
SERRATUS_FOLDER = {"nucleotide": "summary2", "protein": "psummary", "rdrp": "rsummary"}


def say(text):
    print(f"==> {text}", file=sys.stderr, flush=True)


def run(args, env=None):
    started = time.monotonic()
    out = subprocess.run([UPLOADER, *args], capture_output=True, text=True, env=env)
    seconds = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return seconds, out.stdout


def lake_objects(lake):
    count = size = 0
    for kind in KINDS:
        for folder, _, files in os.walk(os.path.join(lake, kind)):
            for name in files:
                if name.endswith(".parquet") and not name.startswith("."):
                    count += 1
                    size += os.path.getsize(os.path.join(folder, name))
    return count, size


def runs_of(corpus, kind):
    names = os.listdir(os.path.join(corpus, kind))
    return sorted(name.split(".")[0] for name in names)


QUERIES = {
    "all rows of one run (sequence table)": lambda lake, run: f"""
        select * from read_parquet('{lake}/nucleotide/sequence/**/*.parquet', hive_partitioning = true)
        where sra = '{run}'""",
    "families with score >= 90 and pctid >= 95": lambda lake, run: f"""
        select sra, fam, score, pctid from read_parquet('{lake}/nucleotide/family/**/*.parquet', hive_partitioning = true)
        where score >= 90 and pctid >= 95""",
    "rows per family": lambda lake, run: f"""
        select fam, count(*) from read_parquet('{lake}/nucleotide/family/**/*.parquet', hive_partitioning = true)
        group by fam order by 2 desc""",
}


def profile(sql):
    """Best of two warm runs, and the files the scan read."""
    path = tempfile.mktemp(suffix=".json")
    con = duckdb.connect()
    con.sql("set enable_profiling = 'json'")
    con.sql(f"set profiling_output = '{path}'")
    rows = len(con.sql(sql).fetchall())  # warm-up: the OS cache holds the files afterwards
    best = float("inf")
    for _ in range(2):
        started = time.monotonic()
        con.sql(sql).fetchall()
        best = min(best, time.monotonic() - started)
    with open(path) as f:
        plan = json.load(f)
    os.unlink(path)
    scans = []

    def walk(node):
        if node.get("name") == "READ_PARQUET" or node.get("operator_name") == "READ_PARQUET":
            scans.append(node)
        for child in node.get("children", []):
            walk(child)

    for node in plan.get("operator", plan.get("children", [])):
        walk(node)
    info = scans[0].get("extra_info", {}) if scans else {}
    files = info.get("Total Files Read", "?")
    groups = (scans[0].get("row_groups_scanned"), scans[0].get("total_row_groups_to_scan")) if scans else (None, None)
    return rows, best, files, groups


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stage_source(corpus, s3_root):
    """The corpus as Serratus' source bucket `src` (summary2/, psummary/,
    rsummary/) under an s3s-fs root, hard-linked."""
    for kind in KINDS:
        target = os.path.join(s3_root, "src", SERRATUS_FOLDER[kind])
        os.makedirs(target)
        for name in os.listdir(os.path.join(corpus, kind)):
            os.link(os.path.join(corpus, kind, name), os.path.join(target, source_name(kind, name.split(".")[0])))


def source_name(kind, run):
    return f"{run}.summary" if kind == "nucleotide" else f"{run}.psummary"


@contextlib.contextmanager
def s3s_fs(root):
    """s3s-fs serving the folders of `root` as buckets on a free loopback port;
    yields the environment that points the uploader at it."""
    port = free_port()
    s3s = subprocess.Popen([os.environ["S3S_FS"], "--host", "127.0.0.1", "--port", str(port),
                            "--access-key", "bench", "--secret-key", "bench-secret", root],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret",
                   AWS_REGION="us-east-1", AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}")
    finally:
        s3s.terminate()
        s3s.wait()


def main():
    # This section's figures are of the score-pctid layout (bench/layouts.py
    # compares the layouts); SUMMARY_LAYOUT set by the caller wins.
    os.environ.setdefault("SUMMARY_LAYOUT", "score-pctid")
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--jobs", default="1,2,4")
    args = parser.parse_args()
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    corpus = os.path.join(work, "corpus")
    say(f"generating {args.runs} summaries (seed {args.seed})")
    run(["gen-corpus", "--seed", str(args.seed), "--files", str(args.runs), "--out", corpus, "--distribution", "serratus"])
    corpus_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(corpus) for f in fs)
    indexes = {}
    for kind in KINDS:
        indexes[kind] = os.path.join(work, f"{kind}.index")
        with open(indexes[kind], "w") as f:
            f.write("\n".join(runs_of(corpus, kind)) + "\n")
    lines = [
        "## Backfill, compaction and lookups",
        "",
        f"{args.runs:,} generated summaries (`gen-corpus --seed {args.seed} --distribution serratus`: scores and identities "
        f"spread over partitions as in the real summaries; {corpus_bytes / 1e6:.0f} MB; "
        + ", ".join(f"{len(runs_of(corpus, k)):,} {k}" for k in KINDS)
        + f"), measured {time.strftime('%Y-%m-%d')} with `scripts/bench-backfill` on {os.cpu_count()} cores.",
        "",
    ]

    say("per-run objects (what S3 events write): replay --batch 1")
    per_run = os.path.join(work, "per-run")
    per_run_seconds, _ = run(["replay", "--batch", "1", "--lake", per_run, corpus])
    say("backfill, 1,000 runs per batch")
    backfilled = os.path.join(work, "backfilled")
    backfill_seconds = 0.0
    for kind in KINDS:
        seconds, _ = run(["backfill", "--index", indexes[kind], "--source", os.path.join(corpus, kind),
                          "--kind", kind, "--dest", backfilled, "--batch-runs", "1000", "--jobs", "2"])
        backfill_seconds += seconds
    say("copying the per-run lake, then compacting the copy")
    compacted = os.path.join(work, "compacted")
    shutil.copytree(per_run, compacted)
    compact_seconds, compact_out = run(["compact", "--dest", compacted])

    lines += ["| lake | objects | bytes per object | total MB | written in |", "|---|---:|---:|---:|---:|"]
    for name, lake, seconds in [
        ("per run (events, `replay --batch 1`)", per_run, per_run_seconds),
        ("backfilled (`--batch-runs 1000`)", backfilled, backfill_seconds),
        ("per run, then `compact`", compacted, compact_seconds),
    ]:
        count, size = lake_objects(lake)
        lines.append(f"| {name} | {count:,} | {size / max(count, 1):,.0f} | {size / 1e6:.1f} | {seconds:.1f} s |")
    lines += ["", "(`written in` for the compacted lake is the compaction alone.)", ""]

    say("DuckDB queries before and after compaction")
    run_id = runs_of(corpus, "nucleotide")[len(runs_of(corpus, "nucleotide")) // 2]
    lines += [
        f"DuckDB {duckdb.__version__} over the local lake, best of two warm runs; files read and row groups "
        f"scanned/considered from DuckDB's profiler (one run: `{run_id}`).",
        "",
        "| query | lake | rows | time | files read | row groups scanned |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for query, sql in QUERIES.items():
        for name, lake in [("per run", per_run), ("compacted", compacted), ("backfilled", backfilled)]:
            rows, best, files, (scanned, total) = profile(sql(lake, run_id))
            lines.append(f"| {query} | {name} | {rows:,} | {best * 1000:.0f} ms | {files} | {scanned}/{total} |")
    lines.append("")

    say("backfill against s3s-fs with --jobs " + args.jobs)
    s3_root = os.path.join(work, "s3")
    stage_source(corpus, s3_root)
    for jobs in args.jobs.split(","):
        # A bucket per run: s3s-fs lists by walking the bucket's folder.
        os.makedirs(os.path.join(s3_root, f"lake-{jobs}"))
    with s3s_fs(s3_root) as env:
        lines += ["Backfill of every run (three kinds, 1,000 runs per batch) from and to s3s-fs on loopback, "
                  "without Glue:", "", "| --jobs | time | runs/s |", "|---:|---:|---:|"]
        for jobs in args.jobs.split(","):
            seconds = 0.0
            for kind in KINDS:
                s, _ = run(["backfill", "--index", indexes[kind], "--source", f"s3://src/{SERRATUS_FOLDER[kind]}",
                            "--kind", kind, "--dest", f"s3://lake-{jobs}/serratus", "--no-glue",
                            "--batch-runs", "1000", "--jobs", jobs], env=env)
                seconds += s
            lines.append(f"| {jobs} | {seconds:.1f} s | {args.runs / seconds:.0f} |")
            say(f"--jobs {jobs}: {seconds:.1f} s")
    lines.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
