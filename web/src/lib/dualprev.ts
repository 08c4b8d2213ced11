// Pure helpers of dual prevention (双重预防): the LEC and LS risk grading mirrored from
// `src/dualprev/rules.rs` for the calculator's live preview (the server stays the
// authority and stores what it computes), the hidden-danger state machine's allowed
// actions, the board's columns, the statistics' chart series and the commitment
// statuses. No Vue, no I/O.

import type {
  CommitmentBoardRow,
  CommitmentStatus,
  DualPrevBands,
  HdAction,
  HdLevel,
  HdState,
  HiddenDanger,
  HiddenDangerBoard,
  HiddenDangerStatsRow,
  RiskColour,
  RiskPoint,
} from '../api/types'

// ---- LEC and LS ------------------------------------------------------------------------

/** The factor tables of LEC (rules.rs `LEC_L`, `LEC_E`, `LEC_C`), with their meanings. */
export interface Factor {
  value: number
  zh: string
  en: string
}

export const LEC_L: Factor[] = [
  { value: 10, zh: '完全可以预料', en: 'fully expected' },
  { value: 6, zh: '相当可能', en: 'quite possible' },
  { value: 3, zh: '可能，但不经常', en: 'possible but unusual' },
  { value: 1, zh: '可能性小，完全意外', en: 'unlikely, fully accidental' },
  { value: 0.5, zh: '很不可能，可以设想', en: 'very unlikely but conceivable' },
  { value: 0.2, zh: '极不可能', en: 'practically impossible' },
  { value: 0.1, zh: '实际不可能', en: 'virtually impossible' },
]

export const LEC_E: Factor[] = [
  { value: 10, zh: '连续暴露', en: 'continuous' },
  { value: 6, zh: '每天工作时间内暴露', en: 'daily during working hours' },
  { value: 3, zh: '每周一次或偶然暴露', en: 'weekly or occasional' },
  { value: 2, zh: '每月一次暴露', en: 'monthly' },
  { value: 1, zh: '每年几次暴露', en: 'a few times per year' },
  { value: 0.5, zh: '非常罕见地暴露', en: 'very rarely' },
]

export const LEC_C: Factor[] = [
  { value: 100, zh: '大灾难，许多人死亡', en: 'catastrophe: many deaths' },
  { value: 40, zh: '灾难，数人死亡', en: 'disaster: several deaths' },
  { value: 15, zh: '非常严重，一人死亡', en: 'very serious: one death' },
  { value: 7, zh: '严重，重伤', en: 'serious injury' },
  { value: 3, zh: '重大，致残', en: 'major: disability' },
  { value: 1, zh: '引人注目，需要救护', en: 'noticeable: first aid' },
]

/** LS: likelihood and severity, each 1–5. */
export const LS_L: Factor[] = [
  { value: 5, zh: '很可能发生（在现场没有采取防范措施）', en: 'very likely (no precautions on site)' },
  { value: 4, zh: '可能发生（危害的发生不容易被发现）', en: 'likely (hard to detect)' },
  { value: 3, zh: '偶然发生（没有保护措施或未严格执行操作规程）', en: 'occasional (procedures not followed)' },
  { value: 2, zh: '不大可能发生（危害一旦发生能及时发现）', en: 'unlikely (detected in time)' },
  { value: 1, zh: '极不可能发生（有充分有效的防范措施）', en: 'very unlikely (effective precautions)' },
]

export const LS_S: Factor[] = [
  { value: 5, zh: '死亡，或重大财产损失', en: 'death or heavy loss' },
  { value: 4, zh: '永久丧失劳动能力，或较大财产损失', en: 'permanent disability or large loss' },
  { value: 3, zh: '丧失劳动能力，或一般财产损失', en: 'lost working ability or moderate loss' },
  { value: 2, zh: '轻微伤害，需医疗处理', en: 'minor injury needing treatment' },
  { value: 1, zh: '无伤害或轻微损失', en: 'no injury or slight loss' },
]

export const RISK_COLOURS: RiskColour[] = ['red', 'orange', 'yellow', 'blue']

export const DEFAULT_BANDS: DualPrevBands = {
  lec_red_above: 320,
  lec_orange_above: 160,
  lec_yellow_above: 70,
  ls_red_min: 20,
  ls_orange_min: 15,
  ls_yellow_min: 9,
}

