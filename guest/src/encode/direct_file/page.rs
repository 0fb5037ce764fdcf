//! Page headers (Thrift `PageHeader`) and snappy, as parquet-rs writes them.

use super::{Unwritten, DICTIONARY_PAGE, RLE};
use crate::encode::thrift::{FieldType, Thrift};

/// Page headers and snappy, with their buffers.
pub(super) struct PageWriter {
    header: Vec<u8>,
    compressed: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl Default for PageWriter {
    fn default() -> Self {
        PageWriter {
            header: Vec::new(),
            compressed: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }
}

impl PageWriter {
    /// Appends a page (header, then `body`, snappy-compressed if
    /// `compress`) to `out`; returns its bytes before and after compression,
    /// header included. Snappy fails only past 4 GiB.
    pub(super) fn write(
        &mut self,
        page_type: i32,
        num_values: i32,
        encoding: i32,
        body: &[u8],
        compress: bool,
        out: &mut Vec<u8>,
    ) -> Result<(i64, i64), Unwritten> {
        let body_out = if compress {
            self.compressed
                .resize(snap::raw::max_compress_len(body.len()), 0);
            let len = (self.snappy.compress(body, &mut self.compressed))
                .map_err(|_| Unwritten::ForParquetRs)?;
            &self.compressed[..len]
        } else {
            body
        };
        self.header.clear();
        let mut t = Thrift {
            out: &mut self.header,
        };
        t.i32_field(1, 0, page_type);
        t.i32_field(2, 1, body.len() as i32);
        t.i32_field(3, 2, body_out.len() as i32);
        if page_type == DICTIONARY_PAGE {
            t.field(FieldType::Struct, 7, 3);
            t.i32_field(1, 0, num_values);
            t.i32_field(2, 1, encoding);
            t.bool_field(3, 2, false); // is_sorted
        } else {
            t.field(FieldType::Struct, 5, 3);
            t.i32_field(1, 0, num_values);
            t.i32_field(2, 1, encoding);
            t.i32_field(3, 2, RLE); // definition levels
            t.i32_field(4, 3, RLE); // repetition levels
        }
        t.stop();
        t.stop();
        out.extend_from_slice(&self.header);
        out.extend_from_slice(body_out);
        let header = self.header.len() as i64;
        Ok((header + body.len() as i64, header + body_out.len() as i64))
    }
}
