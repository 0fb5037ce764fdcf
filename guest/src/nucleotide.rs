//! Nucleotide `.summary` lines (no `sra=` prefix):
//! `readlength=N;SUMZER_COMMENT=sra=..,genome=..,version=..,date=..;`, then
//! `famcvg=` (family) and `seqcvg=` (sequence) lines.

use crate::error::ParseResult;
use crate::format::{Format, TableRows, HEADER_KEY};
use crate::record::{CommaFields, Record};
use crate::value::Value;

pub(crate) static FORMAT: Format = Format {
    section_keys: &[HEADER_KEY, "famcvg", "seqcvg"],
    free_text_keys: &["topname", "name"],
    run_prefix: false,
};

/// Reads the header into the run table; returns the run.
pub(crate) fn parse_header<'a>(
    record: &mut Record<'a>,
    runs: &mut TableRows<'a>,
) -> ParseResult<&'a str> {
    let readlength = record.int("readlength")?;
    let mut comment = CommaFields::parse(record.line(), HEADER_KEY, record.text(HEADER_KEY)?)?;
    let run = crate::run_id(record.line(), comment.text("sra")?)?;
    let genome = comment.text("genome")?;
    // Local runs of the pipeline wrote an empty `version=`.
    let version = comment.text_or_empty("version")?;
    let date = comment.text("date")?;
    comment.finish()?;
    runs.push(
        None,
        [
            Value::text(run),
            Value::Int(readlength),
            Value::text(genome),
            Value::opt_text(version),
            Value::text(date),
        ],
    );
    Ok(run)
}

pub(crate) fn parse_row<'a>(
    section: usize,
    record: &mut Record<'a>,
    run: &'a str,
    rows: &mut TableRows<'a>,
) -> ParseResult<()> {
    let partition = record.partition()?;
    if section == 1 {
        rows.push(
            Some(partition),
            [
                Value::text(run),
                Value::text(record.text("fam")?),
                Value::text(record.text("famcvg")?),
                Value::Double(record.double("depth")?),
                Value::Int(record.int("aln")?),
                Value::Int(record.int("glb")?),
                Value::opt_int(record.int_or_unknown("len")?),
                Value::opt_int(record.opt_int_or_unknown("panlen")?),
                Value::text(record.text("top")?),
                Value::Int(record.int("topscore")?),
                Value::opt_int(record.opt_int_or_unknown("toplen")?),
                Value::text(record.free_text("topname")?),
            ],
        );
    } else {
        rows.push(
            Some(partition),
            [
                Value::text(run),
                Value::text(record.text("seq")?),
                Value::text(record.text("seqcvg")?),
                Value::Double(record.double("depth")?),
                Value::Int(record.int("aln")?),
                Value::Int(record.int("glb")?),
                Value::opt_int(record.int_or_unknown("len")?),
                Value::opt_text(record.opt_text("family")?),
                Value::text(record.free_text("name")?),
            ],
        );
    }
    Ok(())
}