/** 重大风险 / 较大风险 / 一般风险 / 低风险 by colour. */
export const LEVEL_ZH: Record<RiskColour, string> = { red: '重大风险', orange: '较大风险', yellow: '一般风险', blue: '低风险' }

function inTable(v: number, table: Factor[]): boolean {
  return table.some((f) => Math.abs(f.value - v) < 1e-9)
}

/**
 * D = L × E × C, computed like the server in twentieths (10·L × 2·E × C is an integer),
 * so that band edges compare exactly: 0.1 × 6 × 100 is 60, not 60.00000000000001.
 */
export function lecD20(l: number, e: number, c: number): number {
  return Math.round(l * 10) * Math.round(e * 2) * Math.round(c)
}

export function lecColour(d: number, bands: DualPrevBands): RiskColour {
  const d20 = Math.round(d * 20)
  const above = (edge: number) => d20 > Math.round(edge * 20)
  if (above(bands.lec_red_above)) return 'red'
  if (above(bands.lec_orange_above)) return 'orange'
  if (above(bands.lec_yellow_above)) return 'yellow'
  return 'blue'
}

/** The classic Graham–Kinney grade of D: 1 (> 320) … 5 (≤ 20); independent of the colour bands. */
export function lecGrade(d: number): 1 | 2 | 3 | 4 | 5 {
  const d20 = Math.round(d * 20)
  if (d20 > 320 * 20) return 1
  if (d20 > 160 * 20) return 2
  if (d20 > 70 * 20) return 3
  if (d20 > 20 * 20) return 4
  return 5
}

export interface LecPreview {
  d: number
  grade: 1 | 2 | 3 | 4 | 5
  colour: RiskColour
}

/** Null while a factor is missing or outside its table (the server would answer 422). */
export function lecPreview(l: number | null | undefined, e: number | null | undefined, c: number | null | undefined, bands: DualPrevBands): LecPreview | null {
  if (l == null || e == null || c == null) return null
  if (!inTable(l, LEC_L) || !inTable(e, LEC_E) || !inTable(c, LEC_C)) return null
  const d = lecD20(l, e, c) / 20
  return { d, grade: lecGrade(d), colour: lecColour(d, bands) }
}

export function lsColour(r: number, bands: DualPrevBands): RiskColour {
  if (r >= bands.ls_red_min) return 'red'
  if (r >= bands.ls_orange_min) return 'orange'
  if (r >= bands.ls_yellow_min) return 'yellow'
  return 'blue'
}

export function lsPreview(l: number | null | undefined, s: number | null | undefined, bands: DualPrevBands): { r: number; colour: RiskColour } | null {
  if (l == null || s == null) return null
  if (!Number.isInteger(l) || !Number.isInteger(s) || l < 1 || l > 5 || s < 1 || s > 5) return null
  const r = l * s
  return { r, colour: lsColour(r, bands) }
}

/** The bands in force as short lines for the calculator and the legend. */
export function bandsText(b: DualPrevBands): { lec: Record<RiskColour, string>; ls: Record<RiskColour, string> } {
  return {
    lec: {
      red: `D > ${b.lec_red_above}`,
      orange: `${b.lec_orange_above} < D ≤ ${b.lec_red_above}`,
      yellow: `${b.lec_yellow_above} < D ≤ ${b.lec_orange_above}`,
      blue: `D ≤ ${b.lec_yellow_above}`,
    },
    ls: {
      red: `R ≥ ${b.ls_red_min}`,
      orange: `${b.ls_orange_min} ≤ R < ${b.ls_red_min}`,
      yellow: `${b.ls_yellow_min} ≤ R < ${b.ls_orange_min}`,
      blue: `R < ${b.ls_yellow_min}`,
    },
  }
}

/** 1 234.5 → "1234.5", 60 → "60": D without float noise. */
export function fmtScore(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  return String(Math.round(v * 100) / 100)
}

// ---- hidden dangers ------------------------------------------------------------------------

