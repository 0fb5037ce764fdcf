//! `clear`: a kind's objects, manifests, dead letters, checkpoints,
//! journals and Glue tables, gone.

use std::process::ExitCode;

use anyhow::Result;
use summary_lake::catalog::tables_of;
use summary_lake::{prefixes, Kind};
use summary_pipeline::store::ObjectStore;

use crate::cli::ClearArgs;
use crate::context::Context;
use crate::glue_catalog::GlueCatalog;

#[derive(Debug, Default)]
pub struct ClearReport {
    /// Objects deleted per folder.
    pub deleted: Vec<(String, u64)>,
    /// Glue tables dropped.
    pub tables: Vec<&'static str>,
}

/// What `clear` would delete: objects per folder.
pub fn survey(lake: &dyn ObjectStore, kind: Kind) -> Result<Vec<(String, u64)>> {
    prefixes::of_kind(kind)
        .into_iter()
        .map(|prefix| Ok((prefix.clone(), lake.list(&prefix)?.len() as u64)))
        .collect()
}

pub fn clear(
    lake: &dyn ObjectStore,
    catalog: Option<&GlueCatalog>,
    kind: Kind,
) -> Result<ClearReport> {
    let mut report = ClearReport::default();
    for prefix in prefixes::of_kind(kind) {
        let deleted = lake.delete_prefix(&prefix)?;
        report.deleted.push((prefix, deleted));
    }
    if let Some(catalog) = catalog {
        for table in tables_of(kind) {
            if catalog.delete_table(table)? {
                report.tables.push(table.glue_name);
            }
        }
    }
    Ok(report)
}

/// `clear`: with `--yes` deletes the kind; with `--dry-run` lists every
/// object that would go; with neither, says how many would go and exits 3.
pub fn command(args: ClearArgs, ctx: &Context) -> Result<ExitCode> {
    let ClearArgs {
        destination,
        kind,
        yes,
        dry_run,
    } = args;
    let lake = ctx.open_lake_for(&destination, dry_run.dry_run)?;
    let drops_tables = !destination.no_glue
        && destination
            .dest
            .as_deref()
            .is_some_and(|d| d.starts_with("s3://"));
    if !yes && !dry_run.dry_run {
        for (prefix, count) in survey(lake.store.as_ref(), kind)? {
            println!(
                "would delete {count} objects under {}/{prefix}",
                lake.store.describe()
            );
        }
        if drops_tables {
            println!(
                "would drop the Glue tables of {kind} in database {}",
                destination.glue_database
            );
        }
        eprintln!("nothing deleted: add --yes to delete (or --dry-run to list every object)");
        return Ok(ExitCode::from(crate::cli::exit::REFUSED));
    }
    let report = clear(lake.store.as_ref(), lake.catalog.as_ref(), kind)?;
    if let Some(changes) = &lake.dry_run {
        for line in changes.lines() {
            println!("{line}");
        }
        if drops_tables {
            println!(
                "would drop the Glue tables of {kind} in database {}",
                destination.glue_database
            );
        }
        let (_, deletes) = changes.counts();
        println!("dry run: {deletes} objects would be deleted; nothing was");
        return Ok(ExitCode::SUCCESS);
    }
    for (prefix, count) in &report.deleted {
        println!(
            "deleted {count} objects under {}/{prefix}",
            lake.store.describe()
        );
    }
    if !report.tables.is_empty() {
        println!("dropped Glue tables {}", report.tables.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
