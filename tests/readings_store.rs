//! The reading store on both backends: what is appended comes back, exactly once, from the
//! log, the memtable and the blocks alike.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use yingji::monitor::readings::{
    Bucket, DAY_MS, Point, Reading, ReadingStore, ReadingsError, StoreConfig,
};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

fn cfg() -> StoreConfig {
    StoreConfig {
        memtable_limit: 1_000_000,
        ..StoreConfig::default()
    }
}

fn r(sensor: u32, ts_ms: i64, value: f64) -> Reading {
    Reading {
        sensor,
        ts_ms,
        value,
    }
}

fn pts(v: &[Point]) -> Vec<(i64, f64)> {
    v.iter().map(|p| (p.ts_ms, p.value)).collect()
}

/// What the store should hold: the last write of each (sensor, ts).
#[derive(Default)]
struct Model(BTreeMap<(u32, i64), f64>);

impl Model {
    fn add(&mut self, batch: &[Reading]) {
        for x in batch {
            self.0.insert((x.sensor, x.ts_ms), x.value);
        }
    }

    fn raw(&self, sensor: u32, from: i64, to: i64) -> Vec<(i64, f64)> {
        self.0
            .range((sensor, from)..(sensor, to))
            .map(|(&(_, t), &v)| (t, v))
            .collect()
    }

    fn buckets(&self, sensor: u32, from: i64, to: i64, width: i64) -> Vec<Bucket> {
        let mut out: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (t, v) in self.raw(sensor, from, to) {
            out.entry(from + (t - from) / width * width)
                .or_default()
                .push(v);
        }
        out.into_iter()
            .map(|(start_ms, vs)| Bucket {
                start_ms,
                min: vs.iter().copied().fold(f64::INFINITY, f64::min),
                max: vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                avg: vs.iter().sum::<f64>() / vs.len() as f64,
                count: vs.len() as u64,
            })
            .collect()
    }
}

fn assert_buckets_match(got: &[Bucket], want: &[Bucket]) {
    assert_eq!(got.len(), want.len(), "bucket count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            (g.start_ms, g.count, g.min, g.max),
            (w.start_ms, w.count, w.min, w.max)
        );
        assert!(
            (g.avg - w.avg).abs() <= 1e-9 * w.avg.abs().max(1.0),
            "{g:?} vs {w:?}"
        );
    }
}

async fn check_against(store: &ReadingStore, model: &Model, rng: &mut impl Rng, span: i64) {
    for sensor in 0..6 {
        let want = model.raw(sensor, i64::MIN + 1, i64::MAX);
        let got = store
            .raw(sensor, i64::MIN + 1, i64::MAX, usize::MAX)
            .await
            .expect("raw");
        assert_eq!(pts(&got), want, "sensor {sensor}, whole range");
        for _ in 0..5 {
            let from = T0 - DAY_MS + rng.gen_range(0..span);
            let to = from + rng.gen_range(1..span);
            let got = store.raw(sensor, from, to, usize::MAX).await.expect("raw");
            assert_eq!(pts(&got), model.raw(sensor, from, to), "raw [{from}, {to})");
            let width = rng.gen_range(1..span / 10);
            let got = store
                .buckets(sensor, from, to, width)
                .await
                .expect("buckets");
            assert_buckets_match(&got, &model.buckets(sensor, from, to, width));
        }
    }
}

#[tokio::test]
async fn raw_points_and_buckets_match_a_brute_force_computation_on_random_data() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut model = Model::default();
        // Three days across two UTC midnights, out of order, with rewrites of earlier points.
        let span = 3 * DAY_MS;
        for round in 0..4 {
            for _ in 0..10 {
                let batch: Vec<Reading> = (0..200)
                    .map(|_| {
                        r(
                            rng.gen_range(0..5),
                            T0 - DAY_MS + rng.gen_range(0..span / 1000) * 1000,
                            (rng.gen_range(-5000..5000) as f64) / 10.0,
                        )
                    })
                    .collect();
                store.append(&batch).await.expect("append");
                model.add(&batch);
            }
            check_against(&store, &model, &mut rng, span).await;
            if round % 2 == 0 {
                store.compact_now().await.expect("compacts");
                check_against(&store, &model, &mut rng, span).await;
            }
        }
        // Past days merged into one block each change nothing in the answers.
        store.merge_now(1000).await.expect("merges");
        check_against(&store, &model, &mut rng, span).await;
    });
}

