"""The run-bucket and score-pctid layouts side by side on one generated corpus.

Usage: bench/layouts.py --runs 1000 --work DIR --out FILE.md [--layouts run-bucket,score-pctid]
Needs the built `bin/summary-uploader`, `$S3S_FS` and the .venv's DuckDB and
pyarrow (scripts/bench-layouts provides them). For each layout: the per-run
lake events write (a sample through `handle-event`, the whole corpus through
`replay --batch 1`, which lands each run as an event does), the same lake
compacted, the size floor (pyarrow), DuckDB query times on both lakes, and a
projection to Serratus' 5.7 million runs per kind. Prints progress to stderr
and writes a Markdown section to --out.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict

import duckdb
import pyarrow
import pyarrow.dataset as ds
import pyarrow.parquet as pq

import backfill
from backfill import KINDS, SERRATUS_FOLDER, run, runs_of, s3s_fs, say, source_name, stage_source

LAYOUTS = ["run-bucket", "score-pctid"]
SERRATUS_RUNS_PER_KIND = 5_700_000
DOLLARS_PER_1000_PUTS = 0.005
REPEATS = 3
# A query whose untimed run takes longer than this is timed once more, not
# REPEATS times: on the 10,000-run score-pctid per-run lake one run lookup
# opens half a million files and takes minutes, and the best of 3 of a
# minutes-long scan says no more than one run does.
SLOW_SECONDS = 10
# `compact`'s defaults, which the projection of compacted objects follows.
COMPACT_MAX_FILES = 1000
COMPACT_TARGET_BYTES = 128 << 20


def bucket_of(run_id):
    """The run-bucket partition of a run: its accession's last two digits."""
    return run_id[-2:]


def parquet_files(folder):
    for parent, _, names in os.walk(folder):
        for name in names:
            if name.endswith(".parquet") and not name.startswith("."):
                yield os.path.join(parent, name)


def tables_of(lake, kind):
    return sorted(os.listdir(os.path.join(lake, kind)))


def folder_sizes(lake, kind):
    """(objects, bytes) per folder holding Parquet objects (a table's
    bucket or score/pctid partition, or an unpartitioned table)."""
    sizes = defaultdict(lambda: [0, 0])
    for path in parquet_files(os.path.join(lake, kind)):
        entry = sizes[os.path.dirname(path)]
        entry[0] += 1
        entry[1] += os.path.getsize(path)
    return sizes


def kind_size(lake, kind):
    sizes = folder_sizes(lake, kind).values()
    return sum(n for n, _ in sizes), sum(b for _, b in sizes)


# --- DuckDB queries ----------------------------------------------------------

def scan(lake, kind, table, folder="**"):
    return f"read_parquet('{lake}/{kind}/{table}/{folder}/*.parquet', hive_partitioning = true)"


def run_lookup(layout, lake, kind, tables, run_id, variant):
    """All rows of one run, one statement per table of its kind, as the
    summary API's run page asks (ordered by score where the table has one)."""
    statements = []
    for table in tables:
        order = "" if table == "sra" else " order by score desc"
        if layout == "run-bucket" and variant == "bucket folder":
            source, where = scan(lake, kind, table, f"bucket={bucket_of(run_id)}"), f"sra = '{run_id}'"
        elif layout == "run-bucket" and variant == "bucket predicate":
            source, where = scan(lake, kind, table), f"sra = '{run_id}' and bucket = right('{run_id}', 2)"
        else:
            source, where = scan(lake, kind, table), f"sra = '{run_id}'"
        # The bucket column comes from the path; left out so the rows compare with score-pctid's.
        columns = "* exclude (bucket)" if layout == "run-bucket" else "*"
        statements.append(f"select {columns} from {source} where {where}{order}")
    return statements


def family_filter(lake, layout, table, family_column, family, pctid):
    kind, table = table.split("/")
    columns = "* exclude (bucket)" if layout == "run-bucket" else "*"
    return [f"select {columns} from {scan(lake, kind, table)} "
            f"where {family_column} = '{family}' and score >= 90 and pctid >= {pctid}"]


