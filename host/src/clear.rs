//! `clear`: a kind's objects, manifests, dead letters, checkpoints,
//! journals and Glue tables, gone.

use anyhow::Result;
use summary_layout::catalog::tables_of;
use summary_layout::Kind;

use crate::glue_catalog::GlueCatalog;
use crate::store::ObjectStore;

/// The folders of the lake that belong to a kind, data first.
pub fn prefixes(kind: Kind) -> [String; 5] {
    [
        format!("{kind}/"),
        format!("_compaction/{kind}/"),
        format!("_backfill/{kind}/"),
        format!("_errors/{kind}/"),
        format!("_manifests/{kind}/"),
    ]
}

#[derive(Debug, Default)]
pub struct ClearReport {
    /// Objects deleted per folder.
    pub deleted: Vec<(String, u64)>,
    /// Glue tables dropped.
    pub tables: Vec<&'static str>,
}

/// What `clear` would delete: objects per folder.
pub fn survey(lake: &dyn ObjectStore, kind: Kind) -> Result<Vec<(String, u64)>> {
    prefixes(kind)
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
    for prefix in prefixes(kind) {
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
