//! The small-file writer (objects under `COMPACT_ROWS` rows) against
//! parquet-rs' writer: the same bytes for every table of both layouts, on
//! parsed summaries and on random rows that reach the edge cases (nulls in
//! every pattern, long and multibyte text at the statistics cut, zeros of
//! both signs, extreme numbers).

use summary_corpus::{generate_with, Profile, Rng};
use summary_guest::encode::{Encoder, COMPACT_ROWS, STATISTICS_PREFIX};
use summary_guest::value::Value;
use summary_lake::catalog::{file_table, TABLES};
use summary_lake::{ColumnType, Layout, Table};

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
            let rows = [row.as_slice()];
            let small = encoder.encode(table, &rows);
            let reference = encoder.encode_with_parquet_rs(table, &rows);
            assert_eq!(small.is_ok(), reference.is_ok(), "{}", column.name);
            if let (Err(a), Err(b)) = (&small, &reference) {
                assert_eq!(a, b);
            }
        }
    }
}
