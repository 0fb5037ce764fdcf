//! What the benchmark and the `convert_batches` example both measure with:
//! the guest's conversion called natively (what the component runs,
//! without the component), the calling thread's CPU time, and a round of
//! batches converted either way.

use std::time::Duration;

use summary_pipeline::convert::{Convert, Summary};
use summary_uploader::converter::Converter;

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
    // Named natively, as the host names a batch for the component.
    let name = summary_guest::batch_name(&inputs);
    summary_guest::convert_batch(&inputs, layout, &name).expect("converting natively")
}

/// The calling thread's CPU time: in-process figures count only the
/// converting thread, so other load on the machine skews them less.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The calling thread's CPU time of converting every batch once, through
/// `converter`, or natively without one.
pub fn convert_round(
    converter: Option<&Converter>,
    batches: &[Vec<Summary>],
    layout: summary_lake::Layout,
) -> Duration {
    let started = thread_cpu();
    for batch in batches {
        match converter {
            Some(converter) => {
                converter.convert(layout, batch).expect("converting");
            }
            None => {
                convert_natively(batch, layout);
            }
        }
    }
    thread_cpu().saturating_sub(started)
}
