"""The pipeline we replace, as the original uploader did it: parse each
summary line into Python dicts, build one pandas DataFrame per table for
all files of a kind (which flatters it: the original wrote per batch), and
write Parquet with pyarrow partitioned by score and pctid, snappy.

Usage: baseline.py CORPUS_DIR OUT_DIR  -> prints one JSON line of figures.
"""

import json
import pathlib
import sys
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FREE_TEXT = ("topname", "name")


def fields(line):
    out = {}
    rest = line
    while rest:
        key, _, after = rest.partition("=")
        if key in FREE_TEXT:
            out[key] = after[:-1]
            break
        value, _, rest = after.partition(";")
        out[key] = value
    return out


def parse(kind, text):
    """{table: [row dict]} for one summary, the way the uploader's parser did."""
    lines = text.splitlines()
    head = fields(lines[0])
    comment = dict(kv.split("=", 1) for kv in head.pop("SUMZER_COMMENT").split(","))
    run = comment["sra"]
    tables = {"sra": [{**comment, **{k: v for k, v in head.items() if k != "sra"}}]}
    sections = {
        "nucleotide": {"famcvg": "family", "seqcvg": "sequence"},
        "protein": {"famcvg": "family", "gencvg": "protein", "seqcvg": "sequence"},
        "rdrp": {"phycvg": "phylum", "famcvg": "family", "vircvg": "sequence"},
    }[kind]
    for line in lines[1:]:
        row = fields(line)
        row["sra"] = run
        table = next(t for k, t in sections.items() if k in row)
        if kind == "protein" and table == "protein":
            row["fam"], row["protein"] = row.pop("gen").split(".", 1)
        elif kind == "protein" and table == "sequence":
            row["fam"], row["protein"], row["seq"] = row["seq"].split(".", 2)
        elif kind == "rdrp" and table == "family":
            row["phy"], row["fam"] = row["fam"].split(".", 1)
        elif kind == "rdrp" and table == "sequence":
            row["phy"], row["fam"], rest = row.pop("vir").split(".", 2)
            row["virus_name"], row["sequence_accession"] = rest.rsplit(":", 1)
        tables.setdefault(table, []).append(row)
    return tables


NUMERIC = {"score", "pctid", "aln", "glb", "len", "panlen", "topscore", "toplen", "alns", "avgcols",
           "readlength", "totalalns"}


def main():
    corpus, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    total_bytes = sum(p.stat().st_size for p in files)
    started = time.perf_counter()
    for kind in ("nucleotide", "protein", "rdrp"):
        rows = {}
        for path in sorted((corpus / kind).iterdir()):
            for table, table_rows in parse(kind, path.read_text(encoding="utf-8")).items():
                rows.setdefault(table, []).extend(table_rows)
        for table, table_rows in rows.items():
            frame = pd.DataFrame(table_rows)
            for column in frame.columns:
                if column in NUMERIC:
                    frame[column] = pd.to_numeric(frame[column].replace("?", None))
                elif column == "depth":
                    frame[column] = frame[column].astype(float)
            target = out / kind / table
            if table == "sra":
                target.mkdir(parents=True, exist_ok=True)
                pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target / "part.parquet",
                               compression="snappy")
            else:
                pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), root_path=str(target),
                                    partition_cols=["score", "pctid"], compression="snappy",
                                    max_partitions=10_201)
    seconds = time.perf_counter() - started
    objects = sum(1 for p in out.rglob("*.parquet"))
    print(json.dumps({"files": len(files), "bytes": total_bytes, "seconds": seconds, "objects": objects,
                      "mb_per_s": total_bytes / 1e6 / seconds, "files_per_s": len(files) / seconds}))


if __name__ == "__main__":
    main()
