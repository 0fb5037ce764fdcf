//! Every bundled fixture and real excerpt parses, with the rows its text holds.

use std::path::{Path, PathBuf};

use summary_guest::value::Value;
use summary_guest::{parse_line, parse_summary, Kind};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn files_of(kind: Kind) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join("summaries").join(kind.as_str()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 20, "fixtures of {kind}");
    files
}

/// Rows each section key should give, counted from the text independently.
fn count_lines(text: &str, key: &str) -> usize {
    text.lines()
        .filter(|l| l.split(';').any(|f| f.starts_with(&format!("{key}="))))
        .count()
}

#[test]
fn every_fixture_parses_with_one_row_per_line() {
    let sections: [(Kind, &[&str]); 3] = [
        (Kind::Nucleotide, &["famcvg", "seqcvg"]),
        (Kind::Protein, &["famcvg", "gencvg", "seqcvg"]),
        (Kind::Rdrp, &["phycvg", "famcvg", "vircvg"]),
    ];
    let mut header_only = 0;
    for (kind, keys) in sections {
        for path in files_of(kind) {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap();
            let summary =
                parse_summary(kind, &bytes).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
            let run = path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .split('.')
                .next()
                .unwrap();
            assert_eq!(summary.run, run);
            assert_eq!(summary.tables[0].len(), 1, "one run row");
            for (i, key) in keys.iter().enumerate() {
                assert_eq!(
                    summary.tables[i + 1].len(),
                    count_lines(&text, key),
                    "{} {key}",
                    path.display()
                );
            }
            if text.lines().count() == 1 {
                header_only += 1;
                assert!(summary.tables[1..].iter().all(|t| t.is_empty()));
            }
        }
    }
    assert!(header_only >= 3, "the fixtures include header-only files");
}

#[test]
fn nucleotide_values_column_by_column() {
    let bytes = std::fs::read(fixtures().join("summaries/nucleotide/DRR11074882.summary")).unwrap();
    let s = parse_summary(Kind::Nucleotide, &bytes).unwrap();
    assert_eq!(
        s.tables[0].row(0),
        &[
            Value::text("DRR11074882"),
            Value::Int(95),
            Value::text("cov3ma"),
            Value::text("200818"),
            Value::text("200911-18:01")
        ]
    );
    let family = &s.tables[1];
    assert_eq!(
        family.row(0),
        &[
            Value::text("DRR11074882"),
            Value::text("Deltavirus"),
            Value::text("wwwawwwwaaaaaawaaaaaaw:wu"),
            Value::Double(1.5),
            Value::Int(371),
            Value::Int(66),
            Value::Int(30804),
            Value::Null,
            Value::text("MT193555.3"),
            Value::Int(26),
            Value::Int(21570),
            Value::text("Human coronavirus NL63 (étude) partial orf1ab"),
        ]
    );
    assert_eq!(
        family.partitions[0],
        Some(summary_lake::keys::Partition {
            score: 100,
            pctid: 92
        })
    );
    // free text keeps its ';' and ','
    assert_eq!(
        family.row(3)[11],
        Value::text("Bat coronavirus HKU4-1; complete genome")
    );
    let sequence = &s.tables[2];
    assert_eq!(
        sequence.row(0),
        &[
            Value::text("DRR11074882"),
            Value::text("AB643929.1"),
            Value::text(":.:.....:_..:.u..:.uu:u.:"),
            Value::Double(0.5),
            Value::Int(44),
            Value::Int(6),
            Value::Int(10721),
            Value::text("Coronaviridae"),
            Value::text("Severe acute respiratory syndrome coronavirus 2 isolate Wuhan-Hu-1, complete genome"),
        ]
    );
}

#[test]
fn protein_values_split_gen_and_seq() {
    let bytes = std::fs::read(fixtures().join("summaries/protein/DRR1017695.psummary")).unwrap();
    let s = parse_summary(Kind::Protein, &bytes).unwrap();
    assert_eq!(
        s.tables[0].row(0),
        &[
            Value::text("DRR1017695"),
            Value::text("protein"),
            Value::Int(125),
            Value::text("protref5"),
            Value::Int(2),
            Value::Bool(false),
            Value::Null,
            Value::text("200906-14:25"),
        ]
    );
    assert_eq!(
        s.tables[1].row(0),
        &[
            Value::text("DRR1017695"),
            Value::text("Deltavirus"),
            Value::text("_________.__.____________"),
            Value::Int(2),
            Value::Int(22)
        ]
    );
    assert_eq!(
        &s.tables[2].row(0)[1..4],
        &[
            Value::text("Deltavirus"),
            Value::text("HDAg"),
            Value::text("_________.__.____________")
        ]
    );
    // seq=Deltavirus.HDAg.187.2: split on the first two dots only
    assert_eq!(
        &s.tables[3].row(0)[1..4],
        &[
            Value::text("Deltavirus"),
            Value::text("HDAg"),
            Value::text("187.2")
        ]
    );
    assert_eq!(
        s.tables[3].partitions[1],
        Some(summary_lake::keys::Partition {
            score: 2,
            pctid: 63
        })
    );
}

