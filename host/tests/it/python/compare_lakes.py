"""Compares two lakes object by object: Parquet schema, the Arrow schema
pyarrow reads, key-value metadata, row count and rows (pyarrow).

    python compare_lakes.py OLD_LAKE NEW_LAKE

How issue 14 checked that the low-level writer keeps the schemas and rows
of the Arrow writer it replaced (the fixtures replayed with main's component
and with the new one, with and without --batch 1).
"""
import sys, os, pyarrow.parquet as pq
old, new = sys.argv[1], sys.argv[2]
def files(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith('.parquet') and not f.startswith('.'):
                out.add(os.path.relpath(os.path.join(d, f), root))
    return out
a, b = files(old), files(new)
print('objects', len(a), len(b), 'only old', len(a - b), 'only new', len(b - a))
bad = 0
for rel in sorted(a & b):
    x, y = pq.ParquetFile(os.path.join(old, rel)), pq.ParquetFile(os.path.join(new, rel))
    for what, f in [('parquet schema', lambda p: str(p.schema).split('\n', 1)[1]), ('arrow schema', lambda p: p.schema_arrow),
                    ('kv metadata', lambda p: p.metadata.metadata), ('rows', lambda p: p.read().to_pylist()),
                    ('num_rows', lambda p: p.metadata.num_rows)]:
        if f(x) != f(y):
            bad += 1
            if bad < 10: print('DIFF', what, rel)
sizes = lambda root, fs: sum(os.path.getsize(os.path.join(root, r)) for r in fs)
print('differences', bad, 'bytes old', sizes(old, a), 'new', sizes(new, b))
