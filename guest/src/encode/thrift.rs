//! The Thrift compact protocol, writing only: what Parquet's page headers
//! and footer are made of. Written as parquet-rs 59 writes it (field ids
//! as deltas where they fit, lists with a size nibble below 15), so that
//! [`super::direct_file`] produces parquet-rs' bytes exactly.

/// Compact protocol type ids.
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum FieldType {
    BoolTrue = 1,
    BoolFalse = 2,
    I16 = 4,
    I32 = 5,
    I64 = 6,
    Binary = 8,
    List = 9,
    Struct = 12,
}

/// Appends Thrift compact encodings to a byte vector. The caller tracks
/// the last field id of the struct it is in, as the protocol requires.
pub struct Thrift<'o> {
    pub out: &'o mut Vec<u8>,
}

impl Thrift<'_> {
    pub fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.out.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.out.push(value as u8);
    }

    fn zigzag(&mut self, value: i64) {
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    pub fn field(&mut self, ty: FieldType, id: i16, last: i16) {
        let delta = id - last;
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | ty as u8);
        } else {
            self.out.push(ty as u8);
            self.zigzag(i64::from(id));
        }
    }

    pub fn i32_field(&mut self, id: i16, last: i16, value: i32) {
        self.field(FieldType::I32, id, last);
        self.zigzag(i64::from(value));
    }

    pub fn i64_field(&mut self, id: i16, last: i16, value: i64) {
        self.field(FieldType::I64, id, last);
        self.zigzag(value);
    }

    pub fn i16_field(&mut self, id: i16, last: i16, value: i16) {
        self.field(FieldType::I16, id, last);
        self.zigzag(i64::from(value));
    }

    pub fn bool_field(&mut self, id: i16, last: i16, value: bool) {
        let ty = match value {
            true => FieldType::BoolTrue,
            false => FieldType::BoolFalse,
        };
        self.field(ty, id, last);
    }

    pub fn binary_field(&mut self, id: i16, last: i16, value: &[u8]) {
        self.field(FieldType::Binary, id, last);
        self.binary(value);
    }

    pub fn binary(&mut self, value: &[u8]) {
        self.varint(value.len() as u64);
        self.out.extend_from_slice(value);
    }

    pub fn i32(&mut self, value: i32) {
        self.zigzag(i64::from(value));
    }

    pub fn i64(&mut self, value: i64) {
        self.zigzag(value);
    }

    /// A list field's header; its `len` elements follow.
    pub fn list_field(&mut self, id: i16, last: i16, element: FieldType, len: usize) {
        self.field(FieldType::List, id, last);
        self.list(element, len);
    }

    pub fn list(&mut self, element: FieldType, len: usize) {
        if len < 15 {
            self.out.push(((len as u8) << 4) | element as u8);
        } else {
            self.out.push(0xf0 | element as u8);
            self.varint(len as u64);
        }
    }

    /// The end of a struct (or union).
    pub fn stop(&mut self) {
        self.out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lists_and_numbers() {
        let mut out = Vec::new();
        let mut t = Thrift { out: &mut out };
        t.i32_field(1, 0, 1); // delta 1, zigzag(1) = 2
        t.i64_field(17, 1, -1); // delta 16: long form, id zigzag 34, value 1
        t.list_field(2, 0, FieldType::Binary, 20);
        t.bool_field(3, 2, false);
        t.varint(300);
        assert_eq!(
            out,
            [0x15, 2, 0x06, 34, 1, 0x29, 0xf8, 20, 0x12, 0xac, 0x02]
        );
    }
}
