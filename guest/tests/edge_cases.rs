//! Optional keys, layout variants and one test per kind of error, each
//! asserting the line, the field and the message.

use summary_guest::value::Value;
use summary_guest::{parse_summary, Kind, ParseError};

const N_HEADER: &str =
    "readlength=95;SUMZER_COMMENT=sra=SRR1,genome=cov3ma,version=200818,date=200911-18:01;";
const N_FAMILY: &str = "famcvg=ww:u;fam=Coronaviridae;score=100;pctid=91;depth=3.7;aln=928;glb=215;len=30736;top=AB1.1;topscore=30;toplen=10721;topname=Bat CoV; complete=genome, x;";
const N_SEQUENCE: &str = "seqcvg=:.:;seq=AB1.1;score=30;pctid=93;depth=0.5;aln=44;glb=6;len=10721;family=Coronaviridae;name=Sev, a;b=c;";
const P_HEADER: &str = "sra=SRR2;SUMZER_COMMENT=sra=SRR2,genome=protref5,date=200906-14:25,type=protein;totalalns=2;readlength=125;truncated=no;";
const P_FAMILY: &str = "sra=SRR2;famcvg=__._;fam=Deltavirus;score=3;pctid=62;alns=2;avgcols=22;";
const R_HEADER: &str = "sra=SRR3;SUMZER_COMMENT=sra=SRR3,genome=rdrp1,date=210115-21:35,type=protein;totalalns=5000;readlength=115;truncated=no;";
const R_VIR: &str = "sra=SRR3;vircvg=_..;vir=levi.Unc159.sapovirus_hu:ADG03646;cat=n;score=27;depth=1.4;pctid=56;alns=18;avgcols=38;";

