//! The WASI component export: maps `wit/summary.wit` onto the library.

use exports::serratus::summary::converter as wit;
use summary_lake::{BatchName, Kind, Layout};

wit_bindgen::generate!({
    path: "../wit",
    world: "summary-converter",
});

struct Converter;

fn kind_from_wit(kind: wit::Kind) -> Kind {
    match kind {
        wit::Kind::Nucleotide => Kind::Nucleotide,
        wit::Kind::Protein => Kind::Protein,
        wit::Kind::Rdrp => Kind::Rdrp,
    }
}

fn kind_to_wit(kind: Kind) -> wit::Kind {
    match kind {
        Kind::Nucleotide => wit::Kind::Nucleotide,
        Kind::Protein => wit::Kind::Protein,
        Kind::Rdrp => wit::Kind::Rdrp,
    }
}

fn layout_from_wit(layout: wit::Layout) -> Layout {
    match layout {
        wit::Layout::ScorePctid => Layout::ScorePctid,
        wit::Layout::RunBucket => Layout::RunBucket,
    }
}

impl wit::Guest for Converter {
    fn convert(
        layout: wit::Layout,
        batch_name: String,
        summaries: Vec<wit::Summary>,
    ) -> Result<wit::Batch, String> {
        // Checked, not recomputed: hashing every input byte here was 18%
        // of the component's instructions; the host does it natively.
        let name = BatchName::parse(&batch_name)?;
        let inputs: Vec<crate::SummaryInput> = summaries
            .iter()
            .map(|s| crate::SummaryInput {
                kind: kind_from_wit(s.kind),
                source: &s.source,
                bytes: &s.bytes,
            })
            .collect();
        let batch = crate::convert_batch(&inputs, layout_from_wit(layout), &name)?;
        Ok(wit::Batch {
            outcomes: batch
                .outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    crate::Outcome::Converted { run, tables } => {
                        wit::Outcome::Converted(wit::Converted {
                            run,
                            tables: tables
                                .into_iter()
                                .map(|t| wit::TableCount {
                                    table: t.table.to_string(),
                                    rows: t.rows,
                                })
                                .collect(),
                        })
                    }
                    crate::Outcome::Failed(e) => wit::Outcome::Failed(wit::ParseError {
                        line: e.line,
                        field: e.field,
                        message: e.message,
                    }),
                })
                .collect(),
            objects: batch
                .objects
                .into_iter()
                .map(|o| wit::ParquetObject {
                    key: o.key,
                    kind: kind_to_wit(o.kind),
                    table: o.table.to_string(),
                    partition: o.partition.map(|p| wit::Partition {
                        score: p.score,
                        pctid: p.pctid,
                    }),
                    rows: o.rows,
                    runs: o.runs,
                    bytes: o.bytes,
                })
                .collect(),
        })
    }

    fn merge(
        layout: wit::Layout,
        kind: wit::Kind,
        table: String,
        parts: Vec<Vec<u8>>,
        drop_runs: Vec<String>,
    ) -> Result<Option<wit::Merged>, String> {
        let kind = kind_from_wit(kind);
        let table = summary_lake::catalog::table(kind, &table)
            .ok_or_else(|| format!("{kind}/{table} is not a lake table"))?;
        let table = summary_lake::catalog::file_table(table, layout_from_wit(layout));
        Ok(
            crate::merge(table, &parts, &drop_runs)?.map(|m| wit::Merged {
                rows: m.rows,
                runs: m.runs,
                bytes: m.bytes,
            }),
        )
    }
}

export!(Converter);
