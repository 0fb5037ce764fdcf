//! The direct writer against parquet-rs' writer: the same bytes for every
//! table of both layouts, plain (objects under `COMPACT_ROWS` rows) and
//! compact (batch objects: row groups, snappy, text dictionaries), on
//! parsed summaries and on random rows that reach the edge cases (nulls in
//! every pattern, long and multibyte text at the statistics cut, zeros of
//! both signs, extreme numbers, dictionaries of every index width, chunks
//! past the size where parquet-rs cuts a second page).

use std::borrow::Cow;

use summary_corpus::{generate_with, Profile, Rng};
use summary_guest::encode::{Encoder, COMPACT_ROWS, ROW_GROUP_ROWS, STATISTICS_PREFIX};
use summary_guest::value::Value;
use summary_lake::catalog::{file_table, TABLES};
use summary_lake::{ColumnType, Kind, Layout, Table};

fn assert_same_bytes(encoder: &mut Encoder, table: &Table, rows: &[&[Value]], what: &str) {
    let small = encoder.encode(table, rows).unwrap();
    let reference = encoder.encode_with_parquet_rs(table, rows).unwrap();
    if small != reference {
        let at = small
            .iter()
            .zip(&reference)
            .position(|(a, b)| a != b)
            .unwrap_or(small.len().min(reference.len()));
        panic!(
            "{what}: {} rows of {}: {} bytes against parquet-rs' {}, first difference at byte {at}\n\
             ours:       {:?}\nparquet-rs: {:?}",
            rows.len(),
            table.glue_name,
            small.len(),
            reference.len(),
            &small[at.saturating_sub(8)..(at + 24).min(small.len())],
            &reference[at.saturating_sub(8)..(at + 24).min(reference.len())],
        );
    }
}

#[test]
fn parsed_summaries_encode_as_parquet_rs_does() {
    let mut encoder = Encoder::default();
    let mut files = 0;
    for profile in [Profile::Uniform, Profile::Serratus] {
        for index in 0..60 {
            let summary = generate_with(profile, 7, index);
            let parsed = summary_guest::parse_summary(summary.kind, &summary.bytes).unwrap();
            for table in &parsed.tables {
                let rows: Vec<&[Value]> = (0..table.len()).map(|i| table.row(i)).collect();
                // Every prefix a small object can hold, and windows inside.
                for len in 1..=rows.len().min(COMPACT_ROWS - 1) {
                    assert_same_bytes(&mut encoder, table.table, &rows[..len], "prefix");
                }
                for start in (0..rows.len()).step_by(7) {
                    let end = (start + 13).min(rows.len());
                    assert_same_bytes(&mut encoder, table.table, &rows[start..end], "window");
                }
            }
            files += 1;
        }
    }
    assert_eq!(files, 120);
}

/// Text that reaches the statistics cut: ASCII, two-, three- and four-byte
/// characters, and characters that cannot be incremented in place.
fn random_text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "~",
        "\u{7f}",
        "é",
        "\u{7ff}",
        "€",
        "\u{ffff}",
        "😀",
        "\u{10ffff}",
        "\u{d7ff}",
        " ",
        ";",
        "0",
    ];
    let len = match rng.range(0, 9) {
        0 => 0,
        1..=4 => rng.range(1, 12),
        5..=7 => rng.range(STATISTICS_PREFIX as u64 - 4, STATISTICS_PREFIX as u64 + 6),
        _ => rng.range(65, 400),
    };
    let mut text = String::new();
    let uniform = rng.chance(30).then(|| *rng.pick(PIECES));
    while text.len() < len as usize {
        let piece = match uniform {
            Some(piece) => piece,
            None => *rng.pick(PIECES),
        };
        text.push_str(piece);
    }
    text
}

fn random_value(rng: &mut Rng, ty: ColumnType) -> Value<'static> {
    match ty {
        ColumnType::Text => Value::Text(random_text(rng).into()),
        ColumnType::BigInt => Value::Int(match rng.range(0, 5) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => 0,
            _ => rng.range(0, 2_000_000) as i64 - 1_000_000,
        }),
        ColumnType::Int => Value::Int(match rng.range(0, 5) {
            0 => i64::from(i32::MIN),
            1 => i64::from(i32::MAX),
            _ => rng.range(0, 200) as i64 - 100,
        }),
        ColumnType::Double => Value::Double(match rng.range(0, 6) {
            0 => 0.0,
            1 => -0.0,
            2 => f64::MAX,
            3 => -1.5,
            _ => rng.range(0, 1_000_000) as f64 / 7.0,
        }),
        ColumnType::Boolean => Value::Bool(rng.chance(50)),
    }
}

