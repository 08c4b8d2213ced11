// Pure helpers of the early-warning pages (预警发布, docs/warnings.md): level colours, the
// area payload the compose form sends (towns, a drawn polygon or circle), Shanghai ↔ UTC
// times of the pickers, event-type defaults, coverage colouring, delivery-chart series and
// the live events' payloads. No Vue or MapLibre import, so all of it is unit-tested in Node.

import { shanghaiToUtcIso } from './time'

// ---- levels -------------------------------------------------------------------------

export type WarningLevel = 'blue' | 'yellow' | 'orange' | 'red'
/** Mildest first, as the level select lists them. */
export const WARNING_LEVELS: WarningLevel[] = ['blue', 'yellow', 'orange', 'red']

/** The warning colours (same hues as the alarm and risk colours of the platform). */
export const LEVEL_HEX: Record<WarningLevel, string> = {
  blue: '#1c7ed6',
  yellow: '#fab005',
  orange: '#f76707',
  red: '#e03131',
}
export const UNKNOWN_LEVEL_HEX = '#868e96'

export const LEVEL_GRADE: Record<WarningLevel, string> = { blue: 'IV', yellow: 'III', orange: 'II', red: 'I' }

export function isLevel(v: unknown): v is WarningLevel {
  return typeof v === 'string' && (WARNING_LEVELS as string[]).includes(v)
}

export function levelHex(level: string | null | undefined): string {
  return isLevel(level) ? LEVEL_HEX[level] : UNKNOWN_LEVEL_HEX
}

/** Text on a level colour: white, except dark on yellow. */
export function levelTextColor(level: string | null | undefined): string {
  return level === 'yellow' ? '#3b2f00' : '#ffffff'
}

/** Most severe first (red, orange, yellow, blue), then newest effective first. */
export function compareBySeverity(a: { level: string; effective_at?: string | null }, b: { level: string; effective_at?: string | null }): number {
  const r = (l: string) => (isLevel(l) ? WARNING_LEVELS.indexOf(l) : -1)
  const d = r(b.level) - r(a.level)
  if (d !== 0) return d
  return Date.parse(b.effective_at ?? '') - Date.parse(a.effective_at ?? '') || 0
}

// ---- states and steps -----------------------------------------------------------------

export const WARNING_STATES = ['draft', 'submitted', 'approved', 'published', 'imported', 'relayed', 'superseded', 'cancelled', 'expired'] as const
export type WarningState = (typeof WARNING_STATES)[number]

/** Element Plus tag type of a state. */
export function stateTagType(state: string): 'info' | 'warning' | 'primary' | 'success' | 'danger' {
  switch (state) {
    case 'submitted':
      return 'warning'
    case 'approved':
      return 'primary'
    case 'published':
    case 'imported':
    case 'relayed':
      return 'success'
    case 'cancelled':
      return 'danger'
    default:
      return 'info'
  }
}

export type WarningStep = 'edit' | 'submit' | 'approve' | 'reject' | 'publish' | 'update' | 'cancel' | 'relay'
/** The order the detail page shows the buttons in. */
export const STEP_ORDER: WarningStep[] = ['edit', 'submit', 'approve', 'publish', 'relay', 'update', 'reject', 'cancel']

/** The steps the server offers, known ones only, in display order. */
export function orderedSteps(available: readonly string[] | null | undefined): WarningStep[] {
  const set = new Set(available ?? [])
  return STEP_ORDER.filter((s) => set.has(s))
}

/** Reject and cancel need a reason (kept on the warning and in the audit). */
export function stepNeedsReason(step: WarningStep): boolean {
  return step === 'reject' || step === 'cancel'
}

export function stepButtonType(step: WarningStep): 'primary' | 'success' | 'warning' | 'danger' | 'default' {
  switch (step) {
    case 'approve':
    case 'publish':
    case 'relay':
      return 'success'
    case 'reject':
    case 'cancel':
      return 'danger'
    case 'update':
      return 'warning'
    case 'edit':
      return 'default'
    default:
      return 'primary'
  }
}

// ---- event types ---------------------------------------------------------------------

export interface EventTypeInfo {
  key: string
  zh: string
  en: string
  category: string
  urgency: string
  certainty: string
}

/** The CAP categories in the order the grouped select shows them. */
export const CATEGORY_ORDER = ['Met', 'Geo', 'Fire', 'CBRNE', 'Safety', 'Health', 'Other']

