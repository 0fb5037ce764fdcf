"""Runs whose rows are not in exactly one row group of their object, by
the groups' `sra` min and max statistics (groups hold whole runs and never
share one).

usage: row_groups.py LAKE_DIR
prints [] when every run of every object is in exactly one group, else
[[OBJECT, RUN], ...]
"""
import duckdb, json, os, sys
duckdb.sql('set enable_progress_bar = false')
root = sys.argv[1]
bad = []
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.parquet'):
            continue
        path = os.path.join(d, f)
        groups = duckdb.sql(f"select row_group_id, stats_min_value, stats_max_value from parquet_metadata('{path}') where path_in_schema = 'sra'").fetchall()
        runs = [r[0] for r in duckdb.sql(f"select distinct sra from read_parquet('{path}')").fetchall()]
        for run in runs:
            if len([g for g in groups if g[1] <= run <= g[2]]) != 1:
                bad.append([path, run])
print(json.dumps(bad))