#[test]
fn random_rows_encode_as_parquet_rs_does() {
    let mut rng = Rng::new(14);
    let mut encoder = Encoder::default();
    let mut objects = 0;
    for layout in Layout::ALL.iter() {
        for table in TABLES {
            let table = file_table(table, *layout);
            for _ in 0..150 {
                let rows = rng.range(1, COMPACT_ROWS as u64 - 1) as usize;
                // Nulls: none, all, or at a rate that makes runs of every length.
                let null_rate = *rng.pick(&[0, 100, 5, 50, 90]);
                let values: Vec<Vec<Value>> = (0..rows)
                    .map(|_| {
                        table
                            .columns
                            .iter()
                            .map(|c| match c.nullable && rng.chance(null_rate) {
                                true => Value::Null,
                                false => random_value(&mut rng, c.ty),
                            })
                            .collect()
                    })
                    .collect();
                let rows: Vec<&[Value]> = values.iter().map(Vec::as_slice).collect();
                assert_same_bytes(&mut encoder, table, &rows, "random");
                objects += 1;
            }
        }
    }
    assert_eq!(objects, 150 * 11 * Layout::ALL.len());
}

#[test]
fn wrong_values_fail_as_with_parquet_rs() {
    let table = file_table(TABLES[1], Layout::ScorePctid);
    let mut encoder = Encoder::default();
    let good: Vec<Value> = table
        .columns
        .iter()
        .map(|c| random_value(&mut Rng::new(1), c.ty))
        .collect();
    for (index, column) in table.columns.iter().enumerate() {
        for bad in [Value::Null, Value::Bool(true), Value::Text("x".into())] {
            let mut row = good.clone();
            row[index] = bad;
            // A plain file of one row, and a compact one with the bad row
            // in its middle.
            let compact: Vec<&[Value]> = (0..100)
                .map(|i| match i {
                    70 => row.as_slice(),
                    _ => good.as_slice(),
                })
                .collect();
            for rows in [&[row.as_slice()][..], &compact] {
                let direct = encoder.encode(table, rows);
                let reference = encoder.encode_with_parquet_rs(table, rows);
                assert_eq!(direct.is_ok(), reference.is_ok(), "{}", column.name);
                if let (Err(a), Err(b)) = (&direct, &reference) {
                    assert_eq!(a, b);
                }
            }
        }
    }
}

/// The rows of each table of `kind` over many parsed summaries, sorted by
/// run as a batch object holds them, in both layouts (run-bucket files of
/// partitioned tables end with `score` and `pctid`).
fn batch_rows(
    profile: Profile,
    kind: Kind,
    summaries: u64,
) -> Vec<(&'static Table, Vec<Vec<Value<'static>>>)> {
    let mut parsed: Vec<_> = (0..summaries * 4)
        .map(|index| generate_with(profile, 3, index))
        .filter(|s| s.kind == kind)
        .take(summaries as usize)
        .map(|s| {
            let bytes: &'static [u8] = Vec::leak(s.bytes);
            summary_guest::parse_summary(s.kind, bytes).unwrap()
        })
        .collect();
    parsed.sort_by_key(|s| s.run);
    let mut tables = Vec::new();
    for (index, table) in parsed[0].tables.iter().map(|t| t.table).enumerate() {
        for layout in Layout::ALL {
            let file_table = file_table(table, layout);
            let widen = file_table.columns.len() > table.columns.len();
            let mut rows = Vec::new();
            for summary in &parsed {
                let rows_of = &summary.tables[index];
                for row in 0..rows_of.len() {
                    let mut values = rows_of.row(row).to_vec();
                    if widen {
                        let partition = rows_of.partitions[row].unwrap();
                        values.push(Value::Int(i64::from(partition.score)));
                        values.push(Value::Int(i64::from(partition.pctid)));
                    }
                    rows.push(values);
                }
            }
            tables.push((file_table, rows));
        }
    }
    tables
}

#[test]
fn parsed_batches_encode_as_parquet_rs_does() {
    let mut encoder = Encoder::default();
    let mut objects = 0;
    let mut groups = 0;
    for (profile, summaries) in [(Profile::Serratus, 600), (Profile::Uniform, 150)] {
        for kind in Kind::ALL {
            for (table, rows) in batch_rows(profile, kind, summaries) {
                let rows: Vec<&[Value]> = rows.iter().map(Vec::as_slice).collect();
                // The whole batch, and slices of it from COMPACT_ROWS up.
                let mut ends = vec![rows.len()];
                ends.extend(
                    [COMPACT_ROWS, 100, 1000, ROW_GROUP_ROWS + 7]
                        .iter()
                        .filter(|&&n| n < rows.len()),
                );
                for end in ends {
                    if end < COMPACT_ROWS {
                        continue;
                    }
                    assert_same_bytes(&mut encoder, table, &rows[..end], "batch");
                    objects += 1;
                    groups += end / ROW_GROUP_ROWS;
                }
            }
        }
    }
    assert!(objects >= 40, "{objects} compact objects");
    assert!(groups > 0, "no object reached a second row group");
    assert_eq!(
        encoder.direct_objects(),
        objects,
        "objects parquet-rs wrote instead"
    );
}

