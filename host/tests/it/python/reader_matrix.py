"""Reads every Parquet object of a lake with one reader and prints, as JSON,
each object's column names, column types and a digest of its rows.

    python reader_matrix.py READER LAKE      READER: pyarrow, duckdb or polars
    python reader_matrix.py stats LAKE       pyarrow's min/max statistics check

Values are put in one canonical form (text, int, float as repr, bool, None)
before hashing, so that readers agree exactly when they read the same rows.
Run by host/tests/it/reader_matrix.rs; each reader in the interpreter that has it.
"""

import hashlib
import json
import os
import sys


def objects(lake):
    out = []
    for d, _, files in os.walk(lake):
        for f in files:
            if f.endswith(".parquet") and not f.startswith("."):
                out.append(os.path.relpath(os.path.join(d, f), lake))
    return sorted(out)


def canonical(value):
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"unexpected value {value!r} ({type(value).__name__})")


def entry(names, types, rows):
    rows = [[canonical(v) for v in row] for row in rows]
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    return {"columns": names, "types": types, "rows": len(rows), "digest": digest}


def type_name(text):
    text = str(text).lower()
    for name, words in [
        ("text", ("string", "varchar", "utf8", "str")),
        ("int64", ("int64", "bigint")),
        ("int32", ("int32", "integer")),
        ("double", ("double", "float64")),
        ("bool", ("bool",)),
    ]:
        if any(w in text for w in words):
            return name
    return text


def read_pyarrow(path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = [list(r.values()) for r in table.to_pylist()]
    return entry(table.column_names, [type_name(t) for t in table.schema.types], rows)


def read_duckdb(path, con):
    rel = con.sql(f"select * from read_parquet('{path}', hive_partitioning = false)")
    return entry(rel.columns, [type_name(t) for t in rel.types], [list(r) for r in rel.fetchall()])


def read_polars(path):
    import polars as pl

    frame = pl.read_parquet(path, hive_partitioning=False)
    return entry(frame.columns, [type_name(t) for t in frame.dtypes], [list(r) for r in frame.rows()])


def stats(lake):
    """Every row group of every object has min/max statistics for sra, the
    integer (count) columns and depth wherever the column holds a value."""
    import pyarrow.parquet as pq

    missing, checked = [], 0
    for rel in objects(lake):
        meta = pq.ParquetFile(os.path.join(lake, rel)).metadata
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                column = group.column(c)
                name = column.path_in_schema
                wanted = name in ("sra", "depth") or column.physical_type == "INT64"
                if not wanted:
                    continue
                s = column.statistics
                if s is not None and s.has_null_count and s.null_count == group.num_rows:
                    continue  # all null: nothing to bound
                checked += 1
                if s is None or not s.has_min_max:
                    missing.append(f"{rel} group {g} {name}")
                elif name == "sra" and not (s.min <= s.max):
                    missing.append(f"{rel} group {g} sra min {s.min!r} > max {s.max!r}")
    print(json.dumps({"checked": checked, "missing": missing}))


def main():
    reader, lake = sys.argv[1], sys.argv[2]
    if reader == "stats":
        return stats(lake)
    out = {}
    if reader == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.sql("set threads = 1")
        con.sql("set enable_progress_bar = false")
        read = lambda p: read_duckdb(p, con)
    else:
        read = {"pyarrow": read_pyarrow, "polars": read_polars}[reader]
    for rel in objects(lake):
        try:
            out[rel] = read(os.path.join(lake, rel))
        except Exception as e:  # the test prints which object and why
            out[rel] = {"error": f"{type(e).__name__}: {e}"}
    version = ""
    if reader == "polars":
        import polars

        version = polars.__version__
    print(json.dumps({"reader": reader, "version": version, "objects": out}))


if __name__ == "__main__":
    main()
