//! Binary formats of the reading store: the log body and the block data. Pure: no I/O.
//!
//! Both formats are hand-written rather than taken from a crate. `tsz` (Gorilla) has not been
//! maintained since 2017 and works bit by bit, which is slow to decode; `pco`/`q_compress`
//! compress better but are built for large numeric chunks, pull in more code, and a block
//! here is often a few hundred points. The formats below are byte-aligned, so they encode
//! and decode at several hundred million bytes per second, and a sensor sampled at a steady
//! interval with a slowly changing value costs about 3–5 bytes per point instead of 16.
//!
//! Every decoder checks lengths and returns [`CodecError`] on malformed input, never panics:
//! the bytes come from the database, which another program (or a disk fault) may have touched.

use super::Reading;

/// First byte of a log chunk. A log body is one or more chunks back to back, so the writer
/// can concatenate the chunks of several callers into one row without re-encoding.
const LOG_CHUNK_V1: u8 = 1;
/// First byte of a block's data.
const BLOCK_V1: u8 = 1;
/// XOR header meaning "same value as the previous point".
const XOR_SAME: u8 = 0xFF;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("truncated data")]
    Truncated,
    #[error("unknown format version {0}")]
    Version(u8),
    #[error("malformed data: {0}")]
    Malformed(&'static str),
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over untrusted bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or(CodecError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).ok_or(CodecError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(CodecError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Malformed("varint longer than 10 bytes"))
    }

    fn f64(&mut self) -> Result<f64, CodecError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A count that must be plausible for the remaining input, so a corrupt length cannot
    /// make the decoder reserve gigabytes.
    fn count(&mut self, min_bytes_each: usize) -> Result<usize, CodecError> {
        let n = usize::try_from(self.varint()?).map_err(|_| CodecError::Malformed("count"))?;
        let left = self.buf.len() - self.pos;
        if n.saturating_mul(min_bytes_each) > left {
            return Err(CodecError::Truncated);
        }
        Ok(n)
    }
}

/// Encodes one ingest batch as a log chunk: per reading the sensor number (varint), the
/// timestamp as a zigzag delta from the previous reading of the chunk (readings of a batch
/// are usually close in time, so 1–3 bytes) and the value as 8 raw bytes. Values are not
/// compressed here because the log is short-lived and encoding must stay cheap.
pub fn encode_log_chunk(readings: &[Reading], out: &mut Vec<u8>) {
    out.reserve(readings.len() * 12 + 6);
    out.push(LOG_CHUNK_V1);
    put_varint(out, readings.len() as u64);
    let mut prev = 0i64;
    for r in readings {
        put_varint(out, u64::from(r.sensor));
        put_varint(out, zigzag(r.ts_ms.wrapping_sub(prev)));
        prev = r.ts_ms;
        out.extend_from_slice(&r.value.to_le_bytes());
    }
}

/// Decodes a log body (one or more chunks), calling `f` for each reading in order.
pub fn decode_log_body(body: &[u8], mut f: impl FnMut(Reading)) -> Result<(), CodecError> {
    let mut r = Reader::new(body);
    while !r.at_end() {
        let v = r.byte()?;
        if v != LOG_CHUNK_V1 {
            return Err(CodecError::Version(v));
        }
        // Each reading takes at least 1 + 1 + 8 bytes.
        let n = r.count(10)?;
        let mut prev = 0i64;
        for _ in 0..n {
            let sensor = u32::try_from(r.varint()?)
                .map_err(|_| CodecError::Malformed("sensor number beyond u32"))?;
            let ts_ms = prev.wrapping_add(unzigzag(r.varint()?));
            prev = ts_ms;
            let value = r.f64()?;
            f(Reading {
                sensor,
                ts_ms,
                value,
            });
        }
    }
    Ok(())
}

/// Encodes the points of one block, which must be sorted by timestamp without duplicates.
///
/// Layout: version, count (varint); timestamps: the first as zigzag varint, then
/// delta-of-delta as zigzag varints (a steady sampling interval gives 0, one byte); values:
/// the first as 8 bytes, then each XOR the previous one written byte-aligned: a header byte
/// `(leading zero bytes << 4) | trailing zero bytes` and the bytes between, or `0xFF` alone
/// when the value repeats. Timestamps come first so a reader could stop after them.
pub fn encode_block(ts: &[i64], values: &[f64], out: &mut Vec<u8>) {
    debug_assert_eq!(ts.len(), values.len());
    out.push(BLOCK_V1);
    put_varint(out, ts.len() as u64);
    let mut prev_ts = 0i64;
    let mut prev_delta = 0i64;
    for (i, &t) in ts.iter().enumerate() {
        if i == 0 {
            put_varint(out, zigzag(t));
        } else {
            let delta = t.wrapping_sub(prev_ts);
            put_varint(out, zigzag(delta.wrapping_sub(prev_delta)));
            prev_delta = delta;
        }
        prev_ts = t;
    }
    let mut prev_bits = 0u64;
    for (i, v) in values.iter().enumerate() {
        let bits = v.to_bits();
        if i == 0 {
            out.extend_from_slice(&bits.to_le_bytes());
        } else {
            let x = bits ^ prev_bits;
            if x == 0 {
                out.push(XOR_SAME);
            } else {
                let lead = (x.leading_zeros() / 8) as usize;
                let trail = (x.trailing_zeros() / 8) as usize;
                out.push(((lead as u8) << 4) | trail as u8);
                // Big-endian so the leading zero bytes are the first ones skipped.
                let be = x.to_be_bytes();
                out.extend_from_slice(&be[lead..8 - trail]);
            }
        }
        prev_bits = bits;
    }
}

