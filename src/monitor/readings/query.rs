//! Answering history queries from blocks and memtable points. Pure: no I/O.
//!
//! The same (sensor, ts) can be in several places: written twice in one memtable
//! generation (compaction keeps the last), or written again after its first copy was
//! compacted into a block. The rule everywhere is "the last write wins": blocks rank by id
//! (a later compaction or merge has a greater id), memtable points rank after every block,
//! in arrival order.

use super::codec::{self, CodecError};
use super::{Bucket, Point};

/// A block row as read from the database.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    pub id: i64,
    pub t_min: i64,
    pub t_max: i64,
    pub n: i64,
    pub v_min: f64,
    pub v_max: f64,
    pub v_sum: f64,
    pub data: Vec<u8>,
}

/// Which blocks overlap nothing else: no other block's span and no memtable point falls in
/// their [t_min, t_max]. Only those may be used without deduplication. `blocks` in any
/// order; `mem_sorted` the memtable timestamps sorted.
fn isolated(blocks: &[StoredBlock], mem_sorted: &[i64]) -> Vec<bool> {
    let mut by_start: Vec<usize> = (0..blocks.len()).collect();
    by_start.sort_unstable_by_key(|&i| (blocks[i].t_min, blocks[i].t_max));
    let mut out = vec![true; blocks.len()];
    let mut reach = i64::MIN;
    for (k, &i) in by_start.iter().enumerate() {
        let b = &blocks[i];
        if k > 0 && b.t_min <= reach {
            out[i] = false;
        }
        if let Some(&j) = by_start.get(k + 1)
            && blocks[j].t_min <= b.t_max
        {
            out[i] = false;
        }
        reach = reach.max(b.t_max);
        let p = mem_sorted.partition_point(|&t| t < b.t_min);
        if mem_sorted.get(p).is_some_and(|&t| t <= b.t_max) {
            out[i] = false;
        }
    }
    out
}

/// Points of [from, to) from blocks sorted by id and memtable points in arrival order,
/// sorted by timestamp, one per timestamp (the last write).
pub fn merged_points(
    blocks: &[StoredBlock],
    mem: &[(i64, f64)],
    from: i64,
    to: i64,
) -> Result<Vec<Point>, CodecError> {
    let mut pile: Vec<(i64, u32, f64)> = Vec::new();
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for (rank, b) in blocks.iter().enumerate() {
        ts.clear();
        vs.clear();
        codec::decode_block(&b.data, &mut ts, &mut vs)?;
        let lo = ts.partition_point(|&t| t < from);
        let hi = ts.partition_point(|&t| t < to);
        pile.extend((lo..hi).map(|i| (ts[i], rank as u32, vs[i])));
    }
    let base = blocks.len() as u32;
    pile.extend(
        mem.iter()
            .enumerate()
            .filter(|(_, (t, _))| *t >= from && *t < to)
            .map(|(i, &(t, v))| (t, base.saturating_add(i as u32), v)),
    );
    // Blocks of one sensor usually follow each other in time, so the pile is often sorted
    // already and the check saves the sort of a 30-day chart.
    if !pile.is_sorted_by_key(|&(t, r, _)| (t, r)) {
        pile.sort_unstable_by_key(|&(t, r, _)| (t, r));
    }
    let mut out: Vec<Point> = Vec::with_capacity(pile.len());
    for (t, _, v) in pile {
        match out.last_mut() {
            Some(p) if p.ts_ms == t => p.value = v,
            _ => out.push(Point { ts_ms: t, value: v }),
        }
    }
    Ok(out)
}

#[derive(Clone, Copy)]
struct Acc {
    min: f64,
    max: f64,
    sum: f64,
    count: u64,
}

impl Acc {
    const EMPTY: Acc = Acc {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
        count: 0,
    };

    fn add(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.count += 1;
    }
}

