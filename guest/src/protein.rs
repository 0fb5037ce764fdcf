//! Protein `.psummary` lines, each starting `sra=<run>;` (files written
//! before late 2020 lack that prefix): the header
//! (shared with RdRp), then `famcvg=` (family), `gencvg=` (`gen=Fam.protein`)
//! and `seqcvg=` (`seq=Fam.protein.accession`) lines.

use crate::error::ParseResult;
use crate::format::{Format, TableRows, HEADER_KEY};
use crate::record::{CommaFields, Record};
use crate::value::Value;
use summary_lake::text::quoted;

pub(crate) static FORMAT: Format = Format {
    section_keys: &[HEADER_KEY, "famcvg", "gencvg", "seqcvg"],
    free_text_keys: &[],
    run_prefix: true,
};

/// Reads a protein or RdRp header into the run table; returns the run.
pub(crate) fn parse_header<'a>(
    record: &mut Record<'a>,
    runs: &mut TableRows<'a>,
) -> ParseResult<&'a str> {
    let mut comment = CommaFields::parse(record.line(), HEADER_KEY, record.text(HEADER_KEY)?)?;
    let run = crate::run_id(record.line(), comment.text("sra")?)?;
    let genome = comment.text("genome")?;
    let date = comment.text("date")?;
    let kind = comment.text("type")?;
    comment.finish()?;
    if let Some(prefix) = record.opt_text("sra")? {
        if prefix != run {
            return Err(record.error(
                "sra",
                format!(
                    "run {} differs from the {HEADER_KEY} run {}",
                    quoted(prefix),
                    quoted(run)
                ),
            ));
        }
    }
    runs.push(
        None,
        [
            Value::text(run),
            Value::text(kind),
            Value::Int(record.int("readlength")?),
            Value::text(genome),
            Value::Int(record.int("totalalns")?),
            Value::Bool(record.boolean("truncated")?),
            Value::opt_int(record.opt_int("excepts")?),
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
    let partition = Some(record.partition()?);
    let alns = Value::Int(record.int("alns")?);
    let avgcols = Value::Int(record.int("avgcols")?);
    match section {
        1 => rows.push(
            partition,
            [
                Value::text(run),
                Value::text(record.text("fam")?),
                Value::text(record.text("famcvg")?),
                alns,
                avgcols,
            ],
        ),
        2 => {
            let [fam, protein] = record.dotted("gen", "Family.protein")?;
            rows.push(
                partition,
                [
                    Value::text(run),
                    Value::text(fam),
                    Value::text(protein),
                    Value::text(record.text("gencvg")?),
                    alns,
                    avgcols,
                ],
            );
        }
        _ => {
            let [fam, protein, accession] = record.dotted("seq", "Family.protein.sequence")?;
            rows.push(
                partition,
                [
                    Value::text(run),
                    Value::text(fam),
                    Value::text(protein),
                    Value::text(accession),
                    Value::text(record.text("seqcvg")?),
                    alns,
                    avgcols,
                ],
            );
        }
    }
    Ok(())
}