#[tokio::test]
async fn a_batch_appended_twice_is_stored_once() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let batch: Vec<Reading> = (0..100).map(|i| r(7, T0 + i * 1000, i as f64)).collect();
        store.append(&batch).await.expect("append");
        store.append(&batch).await.expect("append again");
        let got = store.raw(7, T0, T0 + DAY_MS, 1000).await.expect("raw");
        assert_eq!(got.len(), 100);
        // Again after the first copy went into a block.
        store.compact_now().await.expect("compacts");
        store.append(&batch).await.expect("append a third time");
        let got2 = store.raw(7, T0, T0 + DAY_MS, 1000).await.expect("raw");
        assert_eq!(got2, got);
        store.compact_now().await.expect("compacts");
        assert_eq!(store.raw(7, T0, T0 + DAY_MS, 1000).await.expect("raw"), got);
        let b = store
            .buckets(7, T0, T0 + DAY_MS, DAY_MS)
            .await
            .expect("buckets");
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].count, b[0].min, b[0].max), (100, 0.0, 99.0));
    });
}

#[tokio::test]
async fn out_of_order_timestamps_come_back_sorted() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        store
            .append(&[r(1, T0 + 30, 3.0), r(1, T0 + 10, 1.0), r(1, T0 + 20, 2.0)])
            .await
            .expect("append");
        store.append(&[r(1, T0 + 5, 0.5)]).await.expect("append");
        let want = vec![
            (T0 + 5, 0.5),
            (T0 + 10, 1.0),
            (T0 + 20, 2.0),
            (T0 + 30, 3.0),
        ];
        assert_eq!(
            pts(&store.raw(1, T0, T0 + 100, 10).await.expect("raw")),
            want
        );
        store.compact_now().await.expect("compacts");
        assert_eq!(
            pts(&store.raw(1, T0, T0 + 100, 10).await.expect("raw")),
            want
        );
        assert_eq!(
            pts(&store.raw(1, T0, T0 + 100, 2).await.expect("raw")),
            want[..2]
        );
    });
}

#[tokio::test]
async fn readings_in_the_memtable_and_in_blocks_are_merged_in_order() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        store
            .append(&[r(1, T0, 1.0), r(1, T0 + 20, 2.0)])
            .await
            .expect("append");
        store.compact_now().await.expect("compacts");
        store
            .append(&[r(1, T0 + 10, 10.0), r(1, T0 + 30, 3.0), r(1, T0 + 20, 20.0)])
            .await
            .expect("append");
        let want = vec![(T0, 1.0), (T0 + 10, 10.0), (T0 + 20, 20.0), (T0 + 30, 3.0)];
        assert_eq!(
            pts(&store.raw(1, T0, T0 + 100, 10).await.expect("raw")),
            want
        );
        let latest = store.latest(1).await.expect("latest");
        assert_eq!(latest.map(|p| (p.ts_ms, p.value)), Some((T0 + 30, 3.0)));
        let b = store.buckets(1, T0, T0 + 100, 100).await.expect("buckets");
        assert_eq!(
            (b[0].count, b[0].min, b[0].max, b[0].avg),
            (4, 1.0, 20.0, 8.5)
        );
    });
}

#[tokio::test]
async fn a_store_dropped_without_compaction_replays_its_log_exactly_once() {
    each_backend!(|t| {
        let mut model = Model::default();
        {
            let store = ReadingStore::open(t.db.clone(), cfg())
                .await
                .expect("opens");
            for i in 0..20 {
                let batch: Vec<Reading> = (0..50)
                    .map(|j| r(j % 3, T0 + i * 50 + j as i64, (i * j as i64) as f64))
                    .collect();
                store.append(&batch).await.expect("append");
                model.add(&batch);
                if i == 9 {
                    store.compact_now().await.expect("compacts");
                }
            }
            // Dropped here: the memtable is lost, as in a crash after the acknowledgements.
        }
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("reopens");
        assert_eq!(
            store.memory().readings,
            500,
            "the uncompacted half comes from the log"
        );
        for s in 0..3 {
            let got = store
                .raw(s, T0, T0 + DAY_MS, usize::MAX)
                .await
                .expect("raw");
            assert_eq!(pts(&got), model.raw(s, T0, T0 + DAY_MS));
        }
        // Reopening once more doubles nothing.
        drop(store);
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("reopens");
        assert_eq!(store.memory().readings, 500);
        store.compact_now().await.expect("compacts");
        let (log, _, points) = store.table_counts().await.expect("counts");
        assert_eq!((log, points), (0, 1000));
    });
}