/** Event types grouped by CAP category (meteorological first), keeping the server's order inside a group. */
export function groupEventTypes(types: readonly EventTypeInfo[]): { category: string; types: EventTypeInfo[] }[] {
  const groups = new Map<string, EventTypeInfo[]>()
  for (const t of types) {
    const g = groups.get(t.category) ?? []
    g.push(t)
    groups.set(t.category, g)
  }
  const rank = (c: string) => {
    const i = CATEGORY_ORDER.indexOf(c)
    return i < 0 ? CATEGORY_ORDER.length : i
  }
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0])).map(([category, types]) => ({ category, types }))
}

/** The default CAP urgency and certainty of an event type; null for an unknown key. */
export function eventTypeDefaults(types: readonly EventTypeInfo[], key: string): { urgency: string; certainty: string } | null {
  const t = types.find((x) => x.key === key)
  return t ? { urgency: t.urgency, certainty: t.certainty } : null
}

export const CAP_URGENCIES = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown']
export const CAP_CERTAINTIES = ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown']
export const CAP_RESPONSE_TYPES = ['Shelter', 'Evacuate', 'Prepare', 'Execute', 'Avoid', 'Monitor', 'Assess', 'AllClear', 'None']
export const COMPOSE_STATUSES = ['Actual', 'Exercise', 'Test']
export const HEADLINE_MAX = 140

/** Characters as the server counts them (Unicode scalar values, not UTF-16 units). */
export function charCount(s: string | null | undefined): number {
  return [...(s ?? '')].length
}

// ---- areas ---------------------------------------------------------------------------

export type LonLat = [number, number]
export type AreaMode = 'towns' | 'polygon' | 'circle'
export type AreaPayload =
  | { kind: 'towns'; town_codes: string[] }
  | { kind: 'polygon'; polygon: LonLat[] }
  | { kind: 'circle'; center: LonLat; radius_km: number }

/** What the area picker holds: all three drawings are kept, the mode says which one counts. */
export interface AreaDraft {
  mode: AreaMode
  towns: string[]
  polygon: LonLat[]
  center: LonLat | null
  radiusKm: number | null
}

export function emptyAreaDraft(): AreaDraft {
  return { mode: 'towns', towns: [], polygon: [], center: null, radiusKm: 5 }
}

/** Adds a town to the chosen ones or takes it away (keeps the order chosen). */
export function toggleTown(codes: readonly string[], code: string): string[] {
  return codes.includes(code) ? codes.filter((c) => c !== code) : [...codes, code]
}

const samePoint = (a: LonLat, b: LonLat) => a[0] === b[0] && a[1] === b[1]

/**
 * The vertices as a closed ring without repeated consecutive vertices (first = last), as
 * the server and CAP want it; fewer than three distinct vertices give the unclosed list.
 */
export function closeRing(points: readonly LonLat[]): LonLat[] {
  const ring: LonLat[] = []
  for (const p of points) if (!ring.length || !samePoint(ring[ring.length - 1], p)) ring.push([p[0], p[1]])
  if (ring.length > 1 && samePoint(ring[0], ring[ring.length - 1])) ring.pop()
  if (ring.length < 3) return ring
  return [...ring, [ring[0][0], ring[0][1]]]
}

/** The distinct vertices of a drawing (the closing vertex not counted). */
export function distinctVertexCount(points: readonly LonLat[]): number {
  const r = closeRing(points)
  return r.length >= 4 ? r.length - 1 : r.length
}

/**
 * A circle as a closed polygon of `n` vertices. The same local equirectangular
 * approximation as the server (`Area::circle_ring`), good enough at district scale.
 */
export function circleRing(center: LonLat, radiusKm: number, n = 64): LonLat[] {
  const latRad = (center[1] * Math.PI) / 180
  const dLat = radiusKm / 110.574
  const dLon = radiusKm / (111.32 * Math.max(Math.cos(latRad), 1e-6))
  const ring: LonLat[] = []
  for (let i = 0; i < n; i++) {
    const a = (i / n) * 2 * Math.PI
    ring.push([center[0] + dLon * Math.cos(a), center[1] + dLat * Math.sin(a)])
  }
  ring.push([ring[0][0], ring[0][1]])
  return ring
}

