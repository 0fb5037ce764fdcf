//! The converter, imported: the guest component satisfies this import
//! (`spin.toml` names it as a component dependency), so the same parser
//! binary serves both hosts. The answer becomes the pipeline's plain types
//! through `batch_from_wit!`, the mapping the native host uses too.

use summary_lake::{Kind, Layout};
use summary_pipeline::convert::{Batch, Convert, ConvertError, Merged, Summary};

wit_bindgen::generate!({
    path: "../wit",
    world: "converter-client",
});

use serratus::summary::converter as wit;

pub struct ImportedConverter;

impl Convert for ImportedConverter {
    fn convert(&self, layout: Layout, summaries: &[Summary]) -> Result<Batch, ConvertError> {
        let batch_name = summary_pipeline::convert::batch_name(summaries);
        let summaries: Vec<wit::Summary> = summaries
            .iter()
            .map(|s| wit::Summary {
                kind: kind_to_wit(s.kind),
                source: s.source.clone(),
                bytes: s.bytes.clone(),
            })
            .collect();
        // A guest trap traps this whole component: Spin answers 500 and the
        // sender redelivers; there is no separate store to catch it in.
        let batch = wit::convert(layout_to_wit(layout), batch_name.as_str(), &summaries).map_err(
            |message| ConvertError::Failed(format!("the converter refused the batch: {message}")),
        )?;
        Ok(summary_pipeline::batch_from_wit!(batch, wit))
    }

    fn merge(
        &self,
        layout: Layout,
        kind: Kind,
        table: &str,
        parts: &[Vec<u8>],
        drop_runs: &[String],
    ) -> Result<Option<Merged>, ConvertError> {
        let merged = wit::merge(
            layout_to_wit(layout),
            kind_to_wit(kind),
            table,
            parts,
            drop_runs,
        )
        .map_err(|message| {
            ConvertError::Failed(format!(
                "the converter could not merge {kind}/{table}: {message}"
            ))
        })?;
        Ok(merged.map(|m| Merged {
            rows: m.rows,
            runs: m.runs,
            bytes: m.bytes,
        }))
    }
}

fn layout_to_wit(layout: Layout) -> wit::Layout {
    match layout {
        Layout::ScorePctid => wit::Layout::ScorePctid,
        Layout::RunBucket => wit::Layout::RunBucket,
    }
}

fn kind_to_wit(kind: Kind) -> wit::Kind {
    match kind {
        Kind::Nucleotide => wit::Kind::Nucleotide,
        Kind::Protein => wit::Kind::Protein,
        Kind::Rdrp => wit::Kind::Rdrp,
    }
}