#[tokio::test]
async fn after_compaction_the_log_is_empty_and_the_blocks_hold_everything() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        for i in 0..10 {
            let batch: Vec<Reading> = (0..100).map(|s| r(s, T0 + i * 10_000, 1.0)).collect();
            store.append(&batch).await.expect("append");
        }
        assert_eq!(store.table_counts().await.expect("counts").0, 10);
        let report = store.compact_now().await.expect("compacts");
        assert_eq!((report.readings, report.blocks), (1000, 100));
        assert_eq!(store.table_counts().await.expect("counts"), (0, 100, 1000));
        assert_eq!(store.memory().readings, 0);
        // A second compaction with nothing to do writes nothing.
        assert_eq!(store.compact_now().await.expect("compacts").blocks, 0);
    });
}

#[tokio::test]
async fn purge_deletes_the_blocks_older_than_the_cutoff() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let days: Vec<Reading> = (0..5).map(|d| r(1, T0 + d * DAY_MS, d as f64)).collect();
        store.append(&days).await.expect("append");
        store.compact_now().await.expect("compacts");
        assert_eq!(store.purge(T0 + 2 * DAY_MS).await.expect("purges"), 2);
        let got = store
            .raw(1, T0 - DAY_MS, T0 + 10 * DAY_MS, 100)
            .await
            .expect("raw");
        assert_eq!(
            pts(&got),
            vec![
                (T0 + 2 * DAY_MS, 2.0),
                (T0 + 3 * DAY_MS, 3.0),
                (T0 + 4 * DAY_MS, 4.0)
            ]
        );
    });
}

#[tokio::test]
async fn bucket_boundaries_start_at_from_and_a_point_on_one_belongs_to_the_later_bucket() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let from = T0 + 7;
        let batch = [
            r(1, from - 1, 100.0), // before the range
            r(1, from, 1.0),       // first bucket, on its start
            r(1, from + 9, 2.0),   // first bucket, last millisecond
            r(1, from + 10, 3.0),  // second bucket, on the boundary
            r(1, from + 29, 4.0),  // third bucket
            r(1, from + 30, 5.0),  // `to`: excluded
        ];
        store.append(&batch).await.expect("append");
        for compacted in [false, true] {
            if compacted {
                store.compact_now().await.expect("compacts");
            }
            let b = store
                .buckets(1, from, from + 30, 10)
                .await
                .expect("buckets");
            let got: Vec<_> = b
                .iter()
                .map(|b| (b.start_ms, b.count, b.min, b.max))
                .collect();
            assert_eq!(
                got,
                vec![
                    (from, 2, 1.0, 2.0),
                    (from + 10, 1, 3.0, 3.0),
                    (from + 20, 1, 4.0, 4.0)
                ],
                "compacted: {compacted}"
            );
        }
    });
}

#[tokio::test]
async fn a_block_inside_one_bucket_answers_from_its_stored_aggregates() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        store
            .append(&[r(1, T0 + 1000, 2.0), r(1, T0 + 2000, 4.0)])
            .await
            .expect("append");
        store.compact_now().await.expect("compacts");
        store.append(&[r(1, T0 + 5000, 9.0)]).await.expect("append");
        let b = store
            .buckets(1, T0, T0 + 10_000, 3000)
            .await
            .expect("buckets");
        let got: Vec<_> = b.iter().map(|b| (b.start_ms, b.count, b.avg)).collect();
        assert_eq!(got, vec![(T0, 2, 3.0), (T0 + 3000, 1, 9.0)]);
    });
}

#[tokio::test]
async fn merging_a_past_day_leaves_one_block_and_the_same_answers() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        for i in 0..5 {
            store
                .append(&[
                    r(1, T0 + i * 1000, i as f64),
                    r(1, T0 + 500, 50.0 + i as f64),
                ])
                .await
                .expect("append");
            store.compact_now().await.expect("compacts");
        }
        let before = store.raw(1, T0, T0 + DAY_MS, 100).await.expect("raw");
        assert_eq!(store.table_counts().await.expect("counts").1, 5);
        assert_eq!(store.merge_now(100).await.expect("merges"), 1);
        assert_eq!(store.table_counts().await.expect("counts"), (0, 1, 6));
        assert_eq!(
            store.raw(1, T0, T0 + DAY_MS, 100).await.expect("raw"),
            before
        );
        assert_eq!(
            before[1],
            Point {
                ts_ms: T0 + 500,
                value: 54.0
            }
        );
    });
}