/** Great-circle distance in km (haversine), to set a circle's radius by dragging. */
export function distanceKm(a: LonLat, b: LonLat): number {
  const rad = Math.PI / 180
  const dLat = (b[1] - a[1]) * rad
  const dLon = (b[0] - a[0]) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Rounds a coordinate to 6 decimals (about 0.1 m): the payload stays short and stable. */
export function roundCoord(v: number): number {
  return Math.round(v * 1e6) / 1e6
}

export type AreaProblem = 'noTowns' | 'polygonTooFew' | 'noCenter' | 'badRadius'

/**
 * The `area` of the API body from the picker, or what is missing. The server checks it
 * again (and names the field); this only spares a round trip for an empty drawing.
 */
export function buildAreaPayload(d: AreaDraft): { area: AreaPayload } | { problem: AreaProblem } {
  switch (d.mode) {
    case 'towns':
      return d.towns.length ? { area: { kind: 'towns', town_codes: [...d.towns] } } : { problem: 'noTowns' }
    case 'polygon': {
      const ring = closeRing(d.polygon.map(([x, y]) => [roundCoord(x), roundCoord(y)] as LonLat))
      return ring.length >= 4 ? { area: { kind: 'polygon', polygon: ring } } : { problem: 'polygonTooFew' }
    }
    case 'circle': {
      if (!d.center) return { problem: 'noCenter' }
      const r = d.radiusKm
      if (r === null || !Number.isFinite(r) || r <= 0 || r > 200) return { problem: 'badRadius' }
      return { area: { kind: 'circle', center: [roundCoord(d.center[0]), roundCoord(d.center[1])], radius_km: Math.round(r * 1000) / 1000 } }
    }
  }
}

/** The picker state of a saved warning's area (to edit a draft). */
export function areaDraftFrom(area: unknown): AreaDraft {
  const d = emptyAreaDraft()
  if (!area || typeof area !== 'object') return d
  const a = area as Record<string, unknown>
  if (a.kind === 'towns' && Array.isArray(a.town_codes)) {
    d.mode = 'towns'
    d.towns = a.town_codes.filter((c): c is string => typeof c === 'string')
  } else if (a.kind === 'polygon' && Array.isArray(a.polygon)) {
    d.mode = 'polygon'
    const pts = a.polygon.filter(isLonLat).map((p) => [p[0], p[1]] as LonLat)
    // The drawer keeps an open list of vertices; the closing one is added on sending.
    const ring = closeRing(pts)
    d.polygon = ring.length >= 4 ? ring.slice(0, -1) : ring
  } else if (a.kind === 'circle' && isLonLat(a.center)) {
    d.mode = 'circle'
    d.center = [a.center[0], a.center[1]]
    d.radiusKm = typeof a.radius_km === 'number' ? a.radius_km : null
  }
  return d
}

function isLonLat(p: unknown): p is LonLat {
  return Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1])
}

/** The area description generated from the chosen towns (`A、B、C`, or `A, B, C` in English). */
export function areaDescFromTowns(codes: readonly string[], nameOf: (code: string) => string, lang: string): string {
  return codes.map(nameOf).filter(Boolean).join(lang === 'en' ? ', ' : '、')
}

/**
 * Whether the area description may be replaced by a newly generated one: it is empty or
 * still what was generated last (the composer has not written their own).
 */
export function mayAutofillAreaDesc(current: string, lastGenerated: string): boolean {
  return current.trim() === '' || current === lastGenerated
}

/** The drawing as GeoJSON for the picker's preview layer (polygon, or circle as a polygon). */
export function draftGeometry(d: AreaDraft): { type: 'Polygon' | 'LineString' | 'Point'; coordinates: unknown } | null {
  if (d.mode === 'polygon') {
    const ring = closeRing(d.polygon)
    if (ring.length >= 4) return { type: 'Polygon', coordinates: [ring] }
    if (ring.length >= 2) return { type: 'LineString', coordinates: ring }
    if (ring.length === 1) return { type: 'Point', coordinates: ring[0] }
    return null
  }
  if (d.mode === 'circle' && d.center) {
    if (d.radiusKm && d.radiusKm > 0) return { type: 'Polygon', coordinates: [circleRing(d.center, d.radiusKm)] }
    return { type: 'Point', coordinates: d.center }
  }
  return null
}

// ---- times ----------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(2, '0')

/**
 * An API time (RFC 3339 UTC) → the Shanghai wall-clock `YYYY-MM-DD HH:mm:ss` a picker with
 * that value-format shows; empty for missing or invalid input. China keeps +08:00 all year.
 */
