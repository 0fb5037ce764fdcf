"""An independent reading of summary text, written from the format notes
(tests/fixtures/README.md), to check the lake against: what each table
should hold for a summary file."""

import pathlib

PHYLA = {
    "dupl": "Duplornaviricota",
    "kiti": "Kitrinoviricota",
    "levi": "Lenarviricota",
    "nega": "Negarnaviricota",
    "pisu": "Pisuviricota",
    "rdrp": "Unclassified",
    "var": "Deltavirus",
}
FREE_TEXT = ("topname=", "name=")


def fields(line):
    """`key=value;` pairs; a free-text key takes the rest of the line."""
    out = {}
    rest = line
    while rest:
        key, _, after = rest.partition("=")
        if key + "=" in FREE_TEXT:
            out[key] = after[:-1]
            break
        value, _, rest = after.partition(";")
        out[key] = value
    return out


def number(value):
    return None if value in (None, "?") else int(value)


def family_name(group):
    if group.startswith("Unc") and group[3:].isdigit():
        return "Unclassified-" + group[3:]
    base, dash, n = group.rpartition("-")
    return base if dash and n.isdigit() and base else group


def expected_rows(kind, path):
    """{table: [row dict in file order]}, with score/pctid for partitioned rows."""
    lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    head = fields(lines[0])
    comment = dict(kv.split("=", 1) for kv in head["SUMZER_COMMENT"].split(","))
    run = comment["sra"]
    tables = {}

    def add(table, row, f=None):
        row = {"sra": run, **row}
        if f is not None:
            row["score"], row["pctid"] = int(f["score"]), int(f["pctid"])
        tables.setdefault(table, []).append(row)

    if kind == "nucleotide":
        add("sra", {"readlength": int(head["readlength"]), "genome": comment["genome"],
                    "version": comment["version"] or None, "date": comment["date"]})
    else:
        add("sra", {"type": comment["type"], "readlength": int(head["readlength"]),
                    "genome": comment["genome"], "totalalns": int(head["totalalns"]),
                    "truncated": head["truncated"] == "yes", "excepts": number(head.get("excepts")),
                    "date": comment["date"]})
    for line in lines[1:]:
        f = fields(line)
        common = {"alns": number(f.get("alns")), "avgcols": number(f.get("avgcols"))}
        if kind == "nucleotide" and "famcvg" in f:
            add("family", {"fam": f["fam"], "famcvg": f["famcvg"], "depth": float(f["depth"]),
                           "aln": int(f["aln"]), "glb": int(f["glb"]), "len": number(f["len"]),
                           "panlen": number(f.get("panlen")), "top": f["top"],
                           "topscore": int(f["topscore"]), "toplen": number(f.get("toplen")),
                           "topname": f["topname"]}, f)
        elif kind == "nucleotide":
            add("sequence", {"seq": f["seq"], "seqcvg": f["seqcvg"], "depth": float(f["depth"]),
                             "aln": int(f["aln"]), "glb": int(f["glb"]), "len": number(f["len"]),
                             "family": f.get("family"), "name": f["name"]}, f)
        elif kind == "protein" and "famcvg" in f:
            add("family", {"fam": f["fam"], "famcvg": f["famcvg"], **common}, f)
        elif kind == "protein" and "gencvg" in f:
            fam, protein = f["gen"].split(".", 1)
            add("protein", {"fam": fam, "protein": protein, "gencvg": f["gencvg"], **common}, f)
        elif kind == "protein":
            fam, protein, seq = f["seq"].split(".", 2)
            add("sequence", {"fam": fam, "protein": protein, "seq": seq, "seqcvg": f["seqcvg"], **common}, f)
        else:
            extra = {"cat": f.get("cat"), "depth": float(f["depth"]) if "depth" in f else None, **common}
            if "phycvg" in f:
                add("phylum", {"phy": f["phy"], "phylum_name": PHYLA.get(f["phy"]),
                               "phycvg": f["phycvg"], **extra}, f)
            elif "famcvg" in f:
                phy, group = f["fam"].split(".", 1)
                add("family", {"phy": phy, "phylum_name": PHYLA.get(phy), "fam": group,
                               "family_name": family_name(group), "famcvg": f["famcvg"], **extra}, f)
            else:
                phy, group, rest = f["vir"].split(".", 2)
                virus, accession = rest.rsplit(":", 1)
                add("sequence", {"phy": phy, "phylum_name": PHYLA.get(phy), "fam": group,
                                 "family_name": family_name(group), "virus_name": virus,
                                 "sequence_accession": accession, "vircvg": f["vircvg"], **extra}, f)
    return tables