export const HD_STATES: HdState[] = ['reported', 'rectifying', 'awaiting_acceptance', 'closed']
export const HD_ACTIONS: HdAction[] = ['rectify', 'submit', 'accept', 'reject', 'close', 'list']
/** The actions that change the state, in the order they are offered. */
const FROM: Record<HdAction, HdState[]> = {
  rectify: ['reported'],
  submit: ['rectifying'],
  accept: ['awaiting_acceptance'],
  reject: ['awaiting_acceptance'],
  close: ['rectifying', 'awaiting_acceptance'],
  list: ['reported', 'rectifying', 'awaiting_acceptance'],
}

/** Whether the state machine allows `action` from `state` for a hidden danger of `level` (rules.rs `transition`). */
export function stateAllows(action: HdAction, state: HdState, level: HdLevel): boolean {
  if ((action === 'list' || action === 'close') && level !== (action === 'list' ? 'major' : 'general')) return false
  return FROM[action].includes(state)
}

/**
 * The buttons to show: what the role may ever do for this level (`/meta`
 * `capabilities.hidden_danger_actions`) and what the state allows now.
 */
export function allowedActions(hd: Pick<HiddenDanger, 'state' | 'level'>, roleActions: { general: string[]; major: string[] } | null | undefined): HdAction[] {
  const mayDo = new Set(roleActions?.[hd.level] ?? [])
  return HD_ACTIONS.filter((a) => mayDo.has(a) && stateAllows(a, hd.state, hd.level))
}

type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

export function stateTagType(s: HdState): TagType {
  switch (s) {
    case 'reported':
      return 'danger'
    case 'rectifying':
      return 'warning'
    case 'awaiting_acceptance':
      return 'primary'
    default:
      return 'success'
  }
}

export const STATE_HEX: Record<HdState, string> = {
  reported: '#e03131',
  rectifying: '#f59f00',
  awaiting_acceptance: '#1c7ed6',
  closed: '#2f9e44',
}

export interface BoardColumn {
  state: HdState
  /** From `/hidden-dangers/board`: every one in scope, not only the cards loaded. */
  count: number
  items: HiddenDanger[]
}

/**
 * The kanban columns: the loaded hidden dangers by state (overdue first, then the
 * earliest deadline, then the newest found), with the counts of the board endpoint.
 */
export function boardColumns(items: HiddenDanger[], board: HiddenDangerBoard | null): BoardColumn[] {
  const by = new Map<HdState, HiddenDanger[]>(HD_STATES.map((s) => [s, []]))
  for (const h of items) by.get(h.state)?.push(h)
  const key = (h: HiddenDanger) => (h.deadline ? Date.parse(h.deadline) : Number.POSITIVE_INFINITY)
  for (const list of by.values()) {
    list.sort((a, b) => Number(b.overdue) - Number(a.overdue) || key(a) - key(b) || Date.parse(b.found_at) - Date.parse(a.found_at))
  }
  return HD_STATES.map((state) => ({ state, count: board ? board[state] : by.get(state)!.length, items: by.get(state)! }))
}

/**
 * Merges a live update into a loaded list: replaces the same id when newer, drops
 * it when it no longer matches, adds a new one that matches at the top.
 */
export function mergeHiddenDanger(items: HiddenDanger[], hd: HiddenDanger, matches: (h: HiddenDanger) => boolean): { items: HiddenDanger[]; totalDelta: number } {
  const i = items.findIndex((x) => x.id === hd.id)
  if (i >= 0) {
    if (Date.parse(items[i].updated_at) > Date.parse(hd.updated_at)) return { items, totalDelta: 0 }
    if (!matches(hd)) return { items: items.filter((_, j) => j !== i), totalDelta: -1 }
    const next = [...items]
    next[i] = hd
    return { items: next, totalDelta: 0 }
  }
  if (!matches(hd)) return { items, totalDelta: 0 }
  return { items: [hd, ...items], totalDelta: 1 }
}

export interface HdFilter {
  state?: string
  level?: string
  source?: string
  category?: string
  town_code?: string
  enterprise_id?: string
  overdue?: string
  supervised?: string
}