#[test]
fn rdrp_values_name_phyla_and_families() {
    let bytes =
        std::fs::read(fixtures().join("summaries/rdrp/DRR13913260.rsummary.psummary")).unwrap();
    let s = parse_summary(Kind::Rdrp, &bytes).unwrap();
    assert_eq!(
        s.tables[1].row(0),
        &[
            Value::text("DRR13913260"),
            Value::text("levi"),
            Value::text("Lenarviricota"),
            Value::text("waaaaoaaaaoaaaaoaaaaoaaoo"),
            Value::text("N"),
            Value::Double(49.2),
            Value::Int(722),
            Value::Int(34),
        ]
    );
    assert_eq!(
        s.tables[2].row(0),
        &[
            Value::text("DRR13913260"),
            Value::text("rdrp"),
            Value::text("Unclassified"),
            Value::text("Botourmiaviridae-11"),
            Value::text("Botourmiaviridae"),
            Value::text("::::u::uuw:wuwuu.wuuuu:wu"),
            Value::text("N"),
            Value::Double(8.5),
            Value::Int(123),
            Value::Int(35),
        ]
    );
    assert_eq!(s.tables[2].row(1)[4], Value::text("Unclassified-159"));
    let vir = s.tables[3].row(0);
    assert_eq!(
        vir,
        &[
            Value::text("DRR13913260"),
            Value::text("rdrp"),
            Value::text("Unclassified"),
            Value::text("Tombusviridae-14"),
            Value::text("Tombusviridae"),
            Value::text("phakopsora_totivirus_d"),
            Value::text("QED42984"),
            Value::text("_......__.....__._:.__..."),
            Value::Null,
            Value::Double(1.5),
            Value::Int(18),
            Value::Int(41),
        ]
    );
}

/// The run a quoted line belongs to: its `sra=` prefix, else that of the
/// last header quoted before it (the rdrp0 pilot wrote no prefix).
fn run_of<'a>(line: &'a str, last_header_run: &mut &'a str) -> &'a str {
    if let Some(run) = line
        .strip_prefix("sra=")
        .and_then(|rest| rest.split(';').next())
    {
        return run;
    }
    if let Some(run) = line
        .strip_prefix("SUMZER_COMMENT=sra=")
        .and_then(|rest| rest.split(',').next())
    {
        *last_header_run = run;
    }
    last_header_run
}

#[test]
fn every_real_excerpt_line_parses() {
    let mut lines = 0;
    for name in [
        "200706_Run_Diamond_pver_pviro_pmamm.txt",
        "201213_Run_rdrp0_pilot.txt",
    ] {
        let text = std::fs::read_to_string(fixtures().join("real-excerpts").join(name)).unwrap();
        let mut header_run = "";
        for (i, line) in text.lines().enumerate() {
            // Both runs used protein-style keys (the rdrp0 pilot too).
            let table = parse_line(Kind::Protein, run_of(line, &mut header_run), line)
                .unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            assert_eq!(table.kind, Kind::Protein);
            lines += 1;
        }
    }
    assert_eq!(lines, 122);
}

#[test]
fn unprefixed_protein_summary_from_the_rdrp0_pilot_parses() {
    let text = std::fs::read_to_string(fixtures().join("real-excerpts/201213_Run_rdrp0_pilot.txt"))
        .unwrap();
    let summary: String = text
        .lines()
        .filter(|l| !l.starts_with("sra="))
        .map(|l| format!("{l}\n"))
        .collect();
    let s = parse_summary(Kind::Protein, summary.as_bytes()).unwrap();
    assert_eq!(s.run, "SRR5839347");
    assert_eq!(s.tables[1].row(0)[1], Value::text("rdrp2"));
    let lines = summary.lines().count();
    assert_eq!(s.tables.iter().map(|t| t.len()).sum::<usize>(), lines);
}