def rows_per_family(lake, table, family_column):
    kind, table = table.split("/")
    return [f"select {family_column}, count(*) as n from {scan(lake, kind, table)} group by 1 order by 1"]


# (name, table, family column, least pctid) of the family queries: the
# nucleotide family table (the API's family page) and the RdRp sequence
# table, the largest. Generated RdRp identities stay under 95 (as protein
# identities do), so its filter asks for pctid >= 75.
FAMILY_TABLES = [("nucleotide family", "nucleotide/family", "fam", 95),
                 ("rdrp sequence", "rdrp/sequence", "family_name", 75)]
TABLE_OF_QUERY = {name: table for name, table, _, _ in FAMILY_TABLES}


def quiet_duckdb():
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    return con


def timed(statements, files):
    """Rows of each statement, the best of REPEATS warm runs of them all (one
    run when the untimed one took over SLOW_SECONDS) in one connection (the
    first, untimed, run warms the OS and DuckDB caches), and
    `files`, the Parquet objects under the folders the statements read."""
    con = quiet_duckdb()
    started = time.perf_counter()
    results = [con.sql(sql).fetchall() for sql in statements]
    repeats = 1 if time.perf_counter() - started > SLOW_SECONDS else REPEATS
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for sql in statements:
            con.sql(sql).fetchall()
        best = min(best, time.perf_counter() - started)
    con.close()
    return results, best, files


def canonical(results):
    """Query results comparable across layouts: score/pctid read from paths
    are BIGINT in one layout and INT inside the files of the other, and the
    run-bucket scan adds its `bucket` column."""
    return [sorted(tuple(sorted((str(v) for v in row))) for row in rows) for rows in results]


# --- the README's queries ----------------------------------------------------------

# The summary API's queries as README.md ("Lake layouts: run-bucket and
# score-pctid") writes them for DuckDB, with its example values; the bench
# checks they are in the README word for word and runs them on the lakes.
README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
README_RUN, README_BUCKET, README_FAMILY = "SRR9968556", "56", "Coronaviridae"
README_FAMILY_QUERIES = [
    "select sra, fam, score, pctid, aln, topname from read_parquet('lake/nucleotide/family/**/*.parquet', "
    "hive_partitioning = true) where fam = 'Coronaviridae' and score >= 90 and pctid >= 95 order by score desc, pctid desc",
    "select fam, count(*) as n from read_parquet('lake/nucleotide/family/**/*.parquet', hive_partitioning = true) "
    "group by fam order by n desc",
]
README_RUN_LOOKUPS = {
    "run-bucket": [
        "select * from read_parquet('lake/rdrp/sequence/bucket=56/*.parquet', hive_partitioning = true) "
        "where sra = 'SRR9968556' order by score desc",
        "select * from read_parquet('lake/rdrp/sequence/**/*.parquet', hive_partitioning = true) "
        "where sra = 'SRR9968556' and bucket = '56' order by score desc",
    ],
    "score-pctid": [
        "select * from read_parquet('lake/rdrp/sequence/**/*.parquet', hive_partitioning = true) "
        "where sra = 'SRR9968556' order by score desc",
    ],
}


def words(text):
    return " ".join(text.split())


def check_readme_queries(measured, lookups, families):
    """Each README query is in README.md and answers the same rows, some,
    on every lake of every layout (the lookups: the RdRp run looked up here)."""
    with open(README) as f:
        readme = words(f.read())
    answers = defaultdict(set)
    for m in measured:
        queries = README_RUN_LOOKUPS[m["layout"]] + README_FAMILY_QUERIES
        for template in queries:
            assert words(template) in readme, f"not in README.md: {template}"
        run_id = lookups["rdrp"]
        for template in queries:
            sql = (template.replace("'lake/", f"'{m['lake']}/").replace(README_RUN, run_id)
                   .replace(f"bucket={README_BUCKET}/", f"bucket={bucket_of(run_id)}/")
                   .replace(f"bucket = '{README_BUCKET}'", f"bucket = '{bucket_of(run_id)}'")
                   .replace(README_FAMILY, families["nucleotide/family"]))
            rows = quiet_duckdb().sql(sql).fetchall()  # on the compacted lake
            assert rows, f"{m['layout']}: no rows: {sql}"
            answers["run lookup" if "sra = " in template else template].add(len(rows))
    for kind, counts in answers.items():
        assert len(counts) == 1, f"README query {kind!r}: rows differ between layouts: {counts}"