/** Whether a hidden danger passes the list's filters that can be checked locally (not text or dates). */
export function matchesHdFilter(h: HiddenDanger, f: HdFilter): boolean {
  if (f.state === 'open' ? h.state === 'closed' : f.state && h.state !== f.state) return false
  if (f.level && h.level !== f.level) return false
  if (f.source && h.source !== f.source) return false
  if (f.category && h.category !== f.category) return false
  if (f.town_code && h.town_code !== f.town_code) return false
  if (f.enterprise_id && h.enterprise_id !== f.enterprise_id) return false
  if (f.overdue === 'true' && !h.overdue) return false
  if (f.supervised === 'true' && !h.supervision) return false
  return true
}

/** Parses a live `hidden_danger` event's data; null for anything else. */
export function parseHdEvent(data: string): { action: string; hidden_danger: HiddenDanger } | null {
  try {
    const v = JSON.parse(data)
    if (v && typeof v === 'object' && typeof v.action === 'string' && v.hidden_danger && typeof v.hidden_danger.id === 'string') return v
  } catch {
    // Not ours.
  }
  return null
}

/** Parses a live `risk_point` event's data; null for anything else. */
export function parseRiskPointEvent(data: string): { action: string; risk_point: RiskPoint } | null {
  try {
    const v = JSON.parse(data)
    if (v && typeof v === 'object' && typeof v.action === 'string' && v.risk_point && typeof v.risk_point.id === 'string') return v
  } catch {
    // Not ours.
  }
  return null
}

/**
 * A risk-point event applied to a loaded page of the list: replaced in place, removed when
 * deleted. A new one is not inserted (the list is ordered by colour on the server); the
 * caller reloads the counts.
 */
export function applyRiskPointEvent<T extends { id: string }>(items: T[], action: string, rp: T): { items: T[]; totalDelta: number } {
  const i = items.findIndex((x) => x.id === rp.id)
  if (i < 0) return { items, totalDelta: 0 }
  if (action === 'delete') return { items: items.filter((_, j) => j !== i), totalDelta: -1 }
  const next = [...items]
  next[i] = rp
  return { items: next, totalDelta: 0 }
}

/**
 * Whole days left until a deadline, rounded up; once it has passed, minus the days
 * overdue, rounded up too (an hour past is -1, never "0 days left" while overdue).
 */
export function daysLeft(deadline: string | null | undefined, nowMs: number): number | null {
  if (!deadline) return null
  const t = Date.parse(deadline)
  if (Number.isNaN(t)) return null
  if (t < nowMs) return -Math.max(1, Math.ceil((nowMs - t) / 86_400_000))
  return Math.ceil((t - nowMs) / 86_400_000)
}

// ---- statistics ------------------------------------------------------------------------

export interface StatsChart {
  categories: string[]
  found: number[]
  closed: number[]
  overdue: number[]
  /** Percent, null where nothing was found. */
  rate: (number | null)[]
}

/**
 * Chart series from the statistics rows: one category per group (`name`), summed over
 * the periods when several are returned, ordered by found (most first), at most `top`.
 * With `byPeriod`, one category per period instead (summed over the groups), in order.
 */
export function statsChart(rows: HiddenDangerStatsRow[], opts: { byPeriod?: boolean; top?: number } = {}): StatsChart {
  const acc = new Map<string, { label: string; found: number; closed: number; overdue: number }>()
  for (const r of rows) {
    const k = opts.byPeriod ? r.period : r.key
    const label = opts.byPeriod ? r.period : r.name || r.key
    const a = acc.get(k) ?? { label, found: 0, closed: 0, overdue: 0 }
    a.found += r.found
    a.closed += r.closed
    a.overdue += r.overdue
    acc.set(k, a)
  }
  let entries = [...acc.entries()]
  if (opts.byPeriod) entries.sort((x, y) => x[0].localeCompare(y[0]))
  else entries.sort((x, y) => y[1].found - x[1].found || x[1].label.localeCompare(y[1].label))
  if (opts.top && entries.length > opts.top) entries = entries.slice(0, opts.top)
  return {
    categories: entries.map(([, a]) => a.label),
    found: entries.map(([, a]) => a.found),
    closed: entries.map(([, a]) => a.closed),
    overdue: entries.map(([, a]) => a.overdue),
    rate: entries.map(([, a]) => (a.found > 0 ? Math.round((a.closed / a.found) * 1000) / 10 : null)),
  }
}