/// Decodes a block's points, appending to `ts` and `values`.
pub fn decode_block(
    data: &[u8],
    ts: &mut Vec<i64>,
    values: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let mut r = Reader::new(data);
    let v = r.byte()?;
    if v != BLOCK_V1 {
        return Err(CodecError::Version(v));
    }
    // Each point takes at least one timestamp byte and one value byte.
    let n = r.count(2)?;
    ts.reserve(n);
    values.reserve(n);
    let mut prev_ts = 0i64;
    let mut prev_delta = 0i64;
    for i in 0..n {
        let z = unzigzag(r.varint()?);
        let t = if i == 0 {
            z
        } else {
            prev_delta = prev_delta.wrapping_add(z);
            prev_ts.wrapping_add(prev_delta)
        };
        ts.push(t);
        prev_ts = t;
    }
    let mut prev_bits = 0u64;
    for i in 0..n {
        let bits = if i == 0 {
            r.f64()?.to_bits()
        } else {
            let h = r.byte()?;
            if h == XOR_SAME {
                prev_bits
            } else {
                let lead = usize::from(h >> 4);
                let trail = usize::from(h & 0x0F);
                if lead + trail >= 8 {
                    return Err(CodecError::Malformed("XOR header"));
                }
                let mid = r.bytes(8 - lead - trail)?;
                let mut be = [0u8; 8];
                be[lead..8 - trail].copy_from_slice(mid);
                prev_bits ^ u64::from_be_bytes(be)
            }
        };
        values.push(f64::from_bits(bits));
        prev_bits = bits;
    }
    if !r.at_end() {
        return Err(CodecError::Malformed("trailing bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn a_log_body_of_concatenated_chunks_decodes_to_every_reading_in_order() {
        let mut rng = rng();
        let a: Vec<Reading> = (0..500)
            .map(|_| Reading {
                sensor: rng.r#gen(),
                ts_ms: rng.gen_range(-1_000_000_000_000i64..4_000_000_000_000),
                value: rng.r#gen::<f64>() * 1e6 - 5e5,
            })
            .collect();
        let b = vec![Reading {
            sensor: 0,
            ts_ms: i64::MIN,
            value: f64::NAN,
        }];
        let mut body = Vec::new();
        encode_log_chunk(&a, &mut body);
        encode_log_chunk(&[], &mut body);
        encode_log_chunk(&b, &mut body);
        let mut got = Vec::new();
        decode_log_body(&body, |r| got.push(r)).expect("decodes");
        assert_eq!(got.len(), 501);
        for (x, y) in got.iter().zip(a.iter().chain(b.iter())) {
            assert_eq!(x.sensor, y.sensor);
            assert_eq!(x.ts_ms, y.ts_ms);
            assert_eq!(x.value.to_bits(), y.value.to_bits());
        }
    }

    #[test]
    fn a_block_round_trips_bit_for_bit_including_odd_floats() {
        let mut rng = rng();
        let mut t = 1_700_000_000_000i64;
        let mut ts = Vec::new();
        let mut vs = Vec::new();
        for i in 0..2000 {
            t += if i % 7 == 0 {
                rng.gen_range(1..100_000)
            } else {
                10_000
            };
            ts.push(t);
            vs.push(match i % 11 {
                0 => f64::NAN,
                1 => -0.0,
                2 => f64::INFINITY,
                3 => vs.last().copied().unwrap_or(1.0),
                _ => 20.0 + rng.gen_range(0..100) as f64 / 10.0,
            });
        }
        let mut data = Vec::new();
        encode_block(&ts, &vs, &mut data);
        let (mut ts2, mut vs2) = (Vec::new(), Vec::new());
        decode_block(&data, &mut ts2, &mut vs2).expect("decodes");
        assert_eq!(ts, ts2);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&vs), bits(&vs2));
    }

    #[test]
    fn a_steady_sensor_costs_a_few_bytes_per_point() {
        let ts: Vec<i64> = (0..8640).map(|i| 1_700_000_000_000 + i * 10_000).collect();
        let vs: Vec<f64> = (0..8640)
            .map(|i| 25.0 + ((i / 60) % 10) as f64 * 0.5)
            .collect();
        let mut data = Vec::new();
        encode_block(&ts, &vs, &mut data);
        assert!(data.len() < 8640 * 3, "{} bytes", data.len());
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let ts: Vec<i64> = (0..100).map(|i| i * 1000).collect();
        let vs: Vec<f64> = (0..100).map(|i| i as f64 * 0.37).collect();
        let mut data = Vec::new();
        encode_block(&ts, &vs, &mut data);
        for cut in 0..data.len() {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            assert!(decode_block(&data[..cut], &mut a, &mut b).is_err());
        }
        let mut rng = rng();
        for _ in 0..2000 {
            let mut bad = data.clone();
            let i = rng.gen_range(0..bad.len());
            bad[i] = rng.r#gen();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let _ = decode_block(&bad, &mut a, &mut b);
            let _ = decode_log_body(&bad, |_| {});
        }
        assert_eq!(
            decode_log_body(&[1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], |_| {}),
            Err(CodecError::Truncated)
        );
    }
}
