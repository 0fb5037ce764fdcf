//! Reading Parquet objects back in the guest's tests.

use parquet::file::reader::{FileReader, SerializedFileReader};

/// A column of a Parquet object, row by row: text as it is, numbers in
/// decimal.
pub fn column(bytes: &[u8], name: &str) -> Vec<String> {
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes)).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            let (_, field) = row
                .get_column_iter()
                .find(|(column, _)| column.as_str() == name)
                .unwrap();
            match field {
                parquet::record::Field::Str(s) => s.clone(),
                parquet::record::Field::Int(n) => n.to_string(),
                parquet::record::Field::Long(n) => n.to_string(),
                other => panic!("{name} is neither text nor an integer: {other:?}"),
            }
        })
        .collect()
}
