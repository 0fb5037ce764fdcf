//! The guest's conversion called natively: what the component runs,
//! without the component. Shared by the benchmark and the
//! `convert_batches` example.

use summary_pipeline::convert::Summary;

pub fn convert_natively(
    summaries: &[Summary],
    layout: summary_lake::Layout,
) -> summary_guest::Batch {
    let inputs: Vec<summary_guest::SummaryInput> = summaries
        .iter()
        .map(|s| summary_guest::SummaryInput {
            kind: s.kind.into(),
            source: &s.source,
            bytes: &s.bytes,
        })
        .collect();
    summary_guest::convert_batch(&inputs, layout).expect("converting natively")
}
