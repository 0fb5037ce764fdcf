"""Which runs each Parquet object of one kind holds: the (object, run)
pairs, object paths relative to the lake, sorted.

usage: object_runs.py LAKE_DIR KIND
prints [["KIND/TABLE/.../OBJECT.parquet", "SRR..."], ...]
"""
import duckdb, json, os, sys
duckdb.sql('set enable_progress_bar = false')
root, kind = sys.argv[1], sys.argv[2]
files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, kind)) for f in fs if f.endswith('.parquet') and not f.startswith('.')]
pairs = duckdb.sql(f"select distinct filename, sra from read_parquet({files!r}, filename = true, union_by_name = true)").fetchall() if files else []
print(json.dumps(sorted([os.path.relpath(f, root), s] for f, s in pairs)))