export function utcToShanghaiLocal(iso: string | null | undefined): string {
  if (!iso) return ''
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return ''
  const d = new Date(ms + 8 * 3_600_000)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

/** A picker's Shanghai wall-clock value → RFC 3339 UTC, or null when empty/invalid. */
export function shanghaiLocalToUtc(local: string | null | undefined): string | null {
  if (!local || !local.trim()) return null
  return shanghaiToUtcIso(local)
}

/** Default times of a new warning: effective now (to the minute), expiring `hours` later. */
export function defaultTimes(nowMs: number, hours = 24): { effective: string; expires: string } {
  const start = Math.floor(nowMs / 60_000) * 60_000
  return {
    effective: utcToShanghaiLocal(new Date(start).toISOString()),
    expires: utcToShanghaiLocal(new Date(start + hours * 3_600_000).toISOString()),
  }
}

/** Start and end of the Shanghai calendar year of `nowMs`, as UTC RFC 3339 (the KPI period). */
export function shanghaiYearRange(nowMs: number): { from: string; to: string } {
  const year = new Date(nowMs + 8 * 3_600_000).getUTCFullYear()
  const iso = (y: number) => new Date(Date.UTC(y, 0, 1, -8)).toISOString().replace('.000Z', 'Z')
  return { from: iso(year), to: iso(year + 1) }
}

export function isInForce(w: { in_force?: boolean | null; state: string; expires_at?: string | null }, nowMs: number): boolean {
  if (typeof w.in_force === 'boolean') return w.in_force
  if (!['published', 'imported', 'relayed'].includes(w.state)) return false
  const exp = Date.parse(w.expires_at ?? '')
  return Number.isNaN(exp) || nowMs < exp
}

// ---- the compose form → the API body ---------------------------------------------------

export interface ComposeForm {
  event_type: string
  level: WarningLevel | ''
  status: string
  scope: 'public' | 'restricted'
  urgency: string
  certainty: string
  response_type: string
  headline: string
  description: string
  instruction: string
  headline_en: string
  description_en: string
  instruction_en: string
  area_desc: string
  /** Shanghai wall-clock `YYYY-MM-DD HH:mm:ss`. */
  effective: string
  onset: string
  expires: string
}

export function emptyComposeForm(nowMs: number): ComposeForm {
  const t = defaultTimes(nowMs)
  return {
    event_type: '',
    level: '',
    status: 'Actual',
    scope: 'public',
    urgency: '',
    certainty: '',
    response_type: '',
    headline: '',
    description: '',
    instruction: '',
    headline_en: '',
    description_en: '',
    instruction_en: '',
    area_desc: '',
    effective: t.effective,
    onset: '',
    expires: t.expires,
  }
}

/** The form of a saved warning (to edit a draft). */
export function composeFormFrom(w: Record<string, unknown>, nowMs: number): ComposeForm {
  const f = emptyComposeForm(nowMs)
  const s = (k: string) => (typeof w[k] === 'string' ? (w[k] as string) : '')
  for (const k of ['event_type', 'status', 'urgency', 'certainty', 'response_type', 'headline', 'description', 'instruction', 'headline_en', 'description_en', 'instruction_en', 'area_desc'] as const) {
    ;(f as unknown as Record<string, string>)[k] = s(k)
  }
  if (!f.status) f.status = 'Actual'
  f.level = isLevel(w.level) ? w.level : ''
  f.scope = w.scope === 'restricted' ? 'restricted' : 'public'
  f.effective = utcToShanghaiLocal(s('effective_at')) || f.effective
  f.onset = utcToShanghaiLocal(s('onset_at'))
  f.expires = utcToShanghaiLocal(s('expires_at')) || f.expires
  return f
}

const opt = (s: string) => (s.trim() ? s.trim() : null)

/** The JSON body of `POST /warnings`, `PUT /warnings/{id}` and `/warnings/preview`. */
export function buildDraftBody(f: ComposeForm, area: AreaPayload | null): Record<string, unknown> {
  return {
    event_type: f.event_type,
    level: f.level || null,
    status: f.status,
    scope: f.scope,
    urgency: f.urgency || null,
    certainty: f.certainty || null,
    response_type: opt(f.response_type),
    headline: f.headline.trim(),
    description: f.description.trim(),
    instruction: f.instruction.trim(),
    headline_en: opt(f.headline_en),
    description_en: opt(f.description_en),
    instruction_en: opt(f.instruction_en),
    area,
    area_desc: f.area_desc.trim(),
    effective_at: shanghaiLocalToUtc(f.effective),
    onset_at: shanghaiLocalToUtc(f.onset),
    expires_at: shanghaiLocalToUtc(f.expires),
  }
}

/**
 * The form item an API error's `field` belongs to: `area.town_codes` → `area`,
 * `effective_at` → `effective`, `info[0].urgency` → `urgency`. Null when it names none.
 */
export function formFieldOf(field: string | null | undefined): string | null {
  if (!field) return null
  const f = field.replace(/^info\[\d+\]\./, '').replace(/^body\./, '')
  if (f === 'area' || f.startsWith('area.') || f === 'town_codes' || f === 'polygon') return 'area'
  const times: Record<string, string> = { effective_at: 'effective', onset_at: 'onset', expires_at: 'expires', effective: 'effective', onset: 'onset', expires: 'expires' }
  if (f in times) return times[f]
  const known = ['event_type', 'level', 'status', 'scope', 'urgency', 'certainty', 'response_type', 'headline', 'description', 'instruction', 'headline_en', 'description_en', 'instruction_en', 'area_desc']
  return known.includes(f) ? f : null
}

// ---- the live preview: the latest request wins, after a pause in typing -----------------

export interface DebounceTimers {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (h: unknown) => void
}

/**
 * Runs `fn` once `ms` after the last `trigger()`; `cancel()` drops a pending run.
 * `isLatest(seq)` tells an async run whether a newer one has started since (its answer
 * is then stale and must not be shown).
 */
export function debouncer(fn: (seq: number) => void, ms: number, timers: DebounceTimers = { setTimeout: (f, m) => globalThis.setTimeout(f, m), clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>) }) {
  let handle: unknown = null
  let seq = 0
  return {
    trigger() {
      if (handle !== null) timers.clearTimeout(handle)
      handle = timers.setTimeout(() => {
        handle = null
        fn(++seq)
      }, ms)
    },
    cancel() {
      if (handle !== null) timers.clearTimeout(handle)
      handle = null
      seq++
    },
    isLatest: (s: number) => s === seq,
    get pending() {
      return handle !== null
    },
  }
}

