//! Every table of the lake: its columns and types, exactly as the Parquet
//! files hold them (the Glue catalog is derived from the same list).

use std::sync::OnceLock;

use crate::{Kind, Layout};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 string (Athena `string`).
    Text,
    /// 64-bit signed integer (Athena `bigint`).
    BigInt,
    /// 32-bit signed integer (Athena `int`): `score` and `pctid` inside the
    /// files of the `run-bucket` layout, typed as the partition keys were.
    Int,
    /// IEEE double (Athena `double`).
    Double,
    /// Athena `boolean`.
    Boolean,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub kind: Kind,
    /// Directory name under the kind, e.g. `family`.
    pub name: &'static str,
    /// Name in the Glue catalog (the Athena-era name), e.g. `nfamily`.
    pub glue_name: &'static str,
    /// Whether rows are partitioned by `score` and `pctid` in the
    /// `score-pctid` layout (in the path, not in the file). In the
    /// `run-bucket` layout they are columns: see [`file_table`].
    pub partitioned: bool,
    pub columns: &'static [Column],
}

impl Table {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Text,
        nullable: false,
    }
}
const fn opt_text(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Text,
        nullable: true,
    }
}
const fn int(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::BigInt,
        nullable: false,
    }
}
const fn opt_int(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::BigInt,
        nullable: true,
    }
}
const fn double(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Double,
        nullable: false,
    }
}
const fn opt_double(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Double,
        nullable: true,
    }
}
const fn boolean(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Boolean,
        nullable: false,
    }
}

/// The partition columns of every partitioned table, in path order.
pub const PARTITION_COLUMNS: [&str; 2] = ["score", "pctid"];

/// The partition key of every table in the `run-bucket` layout.
pub const BUCKET_COLUMN: &str = "bucket";

const fn int32(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Int,
        nullable: false,
    }
}

/// The table as its files hold it in `layout`. In `run-bucket`, the files
/// of a partitioned table end with `score` and `pctid` columns (`int`, as
/// the partition keys were); the run tables are the same in both layouts.
pub fn file_table(table: &'static Table, layout: Layout) -> &'static Table {
    static BUCKETED: OnceLock<Vec<Table>> = OnceLock::new();
    if layout == Layout::ScorePctid || !table.partitioned {
        return table;
    }
    let bucketed = BUCKETED.get_or_init(|| {
        TABLES
            .iter()
            .map(|t| {
                let mut columns = t.columns.to_vec();
                if t.partitioned {
                    columns.extend(PARTITION_COLUMNS.map(int32));
                }
                Table {
                    kind: t.kind,
                    name: t.name,
                    glue_name: t.glue_name,
                    partitioned: false,
                    // Built once per process, for the process' lifetime.
                    columns: Vec::leak(columns),
                }
            })
            .collect()
    });
    let index = TABLES
        .iter()
        .position(|t| std::ptr::eq(*t, table) || t.glue_name == table.glue_name)
        .expect("every table is in TABLES");
    &bucketed[index]
}

pub static NUCLEOTIDE_SRA: Table = Table {
    kind: Kind::Nucleotide,
    name: "sra",
    glue_name: "nsra",
    partitioned: false,
    columns: &[
        text("sra"),
        int("readlength"),
        text("genome"),
        opt_text("version"),
        text("date"),
    ],
};

pub static NUCLEOTIDE_FAMILY: Table = Table {
    kind: Kind::Nucleotide,
    name: "family",
    glue_name: "nfamily",
    partitioned: true,
    columns: &[
        text("sra"),
        text("fam"),
        text("famcvg"),
        double("depth"),
        int("aln"),
        int("glb"),
        opt_int("len"),
        opt_int("panlen"),
        text("top"),
        int("topscore"),
        opt_int("toplen"),
        text("topname"),
    ],
};

pub static NUCLEOTIDE_SEQUENCE: Table = Table {
    kind: Kind::Nucleotide,
    name: "sequence",
    glue_name: "nsequence",
    partitioned: true,
    columns: &[
        text("sra"),
        text("seq"),
        text("seqcvg"),
        double("depth"),
        int("aln"),
        int("glb"),
        opt_int("len"),
        opt_text("family"),
        text("name"),
    ],
};

const PROTEIN_RUN_COLUMNS: &[Column] = &[
    text("sra"),
    text("type"),
    int("readlength"),
    text("genome"),
    int("totalalns"),
    boolean("truncated"),
    opt_int("excepts"),
    text("date"),
];

pub static PROTEIN_SRA: Table = Table {
    kind: Kind::Protein,
    name: "sra",
    glue_name: "psra",
    partitioned: false,
    columns: PROTEIN_RUN_COLUMNS,
};

pub static PROTEIN_FAMILY: Table = Table {
    kind: Kind::Protein,
    name: "family",
    glue_name: "pfamily",
    partitioned: true,
    columns: &[
        text("sra"),
        text("fam"),
        text("famcvg"),
        int("alns"),
        int("avgcols"),
    ],
};

pub static PROTEIN_PROTEIN: Table = Table {
    kind: Kind::Protein,
    name: "protein",
    glue_name: "protein",
    partitioned: true,
    columns: &[
        text("sra"),
        text("fam"),
        text("protein"),
        text("gencvg"),
        int("alns"),
        int("avgcols"),
    ],
};

pub static PROTEIN_SEQUENCE: Table = Table {
    kind: Kind::Protein,
    name: "sequence",
    glue_name: "psequence",
    partitioned: true,
    columns: &[
        text("sra"),
        text("fam"),
        text("protein"),
        text("seq"),
        text("seqcvg"),
        int("alns"),
        int("avgcols"),
    ],
};

pub static RDRP_SRA: Table = Table {
    kind: Kind::Rdrp,
    name: "sra",
    glue_name: "rsra",
    partitioned: false,
    columns: PROTEIN_RUN_COLUMNS,
};

pub static RDRP_PHYLUM: Table = Table {
    kind: Kind::Rdrp,
    name: "phylum",
    glue_name: "rphylum",
    partitioned: true,
    columns: &[
        text("sra"),
        text("phy"),
        opt_text("phylum_name"),
        text("phycvg"),
        opt_text("cat"),
        opt_double("depth"),
        int("alns"),
        int("avgcols"),
    ],
};

pub static RDRP_FAMILY: Table = Table {
    kind: Kind::Rdrp,
    name: "family",
    glue_name: "rfamily",
    partitioned: true,
    columns: &[
        text("sra"),
        text("phy"),
        opt_text("phylum_name"),
        text("fam"),
        text("family_name"),
        text("famcvg"),
        opt_text("cat"),
        opt_double("depth"),
        int("alns"),
        int("avgcols"),
    ],
};

pub static RDRP_SEQUENCE: Table = Table {
    kind: Kind::Rdrp,
    name: "sequence",
    glue_name: "rsequence",
    partitioned: true,
    columns: &[
        text("sra"),
        text("phy"),
        opt_text("phylum_name"),
        text("fam"),
        text("family_name"),
        text("virus_name"),
        text("sequence_accession"),
        text("vircvg"),
        opt_text("cat"),
        opt_double("depth"),
        int("alns"),
        int("avgcols"),
    ],
};

/// All tables, grouped by kind, the run (`sra`) table of each kind first.
pub static TABLES: [&Table; 11] = [
    &NUCLEOTIDE_SRA,
    &NUCLEOTIDE_FAMILY,
    &NUCLEOTIDE_SEQUENCE,
    &PROTEIN_SRA,
    &PROTEIN_FAMILY,
    &PROTEIN_PROTEIN,
    &PROTEIN_SEQUENCE,
    &RDRP_SRA,
    &RDRP_PHYLUM,
    &RDRP_FAMILY,
    &RDRP_SEQUENCE,
];

/// The tables of one kind, run table first.
pub fn tables_of(kind: Kind) -> impl Iterator<Item = &'static Table> {
    TABLES.iter().copied().filter(move |t| t.kind == kind)
}