fn lines(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn error(kind: Kind, text: &[u8]) -> ParseError {
    match parse_summary(kind, text) {
        Ok(s) => panic!("expected an error, parsed run {}", s.run),
        Err(e) => e,
    }
}

#[test]
fn key_order_does_not_matter() {
    let shuffled = "topname=Bat CoV; complete=genome, x;";
    let rest = "glb=215;len=30736;top=AB1.1;aln=928;topscore=30;toplen=10721;pctid=91;depth=3.7;fam=Coronaviridae;score=100;famcvg=ww:u;";
    let header =
        "SUMZER_COMMENT=date=200911-18:01,genome=cov3ma,sra=SRR1,version=200818;readlength=95;";
    let text_a = lines(&[N_HEADER, N_FAMILY]);
    let a = parse_summary(Kind::Nucleotide, text_a.as_bytes()).unwrap();
    let text = lines(&[header, &format!("{rest}{shuffled}")]);
    let b = parse_summary(Kind::Nucleotide, text.as_bytes()).unwrap();
    assert_eq!(a.tables[0].values, b.tables[0].values);
    assert_eq!(a.tables[1].values, b.tables[1].values);
    assert_eq!(
        a.tables[1].row(0)[11],
        Value::text("Bat CoV; complete=genome, x")
    );
}

#[test]
fn optional_and_unknown_values() {
    let family = "famcvg=w;fam=F;score=1;pctid=2;depth=1e+03;aln=1;glb=1;len=?;panlen=31000;top=T;topscore=3;toplen=?;topname=;";
    let sequence = "seqcvg=w;seq=S;score=1;pctid=2;depth=0.25;aln=1;glb=1;len=?;name=?;";
    let text = lines(&[N_HEADER, family, sequence]);
    let s = parse_summary(Kind::Nucleotide, text.as_bytes()).unwrap();
    let f = s.tables[1].row(0);
    assert_eq!(f[3], Value::Double(1000.0));
    assert_eq!(
        (&f[6], &f[7], &f[10], &f[11]),
        (
            &Value::Null,
            &Value::Int(31000),
            &Value::Null,
            &Value::text("")
        )
    );
    let q = s.tables[2].row(0);
    assert_eq!(
        (&q[6], &q[7], &q[8]),
        (&Value::Null, &Value::Null, &Value::text("?"))
    );

    // the psummarizer writes `excepts=N;` (a count) before `truncated=`
    let header = P_HEADER.replace("truncated=no;", "excepts=7;truncated=no;");
    let text = lines(&[&header]);
    let s = parse_summary(Kind::Protein, text.as_bytes()).unwrap();
    assert_eq!(s.tables[0].row(0)[6], Value::Int(7));
    // local runs wrote an empty `version=`
    let text = lines(&[&N_HEADER.replace("version=200818", "version=")]);
    let s = parse_summary(Kind::Nucleotide, text.as_bytes()).unwrap();
    assert_eq!(s.tables[0].row(0)[3], Value::Null);

    // RdRp lines without cat= and depth= (older files), and an unknown phylum code
    let old = "sra=SRR3;phycvg=w;phy=zzz;score=5;pctid=60;alns=1;avgcols=2;";
    let text = lines(&[R_HEADER, old, R_VIR]);
    let s = parse_summary(Kind::Rdrp, text.as_bytes()).unwrap();
    let p = s.tables[1].row(0);
    assert_eq!(
        (&p[2], &p[4], &p[5]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let v = s.tables[3].row(0);
    assert_eq!(
        &v[3..7],
        &[
            Value::text("Unc159"),
            Value::text("Unclassified-159"),
            Value::text("sapovirus_hu"),
            Value::text("ADG03646")
        ]
    );
}

#[test]
fn line_endings_and_header_only_files() {
    let crlf = format!("{N_HEADER}\r\n{N_FAMILY}\r\n");
    let no_final_newline = format!("{N_HEADER}\n{N_FAMILY}");
    for text in [crlf, no_final_newline] {
        let s = parse_summary(Kind::Nucleotide, text.as_bytes()).unwrap();
        assert_eq!((s.tables[0].len(), s.tables[1].len()), (1, 1));
        assert_eq!(
            s.tables[1].row(0)[11],
            Value::text("Bat CoV; complete=genome, x")
        );
    }
    for (kind, header) in [
        (Kind::Nucleotide, N_HEADER),
        (Kind::Protein, P_HEADER),
        (Kind::Rdrp, R_HEADER),
    ] {
        let s = parse_summary(kind, header.as_bytes()).unwrap();
        assert_eq!(s.tables.iter().map(|t| t.len()).collect::<Vec<_>>()[0], 1);
        assert!(s.tables[1..].iter().all(|t| t.is_empty()));
    }
}

/// (name, kind, summary text, line, field, message)
type Case = (&'static str, Kind, Vec<u8>, u32, &'static str, &'static str);

fn cases() -> Vec<Case> {
    let n = |body: &[&str]| lines(&[&[N_HEADER], body].concat()).into_bytes();
    let p = |body: &[&str]| lines(&[&[P_HEADER], body].concat()).into_bytes();
    let r = |body: &[&str]| lines(&[&[R_HEADER], body].concat()).into_bytes();
    vec![
        ("invalid integer", Kind::Nucleotide, n(&[&N_FAMILY.replace("aln=928", "aln=abc")]), 2, "aln", r#"invalid integer "abc""#),
        ("signed integer", Kind::Protein, p(&[&P_FAMILY.replace("alns=2", "alns=-2")]), 2, "alns", r#"invalid integer "-2""#),
        ("integer overflow", Kind::Protein, p(&[&P_FAMILY.replace("alns=2", "alns=99999999999999999999")]), 2, "alns", r#"integer "99999999999999999999" out of range"#),
        ("invalid number", Kind::Nucleotide, n(&[&N_SEQUENCE.replace("depth=0.5", "depth=0,5")]), 2, "depth", r#"invalid number "0,5""#),
        ("score out of range", Kind::Protein, p(&[&P_FAMILY.replace("score=3", "score=101")]), 2, "score", "101 is outside 0..100"),
        ("empty value", Kind::Protein, p(&[&P_FAMILY.replace("fam=Deltavirus", "fam=")]), 2, "fam", "empty value"),
        ("missing required key", Kind::Nucleotide, n(&[&N_FAMILY.replace("glb=215;", "")]), 2, "glb", "missing required key"),
        ("unknown key", Kind::Protein, p(&[P_FAMILY, &format!("{P_FAMILY}colour=red;")]), 3, "colour", "unknown key"),
        ("duplicate key", Kind::Protein, p(&[&format!("{P_FAMILY}alns=3;")]), 2, "alns", "duplicate key"),
        ("missing =", Kind::Protein, p(&[&P_FAMILY.replace("alns=2", "alns2")]), 2, "alns2", "missing '=' after the key"),
        ("line truncated in a value", Kind::Protein, p(&[&P_FAMILY[..P_FAMILY.len() - 2]]), 2, "avgcols", "value not terminated by ';' (truncated line?)"),
        ("line truncated in a key", Kind::Protein, p(&[&P_FAMILY[..P_FAMILY.len() - 5]]), 2, "avgcol", "missing '=' after the key (truncated line?)"),
        ("free text not terminated", Kind::Nucleotide, n(&[&N_SEQUENCE[..N_SEQUENCE.len() - 1]]), 2, "name", "value not terminated by ';' (truncated line?)"),
        ("unknown section", Kind::Nucleotide, n(&["gencvg=w;gen=A.b;score=1;pctid=1;alns=1;avgcols=1;"]), 2, "gencvg", "unknown nucleotide section (expected a line with 'SUMZER_COMMENT=', 'famcvg=', 'seqcvg=')"),
        ("two sections", Kind::Nucleotide, n(&[&format!("{}seqcvg=w;", &N_FAMILY[..N_FAMILY.find("topname").unwrap()])]), 2, "seqcvg", "a line cannot hold both 'famcvg=' and 'seqcvg=' sections"),
        ("other run's line", Kind::Protein, p(&[P_FAMILY, &P_FAMILY.replace("sra=SRR2", "sra=SRR9")]), 3, "sra", r#"run "SRR9" differs from the header's run "SRR2""#),
        ("header prefix differs", Kind::Protein, lines(&[&P_HEADER.replacen("sra=SRR2;", "sra=SRR9;", 1)]).into_bytes(), 1, "sra", r#"run "SRR9" differs from the SUMZER_COMMENT run "SRR2""#),
        ("second header", Kind::Rdrp, r(&[R_VIR, R_HEADER]), 3, "SUMZER_COMMENT", "second header line"),
        ("no header first", Kind::Protein, lines(&[P_FAMILY, P_HEADER]).into_bytes(), 1, "famcvg", "the summary must start with its header line (SUMZER_COMMENT=)"),
        ("empty file", Kind::Rdrp, Vec::new(), 1, "SUMZER_COMMENT", "empty summary: no header line"),
        ("blank line", Kind::Protein, p(&["", P_FAMILY]), 2, "", "empty line"),
        ("invalid UTF-8", Kind::Nucleotide, [&n(&[])[..], &b"famcvg=w;fam=F\xff;"[..]].concat(), 2, "fam", "invalid UTF-8 (byte 0xFF at column 15)"),
        ("NUL byte", Kind::Protein, p(&[&P_FAMILY.replace("Deltavirus", "Delta\0virus")]), 2, "fam", "control character '\\0' in value"),
        ("byte order mark", Kind::Nucleotide, [&b"\xEF\xBB\xBF"[..], &n(&[])].concat(), 1, "", "byte order mark at the start of the file"),
        ("run id not an accession", Kind::Nucleotide, lines(&[&N_HEADER.replace("sra=SRR1", "sra=../SRR1")]).into_bytes(), 1, "SUMZER_COMMENT", r#"run "../SRR1" is not an SRA run accession (SRR, ERR or DRR and digits)"#),
        ("header key missing", Kind::Nucleotide, lines(&[&N_HEADER.replace(",version=200818", "")]).into_bytes(), 1, "SUMZER_COMMENT", "missing required key 'version'"),
        ("unknown header key", Kind::Protein, lines(&[&P_HEADER.replace("type=protein", "type=protein,colour=red")]).into_bytes(), 1, "SUMZER_COMMENT", "unknown key 'colour'"),
        ("bad boolean", Kind::Rdrp, lines(&[&R_HEADER.replace("truncated=no", "truncated=maybe")]).into_bytes(), 1, "truncated", r#"invalid boolean "maybe" (expected yes or no)"#),
        ("malformed gen", Kind::Protein, p(&["sra=SRR2;gencvg=w;gen=Deltavirus;score=1;pctid=1;alns=1;avgcols=1;"]), 2, "gen", r#"expected Family.protein, got "Deltavirus""#),
        ("malformed seq", Kind::Protein, p(&["sra=SRR2;seqcvg=w;seq=Deltavirus.HDAg;score=1;pctid=1;alns=1;avgcols=1;"]), 2, "seq", r#"expected Family.protein.sequence, got "Deltavirus.HDAg""#),
        ("malformed vir", Kind::Rdrp, r(&[&R_VIR.replace(":ADG03646", "")]), 2, "vir", r#"expected phylum.FamilyGroup.virus_name:accession, got "levi.Unc159.sapovirus_hu""#),
        ("malformed fam", Kind::Rdrp, r(&["sra=SRR3;famcvg=w;fam=Unc159;score=1;pctid=1;alns=1;avgcols=1;"]), 2, "fam", r#"expected phylum.FamilyGroup, got "Unc159""#),
        ("protein-style line in rdrp", Kind::Rdrp, r(&["sra=SRR3;gencvg=w;gen=A.b;score=1;pctid=1;alns=1;avgcols=1;"]), 2, "gencvg", "unknown rdrp section (expected a line with 'SUMZER_COMMENT=', 'phycvg=', 'famcvg=', 'vircvg='); this is a protein-style line, as the rdrp0 pilot wrote: convert such files as protein"),
        ("plus-signed integer", Kind::Protein, p(&[&P_FAMILY.replace("alns=2", "alns=+2")]), 2, "alns", r#"invalid integer "+2""#),
        ("exponent in an integer", Kind::Nucleotide, n(&[&N_FAMILY.replace("glb=215", "glb=2e2")]), 2, "glb", r#"invalid integer "2e2""#),
        ("negative depth", Kind::Rdrp, r(&[&R_VIR.replace("depth=1.4", "depth=-1.4")]), 2, "depth", r#"invalid number "-1.4""#),
        ("infinite depth", Kind::Nucleotide, n(&[&N_SEQUENCE.replace("depth=0.5", "depth=inf")]), 2, "depth", r#"invalid number "inf""#),
        ("score with a fraction", Kind::Protein, p(&[&P_FAMILY.replace("score=3", "score=3.5")]), 2, "score", r#"invalid integer "3.5""#),
        ("pctid out of range", Kind::Rdrp, r(&[&R_VIR.replace("pctid=56", "pctid=300")]), 2, "pctid", "300 is outside 0..100"),
        ("10 MB single line", Kind::Protein, p(&[&format!("sra=SRR2;famcvg={};fam=F;score=1;pctid=1;alns=1;avgcols=1", "_".repeat(10 << 20))]), 2, "avgcols", "value not terminated by ';' (truncated line?)"),
        ("lone carriage return", Kind::Protein, p(&[&P_FAMILY.replace(";fam=", "\r;fam=")]), 2, "famcvg", "control character '\\r' in value"),
        ("mixed line endings, old Mac", Kind::Protein, [P_HEADER, "\r", P_FAMILY, "\n"].concat().into_bytes(), 1, "sra", "control character '\\r' before the key (a line break other than \\n or \\r\\n?)"),
        ("slash in the run id", Kind::Protein, lines(&[&P_HEADER.replace("SRR2", "SRR2/x")]).into_bytes(), 1, "SUMZER_COMMENT", r#"run "SRR2/x" is not an SRA run accession (SRR, ERR or DRR and digits)"#),
        ("key with a space", Kind::Protein, p(&[&P_FAMILY.replace("alns=", "al ns=")]), 2, "al ns", "invalid key (expected letters, digits and '_')"),
        ("empty key", Kind::Protein, p(&[&format!("{P_FAMILY}=x;")]), 2, "", "empty key before '='"),
    ]
}

#[test]
fn every_kind_of_error_names_line_field_and_message() {
    for (name, kind, text, line, field, message) in cases() {
        let e = error(kind, &text);
        assert_eq!(
            (e.line, e.field.as_str(), e.message.as_str()),
            (line, field, message),
            "case {name}"
        );
    }
}

#[test]
fn errors_render_like_a_compiler() {
    let text = lines(&[N_HEADER, &N_FAMILY.replace("score=100", "score=abc")]);
    let e = error(Kind::Nucleotide, text.as_bytes());
    assert_eq!(
        e.render("summary2/SRR1.summary"),
        r#"summary2/SRR1.summary:2: field 'score': invalid integer "abc""#
    );
    let e = error(Kind::Protein, b"\n");
    assert_eq!(e.render("x.psummary"), "x.psummary:1: empty line");
}

#[test]
fn at_least_forty_malformed_summaries_each_leave_nothing_in_the_lake() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let good = lines(&[R_HEADER, R_VIR]);
    for (name, kind, text, _, _, _) in cases {
        let inputs = [
            summary_guest::SummaryInput {
                kind: Kind::Rdrp,
                source: "good.psummary",
                bytes: good.as_bytes(),
            },
            summary_guest::SummaryInput {
                kind,
                source: "bad",
                bytes: &text,
            },
        ];
        let batch = summary_guest::convert_batch(
            &inputs,
            summary_guest::Layout::ScorePctid,
            &summary_guest::batch_name(&inputs),
        )
        .unwrap();
        assert!(
            matches!(batch.outcomes[1], summary_guest::Outcome::Failed(_)),
            "case {name}"
        );
        // only the good summary's two rows (run + one virus) are in any object
        assert_eq!(
            batch.objects.iter().map(|o| o.rows).sum::<u64>(),
            2,
            "case {name}"
        );
    }
}