#[tokio::test]
async fn many_blocks_of_today_are_merged_before_the_day_ends() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let today = yingji::db::now_ms().div_euclid(DAY_MS) * DAY_MS;
        for i in 0..40 {
            store
                .append(&[r(1, today + i, i as f64)])
                .await
                .expect("append");
            store.compact_now().await.expect("compacts");
        }
        assert_eq!(store.merge_now(100).await.expect("merges"), 1);
        assert_eq!(store.table_counts().await.expect("counts"), (0, 1, 40));
        // A few blocks of today are left alone.
        store
            .append(&[r(1, today + 100, 1.0)])
            .await
            .expect("append");
        store.compact_now().await.expect("compacts");
        assert_eq!(store.merge_now(100).await.expect("merges"), 0);
        assert_eq!(
            store
                .raw(1, today, today + DAY_MS, 100)
                .await
                .expect("raw")
                .len(),
            41
        );
    });
}

#[tokio::test]
async fn concurrent_appends_share_commits_and_lose_nothing() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let mut tasks = Vec::new();
        for s in 0..16u32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..20 {
                    let batch: Vec<Reading> = (0..50).map(|j| r(s, T0 + i * 50 + j, 1.0)).collect();
                    store.append(&batch).await.expect("append");
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        let (log_rows, _, _) = store.table_counts().await.expect("counts");
        assert!(log_rows <= 320, "{log_rows} log rows for 320 batches");
        for s in 0..16 {
            assert_eq!(
                store
                    .raw(s, T0, T0 + DAY_MS, 10_000)
                    .await
                    .expect("raw")
                    .len(),
                1000
            );
        }
    });
}

#[tokio::test]
async fn the_background_task_compacts_a_full_memtable_and_stops_cleanly() {
    each_backend!(|t| {
        let cfg = StoreConfig {
            memtable_limit: 1000,
            ..cfg()
        };
        let store = ReadingStore::open(t.db.clone(), cfg).await.expect("opens");
        let bg = store.start_background();
        for i in 0..5 {
            let batch: Vec<Reading> = (0..500).map(|j| r(1, T0 + i * 500 + j, 1.0)).collect();
            store.append(&batch).await.expect("append");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.table_counts().await.expect("counts").2 < 2000 {
            assert!(Instant::now() < deadline, "no compaction");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bg.stop().await;
        assert!(store.memory().readings <= 1000);
        assert_eq!(
            store
                .raw(1, T0, T0 + DAY_MS, 10_000)
                .await
                .expect("raw")
                .len(),
            2500
        );
    });
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_written() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let e = store
            .append(&[r(1, T0, 1.0), r(1, T0 + 1, f64::NAN)])
            .await
            .expect_err("NaN refused");
        assert!(matches!(e, ReadingsError::NonFinite { index: 1 }), "{e}");
        assert!(matches!(
            store.raw(1, T0, T0, 10).await,
            Err(ReadingsError::InvalidRange)
        ));
        assert!(matches!(
            store.buckets(1, T0, T0 + DAY_MS, 0).await,
            Err(ReadingsError::InvalidBuckets)
        ));
        assert!(matches!(
            store.buckets(1, T0, T0 + DAY_MS, 1).await,
            Err(ReadingsError::InvalidBuckets)
        ));
        assert_eq!(store.append(&[]).await.expect("empty").count, 0);
        assert_eq!(store.table_counts().await.expect("counts"), (0, 0, 0));
    });
}

#[tokio::test]
async fn blocks_of_a_compaction_cut_short_are_discarded_and_the_log_replayed_once() {
    each_backend!(|t| {
        let a: Vec<Reading> = (0..100).map(|i| r(1, T0 + i * 1000, i as f64)).collect();
        let b: Vec<Reading> = (100..150).map(|i| r(1, T0 + i * 1000, i as f64)).collect();
        {
            let store = ReadingStore::open(t.db.clone(), cfg())
                .await
                .expect("opens");
            store.append(&a).await.expect("append");
            store.compact_now().await.expect("compacts");
            store.append(&b).await.expect("append");
        }
        // What a crash between two slices of a compaction leaves: its record, a block it
        // committed (here a copy of the first block, so the readings would show twice), and
        // the log rows it had not yet deleted.
        let sql = |s: &str| yingji::db::Sql::new(s);
        t.db.execute(&sql("INSERT INTO reading_compaction (id, after_block) \
             SELECT 1, CAST(MAX(id) AS BIGINT) FROM reading_blocks"))
            .await
            .expect("record");
        t.db.execute(&sql(
            "INSERT INTO reading_blocks (sensor_num, t_min, t_max, n, v_min, v_max, v_sum, data) \
             SELECT sensor_num, t_min, t_max, n, v_min, v_max, v_sum, data FROM reading_blocks",
        ))
        .await
        .expect("partial block");
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("reopens");
        assert_eq!(
            store.table_counts().await.expect("counts"),
            (1, 1, 100),
            "the partial block is gone, the log row stays"
        );
        assert_eq!(store.memory().readings, 50);
        let b = store
            .buckets(1, T0, T0 + DAY_MS, DAY_MS)
            .await
            .expect("buckets");
        assert_eq!((b[0].count, b[0].max), (150, 149.0));
        store.compact_now().await.expect("compacts");
        assert_eq!(store.table_counts().await.expect("counts"), (0, 2, 150));
    });
}