/// Min/max/avg/count per bucket `[from + k·bucket_ms, from + (k+1)·bucket_ms)` within
/// [from, to); empty buckets are left out. A block that lies inside one bucket and overlaps
/// nothing else contributes its stored aggregates without being decoded.
pub fn bucketed(
    blocks: &[StoredBlock],
    mem: &[(i64, f64)],
    from: i64,
    to: i64,
    bucket_ms: i64,
) -> Result<Vec<Bucket>, CodecError> {
    let span = to.saturating_sub(from).max(0);
    let nb =
        usize::try_from(span.div_euclid(bucket_ms) + i64::from(span % bucket_ms != 0)).unwrap_or(0);
    let mut acc = vec![Acc::EMPTY; nb];
    let bucket_of = |t: i64| ((t - from) / bucket_ms) as usize;

    let mut mem_ts: Vec<i64> = mem
        .iter()
        .map(|&(t, _)| t)
        .filter(|&t| t >= from && t < to)
        .collect();
    mem_ts.sort_unstable();
    let alone = isolated(blocks, &mem_ts);

    let mut rest: Vec<StoredBlock> = Vec::new();
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for (b, &alone) in blocks.iter().zip(&alone) {
        if !alone {
            rest.push(b.clone());
            continue;
        }
        let inside = b.t_min >= from && b.t_max < to;
        if inside && b.n > 0 && bucket_of(b.t_min) == bucket_of(b.t_max) {
            let a = &mut acc[bucket_of(b.t_min)];
            a.min = a.min.min(b.v_min);
            a.max = a.max.max(b.v_max);
            a.sum += b.v_sum;
            a.count += b.n as u64;
            continue;
        }
        ts.clear();
        vs.clear();
        codec::decode_block(&b.data, &mut ts, &mut vs)?;
        for (&t, &v) in ts.iter().zip(&vs) {
            if t >= from && t < to {
                acc[bucket_of(t)].add(v);
            }
        }
    }
    for p in merged_points(&rest, mem, from, to)? {
        acc[bucket_of(p.ts_ms)].add(p.value);
    }
    Ok(acc
        .iter()
        .enumerate()
        .filter(|(_, a)| a.count > 0)
        .map(|(k, a)| Bucket {
            start_ms: from + k as i64 * bucket_ms,
            min: a.min,
            max: a.max,
            avg: a.sum / a.count as f64,
            count: a.count,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(id: i64, pts: &[(i64, f64)]) -> StoredBlock {
        let ts: Vec<i64> = pts.iter().map(|p| p.0).collect();
        let vs: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let mut data = Vec::new();
        codec::encode_block(&ts, &vs, &mut data);
        StoredBlock {
            id,
            t_min: ts[0],
            t_max: *ts.last().unwrap_or(&ts[0]),
            n: ts.len() as i64,
            v_min: vs.iter().copied().fold(f64::INFINITY, f64::min),
            v_max: vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            v_sum: vs.iter().sum(),
            data,
        }
    }

    #[test]
    fn the_last_write_wins_across_blocks_and_memtable() {
        let b1 = block(1, &[(10, 1.0), (20, 1.0), (30, 1.0)]);
        let b2 = block(2, &[(20, 2.0), (40, 2.0)]);
        let mem = [(30, 3.0), (50, 3.0), (30, 4.0)];
        let got = merged_points(&[b1, b2], &mem, 0, 100).expect("decodes");
        let got: Vec<_> = got.iter().map(|p| (p.ts_ms, p.value)).collect();
        assert_eq!(
            got,
            vec![(10, 1.0), (20, 2.0), (30, 4.0), (40, 2.0), (50, 3.0)]
        );
    }

    #[test]
    fn overlapping_blocks_are_not_counted_twice_in_buckets() {
        let b1 = block(1, &[(10, 1.0), (20, 1.0)]);
        let b2 = block(2, &[(20, 5.0)]);
        let got = bucketed(&[b1, b2], &[], 0, 100, 100).expect("decodes");
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].count, got[0].min, got[0].max), (2, 1.0, 5.0));
    }

    #[test]
    fn a_point_on_a_bucket_boundary_belongs_to_the_later_bucket() {
        let mem = [(5, 1.0), (15, 2.0), (25, 3.0), (24, 4.0)];
        let got = bucketed(&[], &mem, 5, 25, 10).expect("decodes");
        let got: Vec<_> = got.iter().map(|b| (b.start_ms, b.count)).collect();
        assert_eq!(got, vec![(5, 1), (15, 2)]);
    }
}