# --- the floor -----------------------------------------------------------------

def floor_bytes(lake, kind, table, out_dir):
    """Bytes of the table's rows as one Parquet file sorted by `sra`, snappy,
    pyarrow's defaults; and its rows. Read from a run-bucket lake, whose
    files hold every column (score and pctid too)."""
    rows = ds.dataset(os.path.join(lake, kind, table), format="parquet", partitioning=None).to_table()
    rows = rows.sort_by("sra")
    path = os.path.join(out_dir, f"{kind}-{table}.parquet")
    pq.write_table(rows, path)  # snappy is pyarrow's default
    return os.path.getsize(path), rows.num_rows


def count_rows(lake, kind, table):
    return quiet_duckdb().sql(f"select count(*) from {scan(lake, kind, table)}").fetchall()[0][0]


# --- events --------------------------------------------------------------------

def event_sample(corpus, per_kind):
    """The first `per_kind` runs of each kind: (kind, run)."""
    return [(kind, r) for kind in KINDS for r in runs_of(corpus, kind)[:per_kind]]


def handle_events(sample, lake, layout, env, work):
    """One S3 event document with a record per sampled summary, handled by
    `handle-event` into a local lake; returns the seconds it took."""
    records = [{"eventVersion": "2.1", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "src"},
                       "object": {"key": f"{SERRATUS_FOLDER[kind]}/{source_name(kind, r)}",
                                  "sequencer": "01", "eTag": "e"}}} for kind, r in sample]
    path = os.path.join(work, f"events-{layout}.json")
    with open(path, "w") as f:
        json.dump({"Records": records}, f)
    seconds, _ = run(["handle-event", path, "--dest", lake, "--no-glue", "--layout", layout], env=env)
    return seconds


def event_objects(lake, sample, event_keys_of=None):
    """Parquet objects per sampled run, from its manifest. With
    `event_keys_of="run-bucket"`, checks the keys an event writes there: at
    most one object per table, in the run's bucket, `<run>-<token>.parquet`."""
    counts = []
    for kind, r in sample:
        with open(os.path.join(lake, "_manifests", kind, f"{r}.json")) as f:
            objects = json.load(f)["objects"]
        if event_keys_of == "run-bucket":
            tables = [key.split("/")[1] for key in objects]
            assert len(tables) == len(set(tables)), f"{r}: more than one object per table: {objects}"
            for key in objects:
                folder, name = key.split("/")[2:]
                assert folder == f"bucket={bucket_of(r)}" and name.startswith(f"{r}-"), f"{r}: {key}"
        counts.append(len(objects))
    return counts


# --- one layout ------------------------------------------------------------------

