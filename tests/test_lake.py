"""The replayed lake, read back with pyarrow and DuckDB (hive partitioning),
holds exactly the rows of the summary text."""

import collections

import duckdb
import pyarrow.dataset as ds
import pytest

from conftest import FIXTURES, layout_of
from summary_text import expected_rows

KINDS = ("nucleotide", "protein", "rdrp")
TABLES = {
    "nucleotide": ("sra", "family", "sequence"),
    "protein": ("sra", "family", "protein", "sequence"),
    "rdrp": ("sra", "phylum", "family", "sequence"),
}
# One file of each kind, with every section present, checked column by column.
DETAILED = {
    "nucleotide": "DRR11074882.summary",
    "protein": "ERR4371355.psummary",
    "rdrp": "DRR13913260.rsummary.psummary",
}


def fixture_files(kind):
    return sorted((FIXTURES / kind).iterdir())


def glob(lake, kind, table):
    flat = table == "sra" and layout_of(lake) == "score-pctid"
    return str(lake / kind / table / ("*.parquet" if flat else "**/*.parquet"))


def without_bucket(row):
    """A row without the run-bucket layout's partition column (`bucket`, the
    run's last two digits: checked by test_partition_values_match_the_rows_in_them)."""
    return {k: v for k, v in row.items() if k != "bucket"}


def duckdb_rows(lake, kind, table, run):
    rel = duckdb.execute(
        f"select * from read_parquet('{glob(lake, kind, table)}', hive_partitioning = true) where sra = ?",
        [run],
    )
    names = [d[0] for d in rel.description]
    return [without_bucket(dict(zip(names, row))) for row in rel.fetchall()]


def pyarrow_rows(lake, kind, table, run):
    dataset = ds.dataset(lake / kind / table, format="parquet", partitioning="hive")
    return [without_bucket(r) for r in dataset.to_table(filter=ds.field("sra") == run).to_pylist()]


def normalize(rows):
    """Rows as sorted tuples of items, so order within a partition does not matter."""
    return sorted(tuple(sorted((k, v) for k, v in row.items())) for row in rows)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", ["duckdb", "pyarrow"])
def test_rows_equal_the_summary_text_column_by_column(lake, kind, reader):
    path = FIXTURES / kind / DETAILED[kind]
    expected = expected_rows(kind, path)
    run = expected["sra"][0]["sra"]
    read = duckdb_rows if reader == "duckdb" else pyarrow_rows
    for table in TABLES[kind]:
        want = expected.get(table, [])
        got = read(lake, kind, table, run)
        assert len(got) == len(want) > 0, f"{kind}/{table}"
        for row in got:
            assert set(row) == set(want[0]), f"{kind}/{table} columns"
        assert normalize(got) == normalize(want), f"{kind}/{table}"


def test_types_are_athena_friendly(lake):
    rel = duckdb.sql(f"select * from read_parquet('{glob(lake, 'nucleotide', 'family')}', hive_partitioning = true) limit 1")
    types = dict(zip(rel.columns, map(str, rel.types)))
    assert types["depth"] == "DOUBLE" and types["aln"] == "BIGINT" and types["topname"] == "VARCHAR"
    schema = ds.dataset(lake / "protein" / "sra", format="parquet").schema
    assert str(schema.field("truncated").type) == "bool"
    assert str(schema.field("totalalns").type) == "int64"
    family = ds.dataset(lake / "rdrp" / "family", format="parquet").schema
    if layout_of(lake) == "score-pctid":
        # partition columns live in the path only
        assert "score" not in family.names and "pctid" not in family.names
    else:
        # in the files, typed as the score-pctid partition keys were (int)
        assert str(family.field("score").type) == "int32" and str(family.field("pctid").type) == "int32"
        assert "bucket" not in family.names


@pytest.mark.parametrize("kind", KINDS)
def test_total_row_counts_equal_the_text_for_all_fixtures(lake, kind):
    want = collections.Counter()
    per_run = collections.Counter()
    for path in fixture_files(kind):
        for table, rows in expected_rows(kind, path).items():
            want[table] += len(rows)
            per_run[(table, rows[0]["sra"])] += len(rows)
    assert len(fixture_files(kind)) == 20
    for table in TABLES[kind]:
        got = duckdb.sql(f"select count(*) from read_parquet('{glob(lake, kind, table)}', hive_partitioning = true)").fetchall()[0][0]
        assert got == want[table], f"{kind}/{table}"
        by_run = duckdb.sql(
            f"select sra, count(*) from read_parquet('{glob(lake, kind, table)}', hive_partitioning = true) group by sra"
        ).fetchall()
        assert {(table, r): n for r, n in by_run} == {k: v for k, v in per_run.items() if k[0] == table}


def test_partition_values_match_the_rows_in_them(lake):
    rows = duckdb.sql(
        f"select score, pctid, count(*) from read_parquet('{glob(lake, 'nucleotide', 'sequence')}', hive_partitioning = true) "
        "group by all order by all"
    ).fetchall()
    want = collections.Counter()
    for path in fixture_files("nucleotide"):
        for row in expected_rows("nucleotide", path).get("sequence", []):
            want[(row["score"], row["pctid"])] += 1
    assert rows == sorted((s, p, n) for (s, p), n in want.items())
    if layout_of(lake) == "run-bucket":
        # every row in the bucket of its run: DuckDB reads `05` as 5
        misplaced = duckdb.sql(
            f"select count(*) from read_parquet('{glob(lake, 'nucleotide', 'sequence')}', hive_partitioning = true) "
            "where bucket::int != right(sra, 2)::int"
        ).fetchall()[0][0]
        assert misplaced == 0


def test_top_families_query_from_the_readme(lake):
    got = duckdb.sql(
        f"""select fam, score, pctid, aln, topname
            from read_parquet('{glob(lake, 'nucleotide', 'family')}', hive_partitioning = true)
            where sra = 'DRR11074882' order by score desc, aln desc limit 3"""
    ).fetchall()
    assert got == [
        ("Coronaviridae", 100, 91, 928, "Severe acute respiratory syndrome coronavirus 2 isolate Wuhan-Hu-1, complete genome"),
        ("Paramyxoviridae", 100, 92, 610, "Rousettus bat coronavirus isolate GCCDC1 356"),
        ("Hepadnaviridae", 100, 92, 425, "Bat coronavirus HKU4-1; complete genome"),
    ]