#[tokio::test]
async fn a_compaction_larger_than_one_slice_writes_every_block_and_empties_the_log() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        // Random values do not compress: 1,500 blocks of ~2 kB, several slices on SQLite.
        let sensors = 1_500u32;
        for round in 0..250 {
            let batch: Vec<Reading> = (0..sensors)
                .map(|s| r(s, T0 + round * 10_000, rng.gen_range(0.0..100.0)))
                .collect();
            store.append(&batch).await.expect("append");
        }
        let report = store.compact_now().await.expect("compacts");
        assert_eq!((report.readings, report.blocks), (375_000, 1_500));
        assert_eq!(
            store.table_counts().await.expect("counts"),
            (0, 1_500, 375_000)
        );
        for s in [0, 777, sensors - 1] {
            let got = store
                .raw(s, T0, T0 + DAY_MS, usize::MAX)
                .await
                .expect("raw");
            assert_eq!(got.len(), 250);
        }
    });
}

#[tokio::test]
async fn finished_days_move_to_level_one_and_today_stays_at_level_zero() {
    each_backend!(|t| {
        let store = ReadingStore::open(t.db.clone(), cfg())
            .await
            .expect("opens");
        let today = yingji::db::now_ms().div_euclid(DAY_MS) * DAY_MS;
        // Day 1: two blocks; day 2: one block; today: one block.
        store.append(&[r(1, T0, 1.0)]).await.expect("append");
        store.compact_now().await.expect("compacts");
        store
            .append(&[r(1, T0 + 1, 2.0), r(1, T0 + DAY_MS, 3.0), r(1, today, 4.0)])
            .await
            .expect("append");
        store.compact_now().await.expect("compacts");
        let levels = |db: yingji::db::Db| async move {
            let rows: Vec<(i64, i64)> = db
                .fetch_all(&yingji::db::Sql::new(
                    "SELECT CAST(t_min AS BIGINT), CAST(level AS BIGINT) FROM reading_blocks ORDER BY t_min, id",
                ))
                .await
                .expect("levels");
            rows
        };
        assert_eq!(
            levels(t.db.clone()).await,
            vec![(T0, 0), (T0 + 1, 0), (T0 + DAY_MS, 0), (today, 0)]
        );
        assert_eq!(store.merge_now(100).await.expect("merges"), 2);
        assert_eq!(
            levels(t.db.clone()).await,
            vec![(T0, 1), (T0 + DAY_MS, 1), (today, 0)]
        );
        assert_eq!(store.merge_now(100).await.expect("merges"), 0);
        let got = store.raw(1, T0, today + DAY_MS, 100).await.expect("raw");
        assert_eq!(
            pts(&got),
            vec![(T0, 1.0), (T0 + 1, 2.0), (T0 + DAY_MS, 3.0), (today, 4.0)]
        );
        let latest = store.latest(1).await.expect("latest");
        assert_eq!(latest.map(|p| p.value), Some(4.0));
        // A late reading for a finished day joins its level-1 block at the next merge, and
        // wins over it where it rewrites a point.
        store.append(&[r(1, T0, 9.0)]).await.expect("append");
        store.compact_now().await.expect("compacts");
        assert_eq!(store.merge_now(100).await.expect("merges"), 1);
        assert_eq!(
            levels(t.db.clone()).await,
            vec![(T0, 1), (T0 + DAY_MS, 1), (today, 0)]
        );
        let got = store.raw(1, T0, T0 + 2, 100).await.expect("raw");
        assert_eq!(pts(&got), vec![(T0, 9.0), (T0 + 1, 2.0)]);
    });
}