def measure_layout(layout, corpus, work, sample, env, lookups, families):
    """Every figure of one layout: ingest, compaction, queries."""
    figures = {"layout": layout}
    events_lake = os.path.join(work, f"{layout}-events")
    figures["event_seconds"] = handle_events(sample, events_lake, layout, env, work)
    figures["event_sample"] = sample
    figures["event_objects"] = event_objects(events_lake, sample, event_keys_of=layout)
    with open(os.path.join(events_lake, "_lake.json")) as f:
        assert json.load(f)["layout"] == layout

    lake = os.path.join(work, layout)
    say(f"{layout}: per-run lake (replay --batch 1)")
    figures["per_run_seconds"], _ = run(["replay", "--batch", "1", "--layout", layout, "--lake", lake, corpus])
    figures["tables"] = {kind: tables_of(lake, kind) for kind in KINDS}
    figures["per_run"] = {kind: kind_size(lake, kind) for kind in KINDS}
    figures["per_run_folders"] = {kind: folder_sizes(lake, kind) for kind in KINDS}
    replayed = event_objects(lake, sample)  # counts only: replay names its objects `<run>.parquet`
    assert replayed == figures["event_objects"], f"{layout}: events and replay --batch 1 write different objects per run"
    check_refuses_other_layout(lake, layout, corpus)
    figures["queries"] = {}
    say(f"{layout}: queries on the per-run lake")
    measure_queries(figures, "per run", layout, lake, lookups, families)

    say(f"{layout}: compact")
    figures["compact_seconds"], figures["compact_note"] = compact(lake)
    figures["compacted"] = {kind: kind_size(lake, kind) for kind in KINDS}
    say(f"{layout}: queries on the compacted lake")
    measure_queries(figures, "compacted", layout, lake, lookups, families)
    figures["rows"] = {(kind, table): count_rows(lake, kind, table)
                       for kind in KINDS for table in figures["tables"][kind]}
    figures["lake"] = lake
    return figures


def compact(lake):
    """`compact` with its defaults; if it fails, the failure is reported and
    `compact --jobs 1` finishes the work (it completes the journals left)."""
    started = time.monotonic()
    out = subprocess.run([backfill.UPLOADER, "compact", "--dest", lake], capture_output=True, text=True)
    if out.returncode == 0:
        return time.monotonic() - started, ""
    failed = time.monotonic() - started
    failure = out.stderr.strip().splitlines()[-1]
    say(f"compact failed ({failure}); again with --jobs 1")
    seconds, _ = run(["compact", "--dest", lake, "--jobs", "1"])
    return failed + seconds, (f"`compact` (default `--jobs 4`) failed after {failed:.0f} s: `{failure}`; "
                              f"`compact --jobs 1` then finished it in {seconds:.0f} s (the time is both)")


def check_refuses_other_layout(lake, layout, corpus):
    """A lake refuses a command given the other layout, and nothing is written."""
    other = next(l for l in LAYOUTS if l != layout)
    before = sorted(os.path.relpath(os.path.join(d, f), lake) for d, _, fs in os.walk(lake) for f in fs)
    out = subprocess.run([backfill.UPLOADER, "replay", "--layout", other, "--lake", lake, corpus],
                         capture_output=True, text=True)
    assert out.returncode != 0 and f"is a {layout} lake" in out.stderr, out.stderr
    after = sorted(os.path.relpath(os.path.join(d, f), lake) for d, _, fs in os.walk(lake) for f in fs)
    assert before == after, f"{layout}: a refused replay changed the lake"


def lookup_variants(layout):
    return ["bucket folder", "bucket predicate"] if layout == "run-bucket" else ["every partition"]


def measure_queries(figures, lake_name, layout, lake, lookups, families):
    tables = {kind: tables_of(lake, kind) for kind in KINDS}
    for kind, run_id in lookups.items():
        files = sum(1 for table in tables[kind] for path in parquet_files(os.path.join(lake, kind, table))
                    if layout != "run-bucket" or f"/bucket={bucket_of(run_id)}/" in path)
        for variant in lookup_variants(layout):
            statements = run_lookup(layout, lake, kind, tables[kind], run_id, variant)
            figures["queries"][(lake_name, f"run {run_id} ({kind}, {len(statements)} tables)", variant)] = \
                timed(statements, files)
    for name, table, column, pctid in FAMILY_TABLES:
        family = families[table]
        files = sum(1 for _ in parquet_files(os.path.join(lake, table)))
        figures["queries"][(lake_name, f"{name}: {family}, score >= 90, pctid >= {pctid}", "")] = \
            timed(family_filter(lake, layout, table, column, family, pctid), files)
        figures["queries"][(lake_name, f"{name}: rows per family", "")] = \
            timed(rows_per_family(lake, table, column), files)


# --- the report -------------------------------------------------------------------

def mb(size):
    return f"{size / 1e6:,.1f}"


