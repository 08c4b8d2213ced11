import { describe, expect, it } from 'vitest'
import { RANGE_MS, fromAxis, niceInterval, isRangeKey, rangeFromNow, thresholdList, thresholdMarkLines, toAxis, trendData, yBounds } from './trend'

const none = { ll: null, l: null, h: null, hh: null }
const H8 = 8 * 3600_000

describe('trend ranges and axis', () => {
  it('knows its ranges', () => {
    expect(isRangeKey('24h')).toBe(true)
    expect(isRangeKey('2h')).toBe(false)
    expect(rangeFromNow('1h', 10_000_000)).toEqual({ from: 10_000_000 - 3_600_000, to: 10_000_000 })
    expect(RANGE_MS['7d']).toBe(7 * 86_400_000)
  })
  it('shifts times so that UTC labels read Shanghai time', () => {
    const t = Date.UTC(2026, 11, 1, 16, 0) // 00:00 on 2 December in Shanghai
    expect(new Date(toAxis(t)).toISOString()).toBe('2026-12-02T00:00:00.000Z')
    expect(fromAxis(toAxis(t))).toBe(t)
  })
})

describe('threshold lines', () => {
  it('lists only the set thresholds, highest first', () => {
    expect(thresholdList({ ll: 1, l: null, h: 8, hh: 9 }).map((x) => x.key)).toEqual(['HH', 'H', 'LL'])
    expect(thresholdList(none)).toEqual([])
  })
  it('draws one markLine per threshold in its alarm colour', () => {
    const lines = thresholdMarkLines({ ll: 0.5, l: 1, h: 8, hh: 9.5 }, (v) => v.toFixed(1))
    expect(lines.map((l) => [l.name, l.yAxis])).toEqual([
      ['HH', 9.5],
      ['H', 8],
      ['L', 1],
      ['LL', 0.5],
    ])
    const hh = lines[0]
    const h = lines[1]
    expect(hh.lineStyle.color).toBe('#e03131')
    expect(lines[3].lineStyle.color).toBe(hh.lineStyle.color)
    expect(h.lineStyle.color).not.toBe(hh.lineStyle.color)
    expect(lines[2].lineStyle.color).toBe(h.lineStyle.color)
    expect(hh.label.formatter).toBe('HH 9.5')
    expect(h.lineStyle.type).toBe('dashed')
    // Labels of close thresholds do not overlap: distinct positions.
    expect(new Set(lines.map((l) => l.label.position)).size).toBe(4)
  })
})

describe('trendData', () => {
  it('turns buckets into a min/max band and an average line on the shifted axis', () => {
    const d = trendData({
      bucket_ms: 60_000,
      points: null,
      buckets: [
        { t: 0, min: 1, max: 3, avg: 2, count: 4 },
        { t: 60_000, min: 2, max: 5, avg: 4, count: 4 },
      ],
    })
    expect(d.bucketed).toBe(true)
    expect(d.min).toEqual([[H8, 1], [H8 + 60_000, 2]])
    expect(d.spread).toEqual([[H8, 2], [H8 + 60_000, 3]])
    expect(d.line).toEqual([[H8, 2], [H8 + 60_000, 4]])
    expect([d.lo, d.hi, d.count]).toEqual([1, 5, 2])
  })
  it('breaks the lines over a gap in the data', () => {
    const b = (t: number) => ({ t, min: 1, max: 1, avg: 1, count: 1 })
    const d = trendData({ bucket_ms: 60_000, points: null, buckets: [b(0), b(60_000), b(120_000), b(900_000), b(960_000)] })
    expect(d.line).toHaveLength(6)
    expect(d.line[3]).toEqual([H8 + 180_000, null])
    expect(d.min[3][1]).toBeNull()
  })
  it('does not see gaps in data sparser than the buckets', () => {
    // Read every 5 minutes, bucketed by 86.4 s: one reading in every third or fourth bucket.
    const buckets = Array.from({ length: 50 }, (_, i) => ({ t: i * 300_000, min: 1, max: 1, avg: 1, count: 1 }))
    const d = trendData({ bucket_ms: 86_400, points: null, buckets })
    expect(d.line.filter((p) => p[1] === null)).toHaveLength(0)
    // …but an hour without readings still is one.
    const holed = [...buckets.slice(0, 20), ...buckets.slice(32)]
    expect(trendData({ bucket_ms: 86_400, points: null, buckets: holed }).line.filter((p) => p[1] === null)).toHaveLength(1)
  })
  it('draws raw points as one line', () => {
    const d = trendData({ bucket_ms: null, buckets: null, points: [{ t: 0, value: 1 }, { t: 1000, value: 2 }, { t: 2000, value: 3 }, { t: 60_000, value: 4 }] })
    expect(d.bucketed).toBe(false)
    expect(d.min).toEqual([])
    expect(d.line.filter((p) => p[1] === null)).toHaveLength(1)
    expect([d.lo, d.hi, d.count]).toEqual([1, 4, 4])
  })
  it('is empty without data', () => {
    expect(trendData({ bucket_ms: 1000, points: null, buckets: [] })).toMatchObject({ count: 0, lo: null, hi: null })
  })
})

describe('yBounds', () => {
  it('covers the data and every threshold', () => {
    const b = yBounds(4, 6, { ll: 1, l: 2, h: 8, hh: 9 })
    expect(b.min!).toBeLessThan(1)
    expect(b.max!).toBeGreaterThan(9)
  })
  it('lets ECharts decide without data or thresholds', () => {
    expect(yBounds(null, null, none)).toEqual({ min: null, max: null, interval: null })
  })
  it('rounds the bounds to a nice interval so the end labels sit on ticks', () => {
    const b = yBounds(3.2, 8.7, { ll: 0.5, l: 1, h: 9, hh: 10.5 })
    expect(b.interval).toBe(2)
    expect(b).toMatchObject({ min: 0, max: 12 })
    expect(yBounds(-3, 5, none)).toMatchObject({ min: -4, max: 6, interval: 2 })
    for (const v of [b.min!, b.max!]) expect(Math.abs(v / b.interval! - Math.round(v / b.interval!))).toBeLessThan(1e-9)
    expect(niceInterval(0.37)).toBe(0.5)
    expect(niceInterval(1.2)).toBe(2)
    expect(niceInterval(7)).toBe(10)
    expect(niceInterval(0)).toBe(1)
  })
  it('widens a flat line', () => {
    const b = yBounds(5, 5, none)
    expect(b.min!).toBeLessThan(5)
    expect(b.max!).toBeGreaterThan(5)
  })
})
