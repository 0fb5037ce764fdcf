//! What the lake is, as plain data and pure functions, shared by the guest
//! (which encodes Parquet for these tables) and by every host (which routes
//! files to kinds and writes objects under these keys and folders). No I/O.

pub mod batch_name;
pub mod catalog;
pub mod diagnostic;
pub mod keys;
pub mod kind;
pub mod layout;
pub mod prefixes;
pub mod source;
pub mod text;

pub use batch_name::{BatchName, NamedInput};
pub use catalog::{Column, ColumnType, Table};
pub use kind::Kind;
pub use layout::{Bucket, Layout};