// ---- relays, deliveries and coverage ---------------------------------------------------

export const RELAY_STATE_HEX: Record<string, string> = { acknowledged: '#2f9e44', pending: '#868e96', escalated: '#e03131' }

export function relayCounts(relays: readonly { state: string }[]): { total: number; acknowledged: number; pending: number; escalated: number } {
  const c = { total: relays.length, acknowledged: 0, pending: 0, escalated: 0 }
  for (const r of relays) if (r.state === 'acknowledged' || r.state === 'pending' || r.state === 'escalated') c[r.state]++
  return c
}

export const DELIVERY_STATES = ['delivered', 'sending', 'queued', 'failed', 'dead'] as const
export const DELIVERY_STATE_HEX: Record<string, string> = { delivered: '#2f9e44', sending: '#1c7ed6', queued: '#adb5bd', failed: '#f76707', dead: '#c92a2a' }

/**
 * `delivery-stats` (`{by_channel: [{channel, queued, sending, delivered, failed, dead}]}`, or
 * rows of channel, state and count) → the stacked bar's categories (channels) and one
 * series per state.
 */
export function deliverySeries(stats: unknown): { channels: string[]; series: { state: string; data: number[] }[]; total: number } {
  const counts = new Map<string, Record<string, number>>()
  const add = (channel: string, state: string, n: number) => {
    const row = counts.get(channel) ?? {}
    row[state] = (row[state] ?? 0) + (Number.isFinite(n) ? n : 0)
    counts.set(channel, row)
  }
  let rows: unknown[] = []
  if (Array.isArray(stats)) rows = stats
  else if (stats && typeof stats === 'object') {
    const o = stats as Record<string, unknown>
    const list = o.by_channel ?? o.items ?? o.channels
    if (Array.isArray(list)) rows = list
  }
  for (const r of rows) {
    if (!r || typeof r !== 'object') continue
    const o = r as Record<string, unknown>
    const channel = typeof o.channel === 'string' ? o.channel : ''
    if (!channel) continue
    if (typeof o.state === 'string') add(channel, o.state, Number(o.count ?? 0))
    else {
      const byState = (o.counts && typeof o.counts === 'object' ? o.counts : o) as Record<string, unknown>
      for (const s of DELIVERY_STATES) if (typeof byState[s] === 'number') add(channel, s, byState[s] as number)
      if (!counts.has(channel)) counts.set(channel, {})
    }
  }
  const channels = [...counts.keys()].sort()
  let total = 0
  const series = DELIVERY_STATES.map((state) => {
    const data = channels.map((c) => counts.get(c)![state] ?? 0)
    total += data.reduce((a, b) => a + b, 0)
    return { state, data }
  })
  return { channels, series, total }
}

