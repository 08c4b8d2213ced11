//! PostgreSQL's binary COPY format, for bulk writes that would otherwise bind thousands of
//! parameters (`COPY t (a, b) FROM STDIN (FORMAT binary)` with `PgConnection::copy_in_raw`).
//! Pure: it only builds bytes.
//!
//! Layout: the signature `PGCOPY\n\xff\r\n\0`, a 32-bit flags word (0: no OIDs) and a 32-bit
//! header-extension length (0); then per row a 16-bit field count and each field as a 32-bit
//! byte length followed by the value in network byte order (`int8`, `float8` as IEEE 754
//! bits, `bytea` as raw bytes); then the trailer, a field count of -1.

use super::DbError;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// A binary COPY stream under construction.
#[derive(Debug)]
pub struct BinaryCopy {
    buf: Vec<u8>,
}

impl BinaryCopy {
    pub fn with_capacity(bytes: usize) -> BinaryCopy {
        let mut buf = Vec::with_capacity(bytes + 21);
        buf.extend_from_slice(SIGNATURE);
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        buf.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        BinaryCopy { buf }
    }

    /// Starts a row of `fields` values, which must follow.
    pub fn row(&mut self, fields: i16) -> &mut Self {
        self.buf.extend_from_slice(&fields.to_be_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.buf.extend_from_slice(&2i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&4i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.buf.extend_from_slice(&8i32.to_be_bytes());
        self.buf.extend_from_slice(&v.to_bits().to_be_bytes());
        self
    }

    /// A `bytea` value; refused when its length does not fit the 32-bit length field.
    pub fn bytes(&mut self, v: &[u8]) -> Result<&mut Self, DbError> {
        let len = i32::try_from(v.len()).map_err(|_| DbError::CopyFieldTooLarge(v.len()))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(v);
        Ok(self)
    }

    /// Bytes of the rows written so far (header included).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() <= SIGNATURE.len() + 8
    }

    /// The complete stream, with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_framed_as_postgres_documents_it() {
        let mut c = BinaryCopy::with_capacity(0);
        c.row(3).i64(1).f64(0.5);
        c.bytes(b"ab").expect("small");
        let out = c.finish();
        let mut want = b"PGCOPY\n\xff\r\n\0".to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[0, 3]);
        want.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
        want.extend_from_slice(&[0, 0, 0, 8, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[0, 0, 0, 2, b'a', b'b']);
        want.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(out, want);
    }
}
