//! `summary-uploader replay` end to end on the fixtures.

use crate::support::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn replay(args: &[&str], cache: &Path) -> Output {
    crate::support::common::uploader_command()
        .arg("--component")
        .arg(common::component_path())
        .arg("--cache-dir")
        .arg(cache)
        .arg("replay")
        .args(args)
        .output()
        .unwrap()
}

/// Every file under `dir`, relative path to bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The fixtures plus one corrupt nucleotide summary, in a scratch folder.
fn source_tree(root: &Path) -> PathBuf {
    let source = root.join("in");
    for kind in ["nucleotide", "protein", "rdrp"] {
        std::fs::create_dir_all(source.join(kind)).unwrap();
        for file in common::fixture_files(kind) {
            std::fs::copy(&file, source.join(kind).join(file.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        source.join("nucleotide/SRR999.summary"),
        "readlength=95;SUMZER_COMMENT=sra=SRR999,genome=cov3ma,version=200818,date=200911-18:01;\n\
         famcvg=w;fam=F;score=abc;pctid=92;depth=1.5;aln=1;glb=1;len=1;top=T;topscore=1;toplen=1;topname=x;\n",
    )
    .unwrap();
    source
}

#[test]
fn replay_lands_good_files_reports_the_bad_one_and_is_idempotent() {
    let scratch = tempfile::tempdir().unwrap();
    let source = source_tree(scratch.path());
    let lake = scratch.path().join("lake");
    let cache = scratch.path().join("cache");
    let args = [source.to_str().unwrap(), "--lake", lake.to_str().unwrap()];

    let first = replay(&args, &cache);
    let (stdout, stderr) = (text(&first.stdout), text(&first.stderr));
    assert_eq!(
        first.status.code(),
        Some(1),
        "exit status says a file failed\n{stdout}\n{stderr}"
    );
    let bad = source.join("nucleotide/SRR999.summary");
    assert!(
        stderr.contains(&format!(
            "{}:2: field 'score': invalid integer \"abc\"",
            bad.display()
        )),
        "compiler-style error in\n{stderr}"
    );
    // one line per converted file, then the total
    assert_eq!(
        stdout.lines().filter(|l| l.contains(" sra=1 ")).count(),
        60,
        "{stdout}"
    );
    assert!(
        stdout.contains("DRR11074882 nucleotide sra=1 family=6 sequence=79 ("),
        "{stdout}"
    );
    assert!(stdout.contains("replayed 61 files into"), "{stdout}");
    assert!(
        stdout.contains(": 60 converted, 1 failed; 5616 rows;"),
        "{stdout}"
    );

    let lake_files = snapshot(&lake);
    assert!(
        lake_files.keys().all(|k| {
            k.extension().is_some_and(|e| e == "parquet")
                || (k.starts_with("_manifests") && k.extension().is_some_and(|e| e == "json"))
                // the lock files of conditional writes, hidden, one per stripe
                || k.starts_with(".locks")
                // the lake's descriptor: its layout
                || k == Path::new("_lake.json")
        }),
        "no temporary files: {:?}",
        lake_files.keys().collect::<Vec<_>>()
    );
    // replay writes each converted run's manifest, as events and backfill do
    assert_eq!(
        lake_files
            .keys()
            .filter(|k| k.starts_with("_manifests"))
            .count(),
        60
    );
    let sra_objects: Vec<_> = lake_files
        .keys()
        .filter(|k| {
            k.components()
                .nth(1)
                .is_some_and(|c| c.as_os_str() == "sra")
        })
        .collect();
    // One batch per kind: an object per kind, or per kind and bucket.
    let batch_objects = match common::score_pctid() {
        true => 3,
        false => ["nucleotide", "protein", "rdrp"]
            .iter()
            .map(|kind| {
                let runs = common::fixture_runs(kind);
                let buckets: std::collections::BTreeSet<&str> =
                    runs.iter().map(|r| &r[r.len() - 2..]).collect();
                buckets.len()
            })
            .sum(),
    };
    assert_eq!(
        sra_objects.len(),
        batch_objects,
        "one batch per kind: {sra_objects:?}"
    );
    assert!(sra_objects.iter().all(|k| k
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("batch-")));
    assert!(
        lake_files
            .values()
            .all(|bytes| !bytes.windows(6).any(|w| w == b"SRR999")),
        "nothing of the bad file"
    );

    // re-running over the same files leaves the lake byte-identical
    let second = replay(&args, &cache);
    assert_eq!(second.status.code(), Some(1));
    let parquet = lake_files
        .keys()
        .filter(|k| k.extension().is_some_and(|e| e == "parquet"))
        .count();
    assert!(text(&second.stdout).contains(&format!("0 objects written, {parquet} unchanged")));
    assert_eq!(snapshot(&lake), lake_files);

    // fixed, with --clear: the kinds are rebuilt, the fixed file lands
    std::fs::remove_file(&bad).unwrap();
    let third = replay(&[args[0], args[1], args[2], "--clear"], &cache);
    assert_eq!(third.status.code(), Some(0), "{}", text(&third.stderr));
    let cleared = snapshot(&lake);
    let nucleotide = |files: &BTreeMap<PathBuf, Vec<u8>>| -> Vec<PathBuf> {
        files
            .keys()
            .filter(|k| k.starts_with("nucleotide"))
            .cloned()
            .collect()
    };
    let (old, new) = (nucleotide(&lake_files), nucleotide(&cleared));
    assert_eq!(
        old.len(),
        new.len(),
        "the same partitions, in a batch of other inputs"
    );
    assert!(
        new.iter().all(|k| !old.contains(k)),
        "the old nucleotide batch objects were cleared"
    );
    // protein and RdRp batches had the same inputs: same keys, same bytes,
    // their manifests included
    let others = |files: &BTreeMap<PathBuf, Vec<u8>>| -> BTreeMap<PathBuf, Vec<u8>> {
        files
            .iter()
            .filter(|(k, _)| !k.iter().any(|part| part == "nucleotide"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(others(&cleared), others(&lake_files));
}

#[test]
fn replay_in_batches_of_one_writes_run_named_objects() {
    let scratch = tempfile::tempdir().unwrap();
    let lake = scratch.path().join("lake");
    let protein = common::fixtures().join("protein");
    let out = replay(
        &[
            protein.to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
            "--batch",
            "1",
            "--jobs",
            "2",
        ],
        &scratch.path().join("cache"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = snapshot(&lake);
    let sra: Vec<String> = files
        .keys()
        .filter(|k| k.starts_with("protein/sra"))
        .map(|k| k.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(sra.len(), 20);
    assert!(sra.contains(&"DRR1017695.parquet".to_string()), "{sra:?}");
    let sequence = match common::score_pctid() {
        true => "protein/sequence/score=2/pctid=63/DRR1017695.parquet",
        false => "protein/sequence/bucket=95/DRR1017695.parquet",
    };
    assert!(files.contains_key(Path::new(sequence)), "{sequence}");
}

#[test]
fn kind_comes_from_the_keys_when_the_folder_does_not_say() {
    let scratch = tempfile::tempdir().unwrap();
    let plain = scratch.path().join("incoming");
    std::fs::create_dir_all(&plain).unwrap();
    for (kind, name) in [
        ("rdrp", "DRR13913260.rsummary.psummary"),
        ("protein", "DRR1017695.psummary"),
        ("nucleotide", "SRR612821.summary"),
    ] {
        std::fs::copy(common::fixtures().join(kind).join(name), plain.join(name)).unwrap();
    }
    std::fs::write(plain.join("notes.summary"), "hello\n").unwrap();
    let lake = scratch.path().join("lake");
    let out = replay(
        &[plain.to_str().unwrap(), "--lake", lake.to_str().unwrap()],
        &scratch.path().join("cache"),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(
            "notes.summary: cannot tell the summary kind from its folder or its keys (use --kind)"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("DRR13913260 rdrp "), "{stdout}");
    assert!(stdout.contains("DRR1017695 protein "), "{stdout}");
    assert!(stdout.contains("SRR612821 nucleotide "), "{stdout}");
}

#[test]
fn missing_component_is_a_clear_error() {
    let out = crate::support::common::uploader_command()
        .args(["--component", "/nonexistent/converter.wasm", "replay", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "error: reading the converter component /nonexistent/converter.wasm: No such file or directory (os error 2)"
    );
}

#[test]
fn a_file_over_the_guest_limits_fails_alone_and_the_rest_land() {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("in/protein");
    std::fs::create_dir_all(&source).unwrap();
    for file in common::fixture_files("protein") {
        std::fs::copy(&file, source.join(file.file_name().unwrap())).unwrap();
    }
    // a generated 4.2 MB protein summary: ~43 MiB of guest memory to convert
    // into score/pctid objects (the layout this test pins: the run-bucket
    // layout's few objects need less, and this is about the limit, not the
    // layout)
    let big = summary_corpus::generate(1, 64);
    assert!(big.bytes.len() > 4_000_000 && big.kind == summary_lake::Kind::Protein);
    std::fs::write(source.join(&big.file_name), &big.bytes).unwrap();
    let lake = scratch.path().join("lake");
    let out = crate::support::common::uploader_command()
        .env("SUMMARY_LAYOUT", "score-pctid")
        .arg("--component")
        .arg(common::component_path())
        .args([
            "--guest-memory-mib",
            "24",
            "--guest-memory-per-byte",
            "0",
            "replay",
            "--lake",
        ])
        .arg(&lake)
        .arg(&source)
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let expected = format!(
        "{}: the converter failed on this batch: too large: needed more than 25165824 bytes of guest memory",
        source.join(&big.file_name).display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stdout.contains(": 20 converted, 1 failed;"), "{stdout}");
    let files = snapshot(&lake);
    let sra = files
        .iter()
        .find(|(k, _)| k.starts_with("protein/sra"))
        .unwrap();
    assert!(
        !sra.1
            .windows(big.run.len())
            .any(|w| w == big.run.as_bytes()),
        "nothing of the big file"
    );
}

/// The keys of the fixtures replayed in one batch per kind, pinned as they
/// were before the hosts took over naming batches from the guest (issue
/// 14): a re-run over an existing lake must overwrite its objects, not add
/// copies under new names. Run-bucket: every key (`golden/`); score-pctid:
/// each kind's batch name, the key count and a SHA-256 of the sorted keys
/// (1,490 of them), each followed by a newline.
#[test]
fn replayed_fixtures_keep_the_keys_they_always_had() {
    use sha2::{Digest, Sha256};

    let keys_of = |layout: &str| -> Vec<String> {
        let scratch = tempfile::tempdir().unwrap();
        let lake = scratch.path().join("lake");
        let out = replay(
            &[
                common::fixtures().to_str().unwrap(),
                "--lake",
                lake.to_str().unwrap(),
                "--layout",
                layout,
            ],
            &scratch.path().join("cache"),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let mut keys: Vec<String> = snapshot(&lake)
            .into_keys()
            .filter(|k| k.extension().is_some_and(|e| e == "parquet"))
            .map(|k| k.to_str().unwrap().to_string())
            .collect();
        // Byte order, as the golden file is sorted (paths sort by component).
        keys.sort();
        keys
    };

    let run_bucket = keys_of("run-bucket");
    let golden = include_str!("golden/fixture-keys-run-bucket.txt");
    assert_eq!(run_bucket, golden.lines().collect::<Vec<_>>());

    let score_pctid = keys_of("score-pctid");
    for (kind, name, count) in [
        ("nucleotide", "batch-7cfb2505994a424f", 246),
        ("protein", "batch-0d14419a5b522efc", 314),
        ("rdrp", "batch-7c8965d41adb3e1b", 930),
    ] {
        let of_kind: Vec<&String> = score_pctid
            .iter()
            .filter(|k| k.starts_with(&format!("{kind}/")))
            .collect();
        assert_eq!(of_kind.len(), count, "{kind}");
        assert!(
            of_kind
                .iter()
                .all(|k| k.ends_with(&format!("/{name}.parquet"))),
            "{kind}: {of_kind:?}"
        );
    }
    assert_eq!(score_pctid.len(), 1490);
    let mut digest = Sha256::new();
    for key in &score_pctid {
        digest.update(key.as_bytes());
        digest.update(b"\n");
    }
    assert_eq!(
        summary_lake::text::hex(&digest.finalize()),
        "6d55bca7a3fae7c1d1c43f9bc727cf089741250552951cba596a7e2394399685"
    );
}
