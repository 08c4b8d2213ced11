//! The memtable: readings whose log rows are not yet compacted, in one flat columnar buffer.
//! Pure: no I/O.
//!
//! One buffer for all sensors, bounded by the total count, rather than a buffer per sensor:
//! with a million sensors a per-sensor `Vec` alone would cost more than the 200 bytes per
//! sensor the store may use. Columns (u32 + i64 + f64 = 20 bytes a reading) rather than a
//! `Vec<Reading>` (24 bytes with padding) and so a scan for one sensor touches only the
//! sensor column until it finds a match.

use super::Reading;
use super::codec;

/// A sensor's points ready to become one block: sorted by timestamp, no duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockDraft {
    pub sensor: u32,
    pub ts: Vec<i64>,
    pub values: Vec<f64>,
    pub v_min: f64,
    pub v_max: f64,
    pub v_sum: f64,
}

/// A block ready to be written: its aggregates and encoded points.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBlock {
    pub sensor: u32,
    pub t_min: i64,
    pub t_max: i64,
    pub n: i64,
    pub v_min: f64,
    pub v_max: f64,
    pub v_sum: f64,
    pub data: Vec<u8>,
}

impl BlockDraft {
    pub fn new(sensor: u32) -> BlockDraft {
        BlockDraft {
            sensor,
            ts: Vec::new(),
            values: Vec::new(),
            v_min: f64::INFINITY,
            v_max: f64::NEG_INFINITY,
            v_sum: 0.0,
        }
    }

    fn reset(&mut self, sensor: u32) {
        self.sensor = sensor;
        self.ts.clear();
        self.values.clear();
        self.v_min = f64::INFINITY;
        self.v_max = f64::NEG_INFINITY;
        self.v_sum = 0.0;
    }

    /// Adds a point; points must come sorted by timestamp without duplicates.
    pub fn push(&mut self, t: i64, v: f64) {
        self.ts.push(t);
        self.values.push(v);
        self.v_min = self.v_min.min(v);
        self.v_max = self.v_max.max(v);
        self.v_sum += v;
    }

    /// Encodes the points; `None` for an empty draft, which has no span.
    pub fn encode(&self) -> Option<NewBlock> {
        let (&t_min, &t_max) = (self.ts.first()?, self.ts.last()?);
        let mut data = Vec::with_capacity(self.ts.len() * 4 + 16);
        codec::encode_block(&self.ts, &self.values, &mut data);
        Some(NewBlock {
            sensor: self.sensor,
            t_min,
            t_max,
            n: self.ts.len() as i64,
            v_min: self.v_min,
            v_max: self.v_max,
            v_sum: self.v_sum,
            data,
        })
    }
}

#[derive(Debug, Default)]
pub struct Memtable {
    sensors: Vec<u32>,
    ts: Vec<i64>,
    values: Vec<f64>,
    /// The first and last log `seq` whose readings are here: compaction deletes exactly
    /// this range of log rows in the transaction that writes the blocks.
    seq_range: Option<(i64, i64)>,
}

impl Memtable {
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn seq_range(&self) -> Option<(i64, i64)> {
        self.seq_range
    }

    /// Heap bytes held, counted by capacity since that is what the allocator gave us.
    pub fn bytes(&self) -> usize {
        self.sensors.capacity() * 4 + self.ts.capacity() * 8 + self.values.capacity() * 8
    }

    /// Adds the readings of the log row `seq`. Rows must arrive in increasing `seq`.
    pub fn push_row(&mut self, seq: i64, readings: impl IntoIterator<Item = Reading>) {
        for r in readings {
            self.sensors.push(r.sensor);
            self.ts.push(r.ts_ms);
            self.values.push(r.value);
        }
        self.seq_range = Some(match self.seq_range {
            None => (seq, seq),
            Some((lo, hi)) => (lo.min(seq), hi.max(seq)),
        });
    }

    /// Calls `f(index, ts, value)` for each reading of `sensor` with `from <= ts < to`, in
    /// arrival order. The index orders duplicates: a later index is a later write.
    pub fn scan(&self, sensor: u32, from: i64, to: i64, mut f: impl FnMut(usize, i64, f64)) {
        for (i, &s) in self.sensors.iter().enumerate() {
            if s == sensor {
                let t = self.ts[i];
                if t >= from && t < to {
                    f(i, t, self.values[i]);
                }
            }
        }
    }

    /// The last written reading of `sensor` with the greatest timestamp.
    pub fn latest(&self, sensor: u32) -> Option<(i64, f64)> {
        let mut best: Option<(i64, f64)> = None;
        for (i, &s) in self.sensors.iter().enumerate() {
            if s == sensor && best.is_none_or(|(t, _)| self.ts[i] >= t) {
                best = Some((self.ts[i], self.values[i]));
            }
        }
        best
    }

