//! Any bytes, any kind: the parser answers rows or a precise error and never
//! panics; a batch of the input beside a good summary never loses the good one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use summary_guest::{convert_batch, parse_summary, Kind, Outcome, SummaryInput};

const GOOD: &[u8] = b"sra=SRR3;SUMZER_COMMENT=sra=SRR3,genome=rdrp1,date=210115-21:35,type=protein;totalalns=1;readlength=1;truncated=no;\n";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let kind = Kind::ALL[selector as usize % 3];
    if let Err(error) = parse_summary(kind, bytes) {
        assert!(error.line >= 1, "lines count from 1");
    }
    if selector & 0x80 != 0 {
        let inputs = [
            SummaryInput { kind: Kind::Rdrp, source: "good", bytes: GOOD },
            SummaryInput { kind, source: "fuzz", bytes },
        ];
        let name = summary_guest::batch_name(&inputs);
        let batch = convert_batch(&inputs, summary_guest::Layout::ScorePctid, &name).expect("encoding never fails");
        assert!(matches!(batch.outcomes[0], Outcome::Converted { .. }), "the good summary converts");
    }
});
