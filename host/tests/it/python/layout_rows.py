"""Every row of the lake's tables, read by DuckDB and by pyarrow with hive
partitioning, as JSON text sorted: a table's own columns plus `score` and
`pctid` (from the path in the score-pctid layout, from the files in the
run-bucket layout), the `bucket` partition column left out. Equal dumps
mean the same rows whatever the layout.

usage: layout_rows.py LAKE_DIR KIND/TABLE...
prints {"duckdb": {"KIND/TABLE": [...]}, "pyarrow": {...}, "buckets": {...}}
where "buckets" says, per table, whether every row's `bucket` partition is
the last two digits of its `sra` (null for a lake without buckets).
"""
import duckdb, json, os, sys
import pyarrow.dataset as ds

duckdb.sql('set enable_progress_bar = false')
root, tables = sys.argv[1], sys.argv[2:]
out = {"duckdb": {}, "pyarrow": {}, "buckets": {}}


def rows(columns, records):
    keep = sorted(c for c in columns if c != "bucket")
    return sorted(json.dumps([str(r[c]) for c in keep]) for r in records)


for table in tables:
    folder = os.path.join(root, table)
    files = [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs
             if f.endswith('.parquet') and not f.startswith('.')]
    if not files:
        out["duckdb"][table] = out["pyarrow"][table] = []
        out["buckets"][table] = None
        continue
    hive = any("=" in d for d, _, _ in os.walk(folder))
    rel = duckdb.read_parquet(files, hive_partitioning=hive)
    records = [dict(zip(rel.columns, row)) for row in rel.fetchall()]
    out["duckdb"][table] = rows(rel.columns, records)
    if "bucket" in rel.columns:
        # DuckDB reads an all-digit partition value as a number: 05 is 5.
        out["buckets"][table] = all(str(r["bucket"]).zfill(2) == r["sra"][-2:] for r in records)
    else:
        out["buckets"][table] = None
    dataset = ds.dataset(folder, format="parquet", partitioning="hive" if hive else None,
                         exclude_invalid_files=False, ignore_prefixes=[".", "_"])
    arrow = dataset.to_table().to_pylist()
    # pyarrow reads an all-digit bucket like "05" as the integer 5.
    out["pyarrow"][table] = rows(dataset.schema.names, arrow)
print(json.dumps(out))