/// Looks a table up by kind and directory name.
pub fn table(kind: Kind, name: &str) -> Option<&'static Table> {
    tables_of(kind).find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_sra_and_names_are_unique() {
        let mut glue: Vec<_> = TABLES.iter().map(|t| t.glue_name).collect();
        glue.sort();
        glue.dedup();
        assert_eq!(glue.len(), TABLES.len());
        for t in TABLES {
            assert_eq!(t.columns[0], text("sra"), "{}", t.glue_name);
            for p in PARTITION_COLUMNS {
                assert!(
                    t.column_index(p).is_none(),
                    "{} holds partition column {p}",
                    t.glue_name
                );
            }
            assert_eq!(t.partitioned, t.name != "sra");
        }
    }

    #[test]
    fn run_bucket_files_hold_score_and_pctid_as_int_columns() {
        let family = file_table(&NUCLEOTIDE_FAMILY, Layout::RunBucket);
        let names: Vec<_> = family.columns.iter().map(|c| c.name).collect();
        assert_eq!(names[..2], ["sra", "fam"]);
        assert_eq!(names[names.len() - 2..], ["score", "pctid"]);
        assert_eq!(family.columns.last().unwrap().ty, ColumnType::Int);
        assert_eq!(family.columns.len(), NUCLEOTIDE_FAMILY.columns.len() + 2);
        assert!(std::ptr::eq(
            file_table(&NUCLEOTIDE_FAMILY, Layout::ScorePctid),
            &NUCLEOTIDE_FAMILY
        ));
        assert!(std::ptr::eq(
            file_table(&RDRP_SRA, Layout::RunBucket),
            &RDRP_SRA
        ));
        assert!(std::ptr::eq(file_table(family, Layout::RunBucket), family));
    }

    #[test]
    fn lookup_by_kind_and_name() {
        assert_eq!(table(Kind::Rdrp, "phylum").unwrap().glue_name, "rphylum");
        assert_eq!(
            table(Kind::Protein, "protein").unwrap().glue_name,
            "protein"
        );
        assert!(table(Kind::Nucleotide, "protein").is_none());
        assert_eq!(tables_of(Kind::Protein).count(), 4);
    }
}
