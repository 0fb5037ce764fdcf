//! The rules that keep the lake exact, as values: given what was read
//! (manifests, checkpoints, journals, the converter's output), each planner
//! returns a [`Plan`], the ordered steps of one write of the lake. Nothing
//! here does I/O; `summary-pipeline`'s `apply` carries plans out.
//!
//! The order every plan keeps, so that whatever a crash leaves behind is
//! listed in some manifest and a re-run finishes it: pending manifest →
//! objects → old objects retired → Glue → final manifest.

pub mod backfill;
pub mod batch;
pub mod compaction;
pub mod descriptor;
pub mod manifest;
pub mod object;
pub mod step;
pub mod version;

pub use object::ParquetObject;
pub use step::{Plan, Step};