export type CoverageStatus = 'meets' | 'below' | 'unknown'

/** Against the target (0.9 by default); unknown when there is no population to divide by. */
export function coverageStatus(coverage: number | null | undefined, target = 0.9): CoverageStatus {
  if (coverage === null || coverage === undefined || !Number.isFinite(coverage)) return 'unknown'
  return coverage + 1e-12 >= target ? 'meets' : 'below'
}

export const COVERAGE_HEX: Record<CoverageStatus, string> = { meets: '#2f9e44', below: '#e03131', unknown: '#868e96' }

/** `0.9234` → `92.3%`; `—` when unknown. */
export function fmtPercent(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  return `${(v * 100).toFixed(digits)}%`
}

// ---- live events ---------------------------------------------------------------------

export interface WarningRef {
  id: string
  state?: string
  headline?: string
  level?: string
  event_type?: string
  [k: string]: unknown
}

function parseObject(data: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(data)
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}

const hasId = (v: unknown): v is { id: string } => !!v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string'

/**
 * A `warning` event (`{id, action, state, headline, level, ...}`) or a `warning_alert` (the
 * warning's JSON plus `user_id`, the staff member it is for); `{action, warning}` is read too.
 * Null for anything else.
 */
export function parseWarningEvent(data: string): { action: string; warning: WarningRef; userId: string | null } | null {
  const v = parseObject(data)
  if (!v) return null
  const action = typeof v.action === 'string' ? v.action : ''
  const userId = typeof v.user_id === 'string' ? v.user_id : null
  if (hasId(v.warning)) return { action, warning: v.warning as WarningRef, userId }
  if (typeof v.id === 'string' && typeof v.headline === 'string') return { action, warning: v as WarningRef, userId }
  return null
}

/** A `warning_relay` event: `{action, relay}` with the relay's `warning_id`; null for anything else. */
export function parseRelayEvent(data: string): { action: string; relay: { id: string; warning_id: string; town_code?: string; state?: string; [k: string]: unknown } } | null {
  const v = parseObject(data)
  if (!v) return null
  const action = typeof v.action === 'string' ? v.action : ''
  const r = hasId(v.relay) ? (v.relay as Record<string, unknown>) : typeof v.id === 'string' && typeof v.warning_id === 'string' ? v : null
  if (!r || typeof r.warning_id !== 'string') return null
  return { action, relay: r as { id: string; warning_id: string } }
}

// ---- the public page -------------------------------------------------------------------

/**
 * The map features of `/public/warnings.json` items: each item's GeoJSON area (a
 * Feature, FeatureCollection or bare geometry under `area_geojson`, `geojson`, `geometry`
 * or `areas`) as features carrying the warning's id, level and headline.
 */
export function publicAreaFeatures(items: readonly Record<string, unknown>[]): { type: 'FeatureCollection'; features: { type: 'Feature'; geometry: unknown; properties: Record<string, unknown> }[] } {
  const features: { type: 'Feature'; geometry: unknown; properties: Record<string, unknown> }[] = []
  for (const w of items) {
    const props = { id: w.id, level: w.level, headline: w.headline, event_type: w.event_type }
    const push = (g: unknown) => {
      if (!g || typeof g !== 'object') return
      const o = g as Record<string, unknown>
      if (o.type === 'FeatureCollection' && Array.isArray(o.features)) o.features.forEach((f) => push(f))
      else if (o.type === 'Feature') push(o.geometry)
      else if (typeof o.type === 'string' && 'coordinates' in o) features.push({ type: 'Feature', geometry: o, properties: props })
      else if (o.type === 'GeometryCollection' && Array.isArray(o.geometries)) o.geometries.forEach((x) => push(x))
    }
    for (const k of ['area_geojson', 'geojson', 'geometry', 'areas', 'area']) {
      const v = w[k]
      if (Array.isArray(v)) v.forEach(push)
      else push(v)
    }
  }
  return { type: 'FeatureCollection', features }
}

/** The items of a list answer, whether `{items}`, a bare array or `{warnings}`. */
export function itemsOf<T>(res: unknown): T[] {
  if (Array.isArray(res)) return res as T[]
  if (res && typeof res === 'object') {
    const o = res as Record<string, unknown>
    for (const k of ['items', 'warnings', 'features']) if (Array.isArray(o[k])) return o[k] as T[]
  }
  return []
}
