// Pure helpers for a sensor's trend chart (ECharts options, no ECharts import):
// the time ranges, the min/max band and average line from bucketed history,
// the threshold lines and the y-axis bounds.
//
// ECharts draws its time axis in the browser's zone, or in UTC with `useUTC`.
// The UI shows Asia/Shanghai whatever the browser's zone is, so the chart runs
// with `useUTC: true` on times shifted by +8 h (China has no daylight saving):
// ticks then fall on Shanghai hours and midnights. `toAxis`/`fromAxis` convert.

import type { AlarmColour, SensorHistory } from '../api/types'
import { COLOUR_HEX } from './alarms'

export const RANGE_KEYS = ['1h', '24h', '7d', '30d'] as const
export type RangeKey = (typeof RANGE_KEYS)[number]
export const RANGE_MS: Record<RangeKey, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
}

export function isRangeKey(k: unknown): k is RangeKey {
  return typeof k === 'string' && (RANGE_KEYS as readonly string[]).includes(k)
}

/** `from`/`to` in epoch ms for the last `key` up to `now`. */
export function rangeFromNow(key: RangeKey, now = Date.now()): { from: number; to: number } {
  return { from: now - RANGE_MS[key], to: now }
}

const SHANGHAI_OFFSET_MS = 8 * 3_600_000
export const toAxis = (t: number) => t + SHANGHAI_OFFSET_MS
export const fromAxis = (t: number) => t - SHANGHAI_OFFSET_MS

/** Labels of the time axis, read in UTC on shifted times (= Shanghai wall clock). */
export const AXIS_LABEL_FORMATS = {
  year: '{yyyy}',
  month: '{MM}-{dd}',
  day: '{MM}-{dd}',
  hour: '{HH}:{mm}',
  minute: '{HH}:{mm}',
  second: '{HH}:{mm}:{ss}',
}

// ---- thresholds -----------------------------------------------------------------

export type ThresholdKey = 'HH' | 'H' | 'L' | 'LL'

/** The colour of each threshold, the colour of the alarm it raises (HH/LL red, H/L yellow). */
export const THRESHOLD_COLOUR: Record<ThresholdKey, AlarmColour> = { HH: 'red', H: 'yellow', L: 'yellow', LL: 'red' }

export interface Thresholds {
  ll: number | null
  l: number | null
  h: number | null
  hh: number | null
}

/** The set thresholds, highest first. */
export function thresholdList(s: Thresholds): { key: ThresholdKey; value: number }[] {
  const out: { key: ThresholdKey; value: number }[] = []
  const add = (key: ThresholdKey, v: number | null | undefined) => {
    if (typeof v === 'number' && Number.isFinite(v)) out.push({ key, value: v })
  }
  add('HH', s.hh)
  add('H', s.h)
  add('L', s.l)
  add('LL', s.ll)
  return out
}

export interface MarkLineDatum {
  name: ThresholdKey
  yAxis: number
  lineStyle: { color: string; type: 'dashed' | 'solid'; width: number }
  label: { formatter: string; color: string; position: LabelPosition }
}

type LabelPosition = 'insideEndTop' | 'insideStartTop' | 'insideStartBottom' | 'insideEndBottom'
/**
 * Where each label goes, so that close thresholds do not print over each other:
 * the high ones above their line, the low ones below; HH/LL at the right end, H/L at the left.
 */
const LABEL_POSITION: Record<ThresholdKey, LabelPosition> = {
  HH: 'insideEndTop',
  H: 'insideStartTop',
  L: 'insideStartBottom',
  LL: 'insideEndBottom',
}

/**
 * One horizontal ECharts markLine per set threshold, in its alarm colour (H/L in a
 * darker yellow than the tag colour, so that the line shows on white).
 */
export function thresholdMarkLines(s: Thresholds, fmt: (v: number) => string = String): MarkLineDatum[] {
  return thresholdList(s).map(({ key, value }) => {
    const color = key === 'H' || key === 'L' ? '#e0a800' : COLOUR_HEX[THRESHOLD_COLOUR[key]]
    return {
      name: key,
      yAxis: value,
      lineStyle: { color, type: key === 'HH' || key === 'LL' ? 'solid' : 'dashed', width: 1.5 },
      label: { formatter: `${key} ${fmt(value)}`, color, position: LABEL_POSITION[key] },
    }
  })
}

