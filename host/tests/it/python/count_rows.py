"""The number of rows in the Parquet files a glob matches, partition
columns from the path (hive).

usage: count_rows.py GLOB
prints the count
"""
import duckdb, sys
# No progress bar: on a busy machine DuckDB draws one on stdout.
duckdb.sql("set enable_progress_bar = false")
glob = sys.argv[1]
print(duckdb.sql(f"select count(*) from read_parquet('{glob}', hive_partitioning = true)").fetchall()[0][0])
