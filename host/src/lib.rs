//! The native host: runs the summary converter component under wasmtime
//! and writes its Parquet objects to an object store. I/O and wiring only;
//! the lake's layout lives in `summary-layout`, the conversion in the guest.

pub mod converter;
pub mod replay;
pub mod store;