export function statsTotals(rows: HiddenDangerStatsRow[]): { found: number; major: number; closed: number; overdue: number; rate: number | null } {
  const t = rows.reduce((a, r) => ({ found: a.found + r.found, major: a.major + (r.major ?? 0), closed: a.closed + r.closed, overdue: a.overdue + r.overdue }), { found: 0, major: 0, closed: 0, overdue: 0 })
  return { ...t, rate: t.found > 0 ? Math.round((t.closed / t.found) * 1000) / 10 : null }
}

// ---- commitments ------------------------------------------------------------------------

export const COMMITMENT_STATUSES: CommitmentStatus[] = ['on_time', 'late', 'pending', 'missing']

export function commitmentTagType(s: CommitmentStatus): TagType {
  return s === 'on_time' ? 'success' : s === 'late' ? 'warning' : s === 'pending' ? 'info' : 'danger'
}

export function countStatuses(rows: Pick<CommitmentBoardRow, 'status' | 'contradictions'>[]): Record<CommitmentStatus | 'contradictory', number> {
  const out = { on_time: 0, late: 0, pending: 0, missing: 0, contradictory: 0 }
  for (const r of rows) {
    out[r.status] = (out[r.status] ?? 0) + 1
    if (r.contradictions && r.contradictions.length) out.contradictory++
  }
  return out
}

/** Today's Asia/Shanghai calendar day, `YYYY-MM-DD`. */
export function shanghaiToday(nowMs: number = Date.now()): string {
  return new Date(nowMs + 8 * 3_600_000).toISOString().slice(0, 10)
}

/** The Asia/Shanghai month `YYYY-MM` of an instant, for the self-check report. */
export function shanghaiMonth(nowMs: number = Date.now()): string {
  return shanghaiToday(nowMs).slice(0, 7)
}

const STATUS_ORDER: Record<CommitmentStatus, number> = { missing: 0, late: 1, pending: 2, on_time: 3 }

/** The board's order: contradictions first, then missing, late, pending, on time; by name within. */
export function sortBoardRows<T extends Pick<CommitmentBoardRow, 'status' | 'contradictions' | 'enterprise_name'>>(rows: T[]): T[] {
  const bad = (r: T) => (r.contradictions?.length ? 0 : 1)
  return [...rows].sort((a, b) => bad(a) - bad(b) || STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.enterprise_name.localeCompare(b.enterprise_name, 'zh-CN'))
}

/** Every special operation at zero, for a fresh commitment form. */
export function zeroOperations(keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, 0]))
}

/** Total special operations declared (the board shows it as one number). */
export function operationsTotal(ops: Record<string, number> | null | undefined): number {
  return Object.values(ops ?? {}).reduce((a, n) => a + (Number.isFinite(n) ? n : 0), 0)
}

// ---- the four-colour map ------------------------------------------------------------------

function zeroCounts(): Record<RiskColour, number> {
  return { red: 0, orange: 0, yellow: 0, blue: 0 }
}

/**
 * A town's counts per colour from `/map/risk-towns` properties: flat
 * (`points_red`, `enterprises_red`, … as the server sends them for map expressions) or nested.
 */
export function townRiskCounts(p: Record<string, unknown>): { points: Record<RiskColour, number>; enterprises: Record<RiskColour, number> } {
  const out = { points: zeroCounts(), enterprises: zeroCounts() }
  for (const group of ['points', 'enterprises'] as const) {
    const nested = p[group] as Partial<Record<RiskColour, number>> | undefined
    for (const c of RISK_COLOURS) {
      const v = nested && typeof nested === 'object' ? nested[c] : p[`${group}_${c}`]
      out[group][c] = typeof v === 'number' && Number.isFinite(v) ? v : 0
    }
  }
  return out
}

/** The legend's counts: risk points per colour, and towns per shade. */
export function riskLegendCounts(points: { colour?: RiskColour | null }[], towns: { shade?: RiskColour | null }[]): { points: Record<RiskColour, number>; towns: Record<RiskColour, number> } {
  const out = { points: zeroCounts(), towns: zeroCounts() }
  for (const p of points) if (p.colour && p.colour in out.points) out.points[p.colour]++
  for (const t of towns) if (t.shade && t.shade in out.towns) out.towns[t.shade]++
  return out
}

/** `2026-01` → `2025-12`. */
export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number)
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`
}