#[test]
fn random_compact_rows_encode_as_parquet_rs_does() {
    let mut rng = Rng::new(61);
    let mut encoder = Encoder::default();
    let mut objects = 0;
    for layout in Layout::ALL.iter() {
        for table in TABLES {
            let table = file_table(table, *layout);
            for round in 0..12 {
                // Few distinct texts (long RLE runs of indices) to many
                // (index widths up to 13 bits); runs of rows sharing a text
                // by pointer, as a summary's rows share its run.
                let distinct: usize = *rng.pick(&[1, 2, 9, 300, 5000]);
                let pool: Vec<String> = (0..distinct).map(|_| random_text(&mut rng)).collect();
                let rows = match round {
                    0 => ROW_GROUP_ROWS + rng.range(1, 3000) as usize,
                    _ => rng.range(COMPACT_ROWS as u64, 3000) as usize,
                };
                let null_rate = *rng.pick(&[0, 100, 5, 50, 90]);
                let mut shared = 0;
                let values: Vec<Vec<Value>> = (0..rows)
                    .map(|_| {
                        if rng.chance(20) {
                            shared = rng.range(0, distinct as u64 - 1) as usize;
                        }
                        table
                            .columns
                            .iter()
                            .map(|c| match (c.nullable && rng.chance(null_rate), c.ty) {
                                (true, _) => Value::Null,
                                (false, ColumnType::Text) => match rng.chance(50) {
                                    true => Value::Text(Cow::Borrowed(&pool[shared])),
                                    false => {
                                        let pick = rng.range(0, distinct as u64 - 1) as usize;
                                        Value::Text(Cow::Owned(pool[pick].clone()))
                                    }
                                },
                                (false, ty) => random_value(&mut rng, ty),
                            })
                            .collect()
                    })
                    .collect();
                let rows: Vec<&[Value]> = values.iter().map(Vec::as_slice).collect();
                assert_same_bytes(&mut encoder, table, &rows, "random compact");
                objects += 1;
            }
        }
    }
    assert_eq!(objects, 12 * 11 * Layout::ALL.len());
    // Most went the direct way; the rest were past parquet-rs' page limits.
    assert!(
        encoder.direct_objects() > objects / 2,
        "{} of {objects} direct",
        encoder.direct_objects()
    );
}

/// One run (a row group is cut only between runs) of `rows` rows whose
/// text columns other than `sra` take `text` bytes a value, `distinct` of
/// them, nulls at `null_rate` percent.
fn one_run(
    table: &Table,
    rows: usize,
    text: usize,
    distinct: usize,
    null_rate: u64,
) -> Vec<Vec<Value<'static>>> {
    let mut rng = Rng::new(rows as u64 ^ text as u64);
    let filler = "x".repeat(text.saturating_sub(6));
    (0..rows)
        .map(|i| {
            table
                .columns
                .iter()
                .map(|c| match (c.name, c.ty) {
                    ("sra", _) => Value::text("SRR0000001"),
                    _ if c.nullable && rng.chance(null_rate) => Value::Null,
                    (_, ColumnType::Text) => {
                        Value::Text(Cow::Owned(format!("{filler}{:06}", i % distinct)))
                    }
                    (_, ty) => random_value(&mut rng, ty),
                })
                .collect()
        })
        .collect()
}

#[test]
fn chunks_of_many_pages_encode_as_parquet_rs_does() {
    let mut encoder = Encoder::default();
    let mut objects = 0;
    for layout in Layout::ALL {
        // Tables with nullable text, numbers and booleans, and without.
        for table in [TABLES[1], TABLES[2], TABLES[6], TABLES[9]] {
            let table = file_table(table, layout);
            for (rows, text, distinct, null_rate) in [
                // Pages cut at 20,480 rows; dictionaries kept.
                (45_000, 8, 300, 0),
                (20_001, 12, 20_001, 30),
                // Dictionaries given up past 1 MiB, then plain pages, some
                // cut at 1 MiB; sub-batches where 1,024 values pass the budget.
                (600, 2000, 600, 0),
                (3_000, 1500, 3_000, 50),
                (25_000, 60, 25_000, 10),
                (9_000, 300, 9_000, 0),
            ] {
                let values = one_run(table, rows, text, distinct, null_rate);
                let rows: Vec<&[Value]> = values.iter().map(Vec::as_slice).collect();
                assert_same_bytes(&mut encoder, table, &rows, "many pages");
                objects += 1;
            }
        }
    }
    assert_eq!(
        encoder.direct_objects(),
        objects,
        "objects parquet-rs wrote instead"
    );
}
