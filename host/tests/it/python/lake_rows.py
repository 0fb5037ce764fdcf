"""Every row of the lake's tables as JSON text, sorted: equal dumps mean the
same rows. Partition columns come from the path (hive), except for the
`*/sra` tables, which have no partitions.

usage: lake_rows.py LAKE_DIR KIND/TABLE...
prints {"KIND/TABLE": ["[\"SRR...\", ...]", ...], ...}
"""
import duckdb, json, os, sys
duckdb.sql('set enable_progress_bar = false')
root, tables = sys.argv[1], sys.argv[2:]
out = {}
for table in tables:
    folder = os.path.join(root, table)
    files = [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.endswith('.parquet') and not f.startswith('.')]
    if not files:
        out[table] = []
        continue
    hive = not table.endswith('/sra')
    rel = duckdb.read_parquet(files, hive_partitioning=hive)
    out[table] = sorted(json.dumps([str(v) for v in row]) for row in rel.fetchall())
print(json.dumps(out))