// ---- series ---------------------------------------------------------------------

type Pt = [number, number | null]

export interface TrendData {
  /** Lower edge of the band (bucket minimum); empty for raw points. */
  min: Pt[]
  /** Band height (max − min), stacked on `min`; empty for raw points. */
  spread: Pt[]
  /** The average per bucket, or the raw values. */
  line: Pt[]
  /** Whether the data came as buckets (band shown). */
  bucketed: boolean
  /** Finite values seen (min, max, avg or raw), for the axis bounds. */
  lo: number | null
  hi: number | null
  count: number
}

/** The median distance between consecutive times (0 for fewer than two). */
function medianStep(ts: number[]): number {
  const steps = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b)
  return steps.length ? steps[Math.floor(steps.length / 2)] : 0
}

/**
 * Chart data from a history answer, on the shifted time axis. A gap of more than
 * five times the usual spacing of the data (and, for buckets, more than two
 * buckets) breaks the lines with a null instead of drawing across a time without
 * readings. The usual spacing matters: a sensor read every 5 minutes has one
 * reading in every third 86-second bucket of a day, which is not a gap.
 */
export function trendData(h: Pick<SensorHistory, 'points' | 'buckets' | 'bucket_ms'>): TrendData {
  const out: TrendData = { min: [], spread: [], line: [], bucketed: false, lo: null, hi: null, count: 0 }
  const see = (v: number) => {
    if (!Number.isFinite(v)) return
    out.lo = out.lo === null ? v : Math.min(out.lo, v)
    out.hi = out.hi === null ? v : Math.max(out.hi, v)
  }
  if (h.buckets) {
    out.bucketed = true
    const bucket = h.bucket_ms ?? 0
    const limit = Math.max(2 * bucket, 5 * medianStep(h.buckets.map((b) => b.t)))
    let prev: number | null = null
    for (const b of h.buckets) {
      if (prev !== null && limit > 0 && b.t - prev > limit) {
        const gap = toAxis(prev + Math.max(bucket, 1))
        out.min.push([gap, null])
        out.spread.push([gap, null])
        out.line.push([gap, null])
      }
      const x = toAxis(b.t)
      out.min.push([x, b.min])
      out.spread.push([x, b.max - b.min])
      out.line.push([x, b.avg])
      see(b.min)
      see(b.max)
      out.count++
      prev = b.t
    }
    return out
  }
  const pts = h.points ?? []
  const median = medianStep(pts.map((p) => p.t))
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]
    if (i > 0 && median > 0 && p.t - pts[i - 1].t > 5 * median) out.line.push([toAxis(pts[i - 1].t + median), null])
    out.line.push([toAxis(p.t), p.value])
    see(p.value)
    out.count++
  }
  return out
}

/**
 * Y-axis bounds covering the data and the thresholds, with a margin, so that
 * every threshold line is on the chart; rounded to a "nice" interval (1, 2 or 5
 * × 10ⁿ, six or seven of them) that is handed to ECharts too, so that the top
 * and bottom labels fall on ticks. Null bounds let ECharts decide.
 */
export function yBounds(lo: number | null, hi: number | null, s: Thresholds): { min: number | null; max: number | null; interval: number | null } {
  const vals = [lo, hi, ...thresholdList(s).map((x) => x.value)].filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (!vals.length) return { min: null, max: null, interval: null }
  const a = Math.min(...vals)
  const b = Math.max(...vals)
  const pad = b > a ? (b - a) * 0.06 : Math.max(Math.abs(a) * 0.1, 1)
  const step = niceInterval((b - a + 2 * pad) / 6)
  const round = (v: number) => Number(v.toPrecision(12))
  let min = round(Math.floor((a - pad) / step) * step)
  // A quantity that is never negative (a level, a concentration) keeps its axis at 0.
  if (a >= 0 && min < 0) min = 0
  return { min, max: round(Math.ceil((b + pad) / step) * step), interval: step }
}

/** The nearest 1, 2 or 5 × 10ⁿ at or above `raw`. */
export function niceInterval(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1
  const p = Math.pow(10, Math.floor(Math.log10(raw)))
  const f = raw / p
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10
  return Number((m * p).toPrecision(12))
}