def report(args, corpus_bytes, corpus_runs, measured, floors, sample):
    lines = [
        f"## Lake layouts: run-bucket and score-pctid, {args.runs:,} runs",
        "",
        f"{args.runs:,} generated summaries (`gen-corpus --seed {args.seed} --distribution serratus`, "
        f"{corpus_bytes / 1e6:.0f} MB; " + ", ".join(f"{corpus_runs[k]:,} {k}" for k in KINDS)
        + f"), {' and '.join(m['layout'] for m in measured)} measured in the same run, "
        f"{time.strftime('%Y-%m-%d')}, `scripts/bench-layouts --runs {args.runs} --layouts {args.layouts}` on "
        f"{os.cpu_count()} cores shared with other builds and test runs (wall times are noisy).",
        "",
        "### Objects written per run by events",
        "",
        f"`handle-event` on one S3 event document of {len(sample)} records ({args.event_runs} runs of each kind, "
        "sources on s3s-fs, local lake); Parquet objects per run from the runs' manifests, plus one manifest each. "
        "The whole per-run lake below is written by `replay --batch 1`, which lands each run as its own batch "
        "(the same plan as an event, keys `<run>.parquet` instead of `<run>-<token>.parquet`).",
        "",
        "| layout | tables per kind | Parquet objects per event: mean / max | + manifest | events/s |",
        "|---|---|---:|---:|---:|",
    ]
    for m in measured:
        counts = m["event_objects"]
        tables = "/".join(str(len(m["tables"][k])) for k in KINDS)
        lines.append(f"| {m['layout']} | {tables} (nucleotide/protein/rdrp) | {sum(counts) / len(counts):.1f} / {max(counts)} "
                     f"| {sum(counts) / len(counts) + 1:.1f} | {len(counts) / m['event_seconds']:.1f} |")

    lines += ["", "### Lake size against the floor", "",
              "The floor: each table's rows in one Parquet file sorted by `sra`, snappy, pyarrow's defaults "
              f"(pyarrow {pyarrow.__version__}), computed here. Per-run lake: `replay --batch 1`; "
              "compacted: that lake after `compact` with its defaults (`--target-mb 128`, `--max-files 1000`).",
              "",
              "| layout | kind | per-run objects | per-run MB | compacted objects | compacted MB | floor objects | floor MB | compacted / floor |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in measured:
        totals = [0] * 6
        for kind in KINDS:
            floor_objects = len(floors[kind])
            floor = sum(b for b, _ in floors[kind].values())
            (pn, pb), (cn, cb) = m["per_run"][kind], m["compacted"][kind]
            for i, v in enumerate([pn, pb, cn, cb, floor_objects, floor]):
                totals[i] += v
            lines.append(f"| {m['layout']} | {kind} | {pn:,} | {mb(pb)} | {cn:,} | {mb(cb)} | {floor_objects} | {mb(floor)} | {cb / floor:.2f} |")
        pn, pb, cn, cb, fn, fb = totals
        lines.append(f"| {m['layout']} | **all** | {pn:,} | {mb(pb)} | {cn:,} | {mb(cb)} | {fn} | {mb(fb)} | **{cb / fb:.2f}** |")
    lines += ["", "| layout | per-run lake written in | compaction | note |", "|---|---:|---:|---|"]
    for m in measured:
        lines.append(f"| {m['layout']} | {m['per_run_seconds']:.1f} s | {m['compact_seconds']:.1f} s | {m['compact_note']} |")

    lines += ["", "### DuckDB queries", "",
              f"DuckDB {duckdb.__version__} over the local lake, `hive_partitioning = true`, best of {REPEATS} warm runs "
              f"after an untimed one (one warm run where the untimed one took over {SLOW_SECONDS} s), in one connection. A run lookup is one `select` per table of the run's kind "
              "(`order by score desc` where the table has a score), timed together. run-bucket, folder: "
              "`read_parquet('LAKE/KIND/TABLE/bucket=NN/*.parquet')`; predicate: "
              "`read_parquet('LAKE/KIND/TABLE/**/*.parquet') ... and bucket = right('RUN', 2)`; score-pctid: "
              "`read_parquet('LAKE/KIND/TABLE/**/*.parquet')`, every file (nothing says where a run is). "
              "Every query returned the same rows on every lake of every layout measured (checked). Files: Parquet "
              "objects under the folders the query reads; the predicate form also lists every object of the table "
              "(its `**` glob) before DuckDB prunes the paths by `bucket`, which is what it costs more.",
              "",
              "| run lookup | rows | " + " | ".join(f"{m['layout']} {lake}" for m in measured for lake in ("per run", "compacted")) + " |",
              "|---|---:|" + "---:|" * (2 * len(measured))]
    for kind, query in lookup_names(measured[0]):
        cells = []
        for m in measured:
            for lake_name in ("per run", "compacted"):
                found = [(variant, entry) for (name, q, variant), entry in m["queries"].items() if name == lake_name and q == query]
                rows = sum(len(r) for r in found[0][1][0])
                cells.append(" / ".join(f"{entry[1] * 1000:,.0f} ms ({short_variant(variant)}, {entry[2]:,} files)"
                                        for variant, entry in found))
        lines.append(f"| {query} | {rows:,} | " + " | ".join(cells) + " |")
    lines += ["", "| family query | rows | " + " | ".join(f"{m['layout']} {lake}" for m in measured for lake in ("per run", "compacted")) + " |",
              "|---|---:|" + "---:|" * (2 * len(measured))]
    for query in [q for (name, q, _) in measured[0]["queries"] if name == "per run" and not q.startswith("run ")]:
        cells = []
        for m in measured:
            for lake_name in ("per run", "compacted"):
                results, best, files = m["queries"][(lake_name, query, "")]
                rows = sum(len(r) for r in results)
                cells.append(f"{best * 1000:,.0f} ms ({files:,} files)")
        lines.append(f"| {query} | {rows:,} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def short_variant(variant):
    return {"bucket folder": "folder", "bucket predicate": "predicate", "every partition": "all files"}[variant]


def lookup_names(figures):
    seen = []
    for (_, query, _) in figures["queries"]:
        if query.startswith("run ") and query not in [q for _, q in seen]:
            seen.append((query.split("(")[1].split(",")[0], query))
    return seen


def targets(measured, floors):
    """The issue's targets, each met or missed, per layout."""
    lines = ["### Targets (issue 13)", "", "| target | layout | figure | met |", "|---|---|---|---|"]

    def row(target, layout, figure, met):
        lines.append(f"| {target} | {layout} | {figure} | {'met' if met else '**missed**'} |")

    floor = sum(b for kind in KINDS for b, _ in floors[kind].values())
    for m in measured:
        layout = m["layout"]
        tables = {kind: len(m["tables"][kind]) for kind in KINDS}
        worst = max(count - tables[kind] for (kind, _), count in zip(m["event_sample"], m["event_objects"]))
        row("objects per event <= one per table of the kind + the manifest", layout,
            f"at most {worst:+d} against the tables of the kind (max {max(m['event_objects'])} Parquet objects + 1 manifest)",
            worst <= 0)
        compacted = sum(m["compacted"][k][1] for k in KINDS)
        row("compacted lake <= 1.5x the floor", layout, f"{compacted / floor:.2f}x ({mb(compacted)} MB / {mb(floor)} MB)",
            compacted / floor <= 1.5)
        for lake_name, limit in (("compacted", 0.1), ("per run", 1.0)):
            for variant in lookup_variants(layout):
                lookups = [(q, entry[1]) for (name, q, v), entry in m["queries"].items()
                           if name == lake_name and v == variant and q.startswith("run ")]
                row(f"all rows of one run, every table of its kind, < {limit * 1000:.0f} ms on the {lake_name} lake",
                    f"{layout} ({short_variant(variant)})",
                    "; ".join(f"{q.split(' ')[2].strip('(,')} {t * 1000:,.0f} ms" for q, t in lookups),
                    max(t for _, t in lookups) < limit)
        for needle, name in (("score >= 90", "rows of one family with score >= 90 and pctid >= 95 (RdRp: >= 75)"),
                             ("rows per family", "rows per family")):
            found = [(q, entry[1]) for (lake, q, _), entry in m["queries"].items() if lake == "compacted" and needle in q]
            row(f"{name} < 300 ms on the compacted lake", layout,
                "; ".join(f"{q.split(':')[0]} {t * 1000:,.0f} ms" for q, t in found), max(t for _, t in found) < 0.3)
    return lines + [""]


def check_same_results(measured):
    """Every query answers the same rows on every lake of every layout."""
    answers = defaultdict(list)
    for m in measured:
        for (lake_name, query, variant), (results, _, _) in m["queries"].items():
            answers[query].append(((m["layout"], lake_name, variant), canonical(results)))
    for query, found in answers.items():
        first_where, first = found[0]
        for where, results in found[1:]:
            assert results == first, f"{query}: {where} differs from {first_where}"
        assert any(first), f"{query}: no rows on any lake"


def check_same_rows(measured, floors):
    for m in measured:
        for (kind, table), rows in m["rows"].items():
            assert rows == floors[kind][table][1], f"{m['layout']} {kind}/{table}: {rows} rows, floor {floors[kind][table][1]}"


def projection(measured, corpus_runs):
    """A linear extrapolation of the measured figures to 5.7 million runs per kind."""
    scale = SERRATUS_RUNS_PER_KIND
    lines = ["### Projection to Serratus' 5.7 million runs per kind", "",
             "Extrapolated, not measured: objects and bytes per run as measured here (averaged over the three kinds), "
             "PUTs at $0.005 per 1,000 (the ingest's Parquet objects and manifests). Compacted objects follow "
             "`compact`'s chunking with its defaults (per folder, at most 1,000 per-run objects or 128 MB per output; "
             "compaction run once over the whole per-run lake; it does not merge its own outputs again). A run lookup "
             "opens every file in the folders it reads: one bucket of each table (run-bucket) or every file of the "
             "kind (score-pctid), at the cost per file measured on the compacted lake here; a family query reads its "
             "whole table, its time scaled with the runs (an upper bound: the query's fixed cost, most of it on a small "
             "corpus, is scaled too). One DuckDB on 2 cores, not Athena's workers; footers at that scale hold ~1,000 "
             "row groups (a run each) per file, more than here, so these times are an order of magnitude, no more.", "",
             "| layout | objects at ingest | PUTs at ingest | per-run lake | compacted objects | compacted lake | "
             "files per run lookup | run lookup | family filter (nucleotide family / rdrp sequence) | rows per family |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in measured:
        runs = sum(corpus_runs.values())
        per_run_objects = sum(m["per_run"][k][0] + corpus_runs[k] for k in KINDS) / runs  # + manifests
        per_run_bytes = sum(m["per_run"][k][1] for k in KINDS) / runs
        compacted_bytes = sum(m["compacted"][k][1] for k in KINDS) / runs
        compacted_objects = {}
        for kind in KINDS:
            kind_scale = scale / corpus_runs[kind]
            compacted_objects[kind] = sum(
                math.ceil(max(n * kind_scale / COMPACT_MAX_FILES, size * kind_scale / COMPACT_TARGET_BYTES))
                for n, size in m["per_run_folders"][kind].values())
        mean_objects = sum(compacted_objects.values()) / len(KINDS)
        lookup_files, lookup_seconds = [], []
        for (lake, query, variant), (_, best, files) in m["queries"].items():
            if lake == "compacted" and query.startswith("run ") and variant in ("bucket predicate", "every partition"):
                kind = query.split("(")[1].split(",")[0]
                at_scale = compacted_objects[kind] / (100 if m["layout"] == "run-bucket" else 1)
                lookup_files.append(at_scale)
                lookup_seconds.append(best / files * at_scale)
        family = []
        for needle in ("score >= 90", "rows per family"):
            times = []
            for (lake, query, _), (_, best, _) in m["queries"].items():
                if lake == "compacted" and needle in query:
                    kind = TABLE_OF_QUERY[query.split(":")[0]].split("/")[0]
                    times.append(best * scale / corpus_runs[kind])  # bytes grow with runs
            family.append(" / ".join(f"~{seconds(t)}" for t in times))
        lines.append(
            f"| {m['layout']} | {per_run_objects * scale / 1e6:,.1f} million ({per_run_objects:.1f} per run) "
            f"| ${per_run_objects * scale / 1000 * DOLLARS_PER_1000_PUTS:,.0f} | {per_run_bytes * scale / 1e9:,.0f} GB "
            f"| {mean_objects:,.0f} | {compacted_bytes * scale / 1e9:,.0f} GB "
            f"| ~{sum(lookup_files) / len(lookup_files):,.0f} | ~{seconds(sum(lookup_seconds) / len(lookup_seconds))} "
            f"| {family[0]} | {family[1]} |")
    lines += ["", "(per kind; the three kinds together are three times these.)", ""]
    return lines


def seconds(value):
    return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.0f} s"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--event-runs", type=int, default=20, help="runs of each kind landed through handle-event")
    args = parser.parse_args()
    layouts = args.layouts.split(",")
    for layout in layouts:
        if layout not in LAYOUTS:
            sys.exit(f"unknown layout {layout}")
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    corpus = os.path.join(work, "corpus")
    say(f"generating {args.runs} summaries (seed {args.seed})")
    run(["gen-corpus", "--seed", str(args.seed), "--files", str(args.runs), "--out", corpus, "--distribution", "serratus"])
    corpus_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(corpus) for f in fs)
    corpus_runs = {kind: len(runs_of(corpus, kind)) for kind in KINDS}
    # The run of each kind looked up: the median by name, as bench/backfill.py.
    lookups = {kind: runs_of(corpus, kind)[len(runs_of(corpus, kind)) // 2] for kind in KINDS}
    sample = event_sample(corpus, args.event_runs)
    s3_root = os.path.join(work, "s3")
    stage_source(corpus, s3_root)

    measured, families = [], None
    with s3s_fs(s3_root) as env:
        for layout in layouts:
            say(f"{layout}: {len(sample)} events through handle-event")
            if families is None:
                families = common_families(corpus, work)
            measured.append(measure_layout(layout, corpus, work, sample, env, lookups, families))

    say("the floor: each table in one Parquet file (pyarrow)")
    floor_source = next((m["lake"] for m in measured if m["layout"] == "run-bucket"), None)
    if floor_source is None:
        sys.exit("the floor is read from a run-bucket lake: include run-bucket in --layouts")
    floor_dir = os.path.join(work, "floor")
    os.makedirs(floor_dir)
    floors = {kind: {table: floor_bytes(floor_source, kind, table, floor_dir)
                     for table in tables_of(floor_source, kind)} for kind in KINDS}
    check_same_rows(measured, floors)
    check_same_results(measured)
    check_readme_queries(measured, lookups, families)

    lines = report(args, corpus_bytes, corpus_runs, measured, floors, sample)
    lines += targets(measured, floors)
    lines += projection(measured, corpus_runs)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def common_families(corpus, work):
    """The family each family query filters on: the one with the most rows
    at score >= 90 (and its pctid) in a throwaway run-bucket replay of the
    corpus, so the filter returns rows."""
    lake = os.path.join(work, "families")
    run(["replay", "--layout", "run-bucket", "--lake", lake, corpus])
    chosen = {}
    for _, table, column, pctid in FAMILY_TABLES:
        kind, name = table.split("/")
        found = quiet_duckdb().sql(f"select {column}, count(*) from {scan(lake, kind, name)} "
                           f"where score >= 90 and pctid >= {pctid} group by 1 order by 2 desc, 1 limit 1").fetchall()
        assert found, f"no {table} rows with score >= 90 and pctid >= {pctid}"
        chosen[table] = found[0][0]
    shutil.rmtree(lake)
    return chosen


if __name__ == "__main__":
    main()