    /// Sorts by (sensor, ts), keeps the last write of each duplicate and hands `f` one
    /// draft per sensor and UTC day, reusing one draft so compaction holds the encoded
    /// blocks but never a second copy of the points. Splitting at midnight lets the
    /// background merge combine a sensor's blocks of one day without splitting any.
    ///
    /// The sort is in two steps because compaction runs beside ingest on the same cores:
    /// first by sensor, on keys packed as `sensor << 32 | index` (plain integers, so the
    /// comparisons touch no other memory, and the index keeps arrival order within a
    /// sensor); then each sensor's run by timestamp, which is usually sorted already and
    /// then costs one pass. Sorting indices by a (sensor, ts, index) key read through the
    /// columns took several times longer for two million readings.
    pub fn for_each_draft(&self, mut f: impl FnMut(&BlockDraft)) {
        let n = self.len();
        debug_assert!(u32::try_from(n).is_ok(), "memtable indices fit in 32 bits");
        let mut order: Vec<u64> = self
            .sensors
            .iter()
            .enumerate()
            .map(|(i, &s)| (u64::from(s) << 32) | i as u64)
            .collect();
        order.sort_unstable();
        let mut run: Vec<(i64, u32)> = Vec::new();
        let mut d = BlockDraft::new(0);
        let mut k = 0;
        while k < n {
            let sensor = (order[k] >> 32) as u32;
            let len = order[k..].partition_point(|&x| (x >> 32) as u32 == sensor);
            run.clear();
            run.extend(order[k..k + len].iter().map(|&x| {
                let i = x as u32;
                (self.ts[i as usize], i)
            }));
            k += len;
            // (ts, index): the index puts the last write of a duplicate last.
            if !run.is_sorted() {
                run.sort_unstable();
            }
            d.reset(sensor);
            let mut j = 0;
            while j < run.len() {
                // Skip to the last write of this timestamp.
                let t = run[j].0;
                while run.get(j + 1).is_some_and(|&(t2, _)| t2 == t) {
                    j += 1;
                }
                let v = self.values[run[j].1 as usize];
                j += 1;
                if d.ts
                    .first()
                    .is_some_and(|&t0| t0.div_euclid(super::DAY_MS) != t.div_euclid(super::DAY_MS))
                {
                    f(&d);
                    d.reset(sensor);
                }
                d.push(t, v);
            }
            if !d.ts.is_empty() {
                f(&d);
            }
        }
    }

    /// The drafts as a list (tests; compaction uses [`Memtable::for_each_draft`]).
    #[cfg(test)]
    pub fn drafts(&self) -> Vec<BlockDraft> {
        let mut out = Vec::new();
        self.for_each_draft(|d| out.push(d.clone()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(sensor: u32, ts_ms: i64, value: f64) -> Reading {
        Reading {
            sensor,
            ts_ms,
            value,
        }
    }

    #[test]
    fn drafts_are_sorted_per_sensor_and_keep_the_last_write_of_a_duplicate() {
        let mut m = Memtable::default();
        m.push_row(5, [r(2, 30, 1.0), r(1, 20, 2.0), r(2, 10, 3.0)]);
        m.push_row(6, [r(2, 30, 9.0), r(1, 10, 4.0)]);
        assert_eq!(m.seq_range(), Some((5, 6)));
        let d = m.drafts();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].sensor, &d[0].ts, &d[0].values),
            (1, &vec![10, 20], &vec![4.0, 2.0])
        );
        assert_eq!(
            (d[1].sensor, &d[1].ts, &d[1].values),
            (2, &vec![10, 30], &vec![3.0, 9.0])
        );
        assert_eq!((d[1].v_min, d[1].v_max, d[1].v_sum), (3.0, 9.0, 12.0));
    }

    #[test]
    fn drafts_are_cut_at_utc_midnight() {
        let mut m = Memtable::default();
        let day = super::super::DAY_MS;
        m.push_row(1, [r(1, day - 1, 1.0), r(1, day, 2.0), r(1, -1, 0.5)]);
        let d = m.drafts();
        let spans: Vec<_> = d.iter().map(|d| d.ts.clone()).collect();
        assert_eq!(spans, vec![vec![-1], vec![day - 1], vec![day]]);
    }

    #[test]
    fn drafts_match_a_sorted_map_of_the_last_writes_on_random_input() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let day = super::super::DAY_MS;
        let mut m = Memtable::default();
        let mut want = std::collections::BTreeMap::new();
        for seq in 0..50 {
            let row: Vec<Reading> = (0..200)
                .map(|_| {
                    r(
                        rng.gen_range(0..20),
                        rng.gen_range(-day..2 * day) / 1000 * 1000,
                        rng.gen_range(0..1000) as f64,
                    )
                })
                .collect();
            for x in &row {
                want.insert((x.sensor, x.ts_ms), x.value);
            }
            m.push_row(seq, row);
        }
        let mut got = std::collections::BTreeMap::new();
        for d in m.drafts() {
            assert!(d.ts.is_sorted_by(|a, b| a < b), "sorted, no duplicates");
            let first_day = d.ts[0].div_euclid(day);
            assert!(d.ts.iter().all(|t| t.div_euclid(day) == first_day));
            for (&t, &v) in d.ts.iter().zip(&d.values) {
                assert!(
                    got.insert((d.sensor, t), v).is_none(),
                    "one draft per point"
                );
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn latest_prefers_the_greatest_timestamp_then_the_last_write() {
        let mut m = Memtable::default();
        m.push_row(
            1,
            [r(1, 50, 1.0), r(1, 40, 2.0), r(1, 50, 3.0), r(2, 90, 4.0)],
        );
        assert_eq!(m.latest(1), Some((50, 3.0)));
        assert_eq!(m.latest(3), None);
    }
}
