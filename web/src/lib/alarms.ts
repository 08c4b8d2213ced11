// Pure helpers for alarms: colours and tags, parsing the live stream's `alarm`
// events, and merging an updated alarm into a page of the alarm list or into the
// per-enterprise index behind the one-map's monitoring layer. No Vue, no I/O.

import type {
  Alarm,
  FeatureCollection,
  MonitoredEnterprise,
  AlarmAction,
  AlarmColour,
  AlarmEvent,
  AlarmKind,
  AlarmState,
  AlarmStatus,
  Escalation,
  SensorState,
} from '../api/types'

export const ALARM_KINDS: AlarmKind[] = ['HH', 'H', 'L', 'LL', 'offline', 'sensor_fault', 'enterprise_offline']
export const ALARM_STATUSES: AlarmStatus[] = ['unacknowledged', 'acknowledged', 'disposed']
export const ESCALATIONS: Escalation[] = ['enterprise', 'town', 'district']
export const ALARM_ACTIONS: AlarmAction[] = ['raised', 'cleared', 'acknowledged', 'disposed', 'assigned', 'escalated']
export const ALARM_COLOURS: AlarmColour[] = ['red', 'orange', 'yellow', 'blue']

/** The four warning colours, the same shades as the hazard grades on the one-map. */
export const COLOUR_HEX: Record<AlarmColour, string> = {
  red: '#e03131',
  orange: '#f76707',
  yellow: '#fab005',
  blue: '#1c7ed6',
}
/** A monitored enterprise with no active alarm. */
export const NORMAL_HEX = '#2f9e44'
/** An offline enterprise or sensor. */
export const OFFLINE_HEX = '#868e96'

const RANK: Record<AlarmColour, number> = { red: 4, orange: 3, yellow: 2, blue: 1 }

export function isColour(c: unknown): c is AlarmColour {
  return c === 'red' || c === 'orange' || c === 'yellow' || c === 'blue'
}

export function colourHex(c: AlarmColour | null | undefined): string {
  return isColour(c) ? COLOUR_HEX[c] : OFFLINE_HEX
}

/** Text on a colour: white, except dark on yellow. */
export function colourText(c: AlarmColour | null | undefined): string {
  return c === 'yellow' ? '#3b2f00' : '#ffffff'
}

/** The most severe colour (red > orange > yellow > blue), or null when there is none. */
export function worstColour(colours: Iterable<AlarmColour | null | undefined>): AlarmColour | null {
  let best: AlarmColour | null = null
  for (const c of colours) if (isColour(c) && (!best || RANK[c] > RANK[best])) best = c
  return best
}

/** The map colour of a monitored enterprise: grey when offline, else its worst active alarm, else green. */
export function enterpriseMapColour(e: { online: boolean; worst_colour: AlarmColour | null }): string {
  if (!e.online) return OFFLINE_HEX
  return e.worst_colour ? COLOUR_HEX[e.worst_colour] : NORMAL_HEX
}

type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

export function statusTagType(s: AlarmStatus): TagType {
  return s === 'unacknowledged' ? 'danger' : s === 'acknowledged' ? 'warning' : 'success'
}

export function escalationTagType(e: Escalation): TagType {
  return e === 'district' ? 'danger' : e === 'town' ? 'warning' : 'info'
}

export function sensorStateTagType(s: SensorState): TagType {
  switch (s) {
    case 'normal':
      return 'success'
    case 'alarm':
      return 'danger'
    case 'fault':
      return 'warning'
    default:
      return 'info'
  }
}

/**
 * The colour the server gives each kind (its own default, see `monitor::alarm`):
 * HH/LL red, enterprise offline orange, H/L yellow, sensor offline and fault blue.
 * Used where only the kind is known (a sensor's active kinds); alarms carry their colour.
 */
export const KIND_COLOUR: Record<AlarmKind, AlarmColour> = {
  HH: 'red',
  LL: 'red',
  enterprise_offline: 'orange',
  H: 'yellow',
  L: 'yellow',
  offline: 'blue',
  sensor_fault: 'blue',
}

export function kindColour(k: string): AlarmColour | null {
  return (KIND_COLOUR as Record<string, AlarmColour>)[k] ?? null
}

/** Kinds in order of severity, worst first (for a sensor's active kinds). */
export function sortKinds(kinds: string[]): string[] {
  const order = (k: string) => {
    const i = ALARM_KINDS.indexOf(k as AlarmKind)
    return i < 0 ? 99 : i
  }
  const rank = (k: string) => -(RANK[kindColour(k) ?? 'blue'] ?? 0)
  return [...kinds].sort((a, b) => rank(a) - rank(b) || order(a) - order(b))
}

/** Threshold alarms carry a value and a threshold; offline and fault alarms do not. */
export function isThresholdKind(k: string): boolean {
  return k === 'HH' || k === 'H' || k === 'L' || k === 'LL'
}

/** `alarm.kinds.HH` … — falls back to the raw kind in the view when unknown. */
export function kindLabelKey(k: string): string {
  return `alarm.kinds.${k}`
}

// ---- the live stream ------------------------------------------------------------

function isAlarm(a: unknown): a is Alarm {
  if (!a || typeof a !== 'object') return false
  const o = a as Record<string, unknown>
  return (
    typeof o.id === 'string' &&
    typeof o.enterprise_id === 'string' &&
    typeof o.kind === 'string' &&
    typeof o.status === 'string' &&
    typeof o.raised_at === 'string' &&
    typeof o.active === 'boolean'
  )
}

/** The `data:` of an `event: alarm`, or null when it is not one (bad JSON, unknown action, no alarm). */
export function parseAlarmEvent(data: string): AlarmEvent | null {
  let v: unknown
  try {
    v = JSON.parse(data)
  } catch {
    return null
  }
  if (!v || typeof v !== 'object') return null
  const o = v as Record<string, unknown>
  if (typeof o.action !== 'string' || !(ALARM_ACTIONS as string[]).includes(o.action)) return null
  if (!isAlarm(o.alarm)) return null
  return { action: o.action as AlarmAction, alarm: o.alarm }
}

// ---- the alarm list -------------------------------------------------------------

/** The alarm console's filters, named as the API's query parameters; '' = any. */
export interface AlarmFilter {
  state: AlarmState | ''
  status: string
  severity: string
  kind: string
  town_code: string
  enterprise_id: string
  escalation: string
}

/** Open = the condition still holds or the alarm is not yet disposed. */
export function isOpen(a: Pick<Alarm, 'active' | 'status'>): boolean {
  return a.active || a.status !== 'disposed'
}

/** Whether the server would list this alarm under these filters. */
export function matchesAlarmFilter(a: Alarm, f: Partial<AlarmFilter>): boolean {
  const state = f.state || 'open'
  if (state === 'open' && !isOpen(a)) return false
  if (state === 'active' && !a.active) return false
  if (f.status && a.status !== f.status) return false
  if (f.severity && a.severity !== f.severity) return false
  if (f.kind && a.kind !== f.kind) return false
  if (f.town_code && a.town_code !== f.town_code) return false
  if (f.enterprise_id && a.enterprise_id !== f.enterprise_id) return false
  if (f.escalation && a.escalation !== f.escalation) return false
  return true
}

function ms(s: string | null | undefined): number {
  const v = s ? Date.parse(s) : NaN
  return Number.isNaN(v) ? 0 : v
}

/** True when `incoming` is not older than `current` (an event may arrive after a fresher fetch). */
export function isNotOlder(incoming: Pick<Alarm, 'updated_at'>, current: Pick<Alarm, 'updated_at'>): boolean {
  return ms(incoming.updated_at) >= ms(current.updated_at)
}

export interface MergeResult {
  items: Alarm[]
  /** What to add to the list's total. */
  totalDelta: number
  /** The alarm was new to this list and put into it. */
  inserted: boolean
  /** The alarm left the list (it no longer matches the filters). */
  removed: boolean
}

/**
 * Applies one alarm update to a page of the list (sorted newest raised first):
 * a listed alarm is replaced, or removed when it no longer matches the filters;
 * an alarm new to the filters goes in at its place by `raised_at` when that place
 * is on this page (page 1, or the list is not full). Stale updates (older
 * `updated_at` than the listed copy) are ignored. Returns a new array.
 */
export function mergeAlarm(
  list: Alarm[],
  alarm: Alarm,
  filter: Partial<AlarmFilter>,
  page: { first: boolean; size: number },
): MergeResult {
  const same = { items: list, totalDelta: 0, inserted: false, removed: false }
  const idx = list.findIndex((a) => a.id === alarm.id)
  const matches = matchesAlarmFilter(alarm, filter)
  if (idx >= 0) {
    if (!isNotOlder(alarm, list[idx])) return same
    const items = list.slice()
    if (matches) {
      items[idx] = alarm
      return { ...same, items }
    }
    items.splice(idx, 1)
    return { items, totalDelta: -1, inserted: false, removed: true }
  }
  if (!matches) return same
  const raised = ms(alarm.raised_at)
  let pos = list.findIndex((a) => ms(a.raised_at) < raised)
  if (pos === -1) pos = list.length
  // Above everything shown: it belongs to an earlier page unless this is page 1.
  if (pos === 0 && !page.first && list.length > 0) return { ...same, totalDelta: 1 }
  // Below everything on a full page: it belongs to a later page.
  if (pos === list.length && list.length >= page.size) return { ...same, totalDelta: 1 }
  const items = list.slice()
  items.splice(pos, 0, alarm)
  return { items, totalDelta: 1, inserted: true, removed: false }
}

// ---- open alarms by enterprise (the one-map's monitoring layer) ------------------

export interface EnterpriseAlarmStatus {
  worst_colour: AlarmColour | null
  active_alarms: number
  unacknowledged: number
  /** True/false once an `enterprise_offline` alarm has been seen; null when unknown. */
  offline: boolean | null
}

/**
 * The open alarms of each enterprise, kept current from the live stream. An
 * enterprise is "seeded" from `GET /alarms?enterprise_id=…&state=open` the first
 * time it matters; events arriving while that fetch runs are replayed over its
 * answer (newest copy of each alarm wins), so nothing is lost or resurrected.
 */
export class EnterpriseAlarmIndex {
  private open = new Map<string, Map<string, Alarm>>()
  private pending = new Map<string, Alarm[]>()
  /** The last copy seen of each alarm, closed ones included, to ignore stale events. */
  private lastSeen = new Map<string, string>()
  private offline = new Map<string, boolean>()

  isSeeded(enterpriseId: string): boolean {
    return this.open.has(enterpriseId)
  }

  isSeeding(enterpriseId: string): boolean {
    return this.pending.has(enterpriseId)
  }

  /** Marks a fetch of the enterprise's open alarms as started. */
  beginSeed(enterpriseId: string): void {
    if (!this.pending.has(enterpriseId)) this.pending.set(enterpriseId, [])
  }

  /** The fetch failed: forget the events held for it (the next event tries again). */
  abortSeed(enterpriseId: string): void {
    this.pending.delete(enterpriseId)
  }

  /** The fetch answered: its alarms, then the events received since it started. */
  finishSeed(enterpriseId: string, alarms: Alarm[]): void {
    const held = this.pending.get(enterpriseId) ?? []
    this.pending.delete(enterpriseId)
    const prev = this.open.get(enterpriseId)
    const m = new Map<string, Alarm>()
    this.open.set(enterpriseId, m)
    for (const a of alarms) {
      const seen = this.lastSeen.get(a.id)
      if (seen !== undefined && ms(seen) > ms(a.updated_at)) {
        // A re-seed older than an event already applied: keep what the event said.
        const kept = prev?.get(a.id)
        if (kept) m.set(a.id, kept)
        continue
      }
      if (isOpen(a)) m.set(a.id, a)
      this.note(a)
    }
    for (const a of held) this.put(a)
  }

  /** Applies an alarm update; returns false when its enterprise is not seeded (nothing changed). */
  apply(alarm: Alarm): boolean {
    if (alarm.kind === 'enterprise_offline') {
      const stale = this.lastSeen.has(alarm.id) && !isNotOlder(alarm, { updated_at: this.lastSeen.get(alarm.id)! })
      if (!stale) this.offline.set(alarm.enterprise_id, alarm.active)
    }
    const held = this.pending.get(alarm.enterprise_id)
    if (held) {
      held.push(alarm)
      return false
    }
    if (!this.open.has(alarm.enterprise_id)) return false
    this.put(alarm)
    return true
  }

  private note(a: Alarm) {
    this.lastSeen.set(a.id, a.updated_at)
  }

  private put(a: Alarm) {
    const m = this.open.get(a.enterprise_id)
    if (!m) return
    const seen = this.lastSeen.get(a.id)
    if (seen !== undefined && ms(seen) > ms(a.updated_at)) return
    this.note(a)
    if (isOpen(a)) m.set(a.id, a)
    else m.delete(a.id)
  }

  /** The enterprise's open alarms, newest raised first (empty when not seeded). */
  alarms(enterpriseId: string): Alarm[] {
    return [...(this.open.get(enterpriseId)?.values() ?? [])].sort((a, b) => ms(b.raised_at) - ms(a.raised_at))
  }

  /** Its worst active colour and counts; null when not seeded. */
  status(enterpriseId: string): EnterpriseAlarmStatus | null {
    const m = this.open.get(enterpriseId)
    if (!m) return null
    const all = [...m.values()]
    const active = all.filter((a) => a.active)
    return {
      worst_colour: worstColour(active.map((a) => a.colour)),
      active_alarms: active.length,
      unacknowledged: all.filter((a) => a.status === 'unacknowledged').length,
      offline: this.offlineFlag(enterpriseId),
    }
  }

  /** Whether an `enterprise_offline` alarm said the enterprise is (true) or is no longer (false) offline. */
  offlineFlag(enterpriseId: string): boolean | null {
    return this.offline.has(enterpriseId) ? this.offline.get(enterpriseId)! : null
  }
}

// ---- the one-map's monitoring layer -----------------------------------------------

export interface MonitoredPointProps {
  enterprise_id: string
  name: string
  town_code: string
  online: boolean
  worst_colour: AlarmColour | null
  active_alarms: number
  unacknowledged: number
  /** The drawn colour (see enterpriseMapColour). */
  fill: string
  /** 0 offline/quiet … 4 red: drawn larger when higher. */
  rank: number
}

export function pointProps(e: Pick<MonitoredEnterprise, 'enterprise_id' | 'name' | 'town_code' | 'online' | 'worst_colour' | 'active_alarms' | 'unacknowledged'>): MonitoredPointProps {
  return {
    enterprise_id: e.enterprise_id,
    name: e.name,
    town_code: e.town_code,
    online: e.online,
    worst_colour: e.worst_colour,
    active_alarms: e.active_alarms,
    unacknowledged: e.unacknowledged,
    fill: enterpriseMapColour(e),
    rank: e.online && e.worst_colour ? RANK[e.worst_colour] : 0,
  }
}

/** Monitored enterprises with a location as GeoJSON points (the others cannot be drawn). */
export function monitoredFeatures(list: MonitoredEnterprise[]): FeatureCollection<MonitoredPointProps> {
  return {
    type: 'FeatureCollection',
    features: list
      .filter((e) => typeof e.lon === 'number' && typeof e.lat === 'number')
      .map((e) => ({
        type: 'Feature' as const,
        geometry: { type: 'Point', coordinates: [e.lon as number, e.lat as number] },
        properties: pointProps(e),
      })),
  }
}

/**
 * A monitored enterprise after an alarm event, from what is known: the index's
 * exact status when the enterprise is seeded; otherwise (until its open alarms are
 * fetched) a raise can only make the colour worse, so it is folded in at once.
 */
export function applyEventToEnterprise(e: MonitoredEnterprise, alarm: Alarm, exact: EnterpriseAlarmStatus | null): MonitoredEnterprise {
  const out = { ...e }
  if (alarm.kind === 'enterprise_offline') {
    out.online = !alarm.active
  }
  if (exact) {
    out.worst_colour = exact.worst_colour
    out.active_alarms = exact.active_alarms
    out.unacknowledged = exact.unacknowledged
  } else if (alarm.active) {
    out.worst_colour = worstColour([e.worst_colour, alarm.colour])
  }
  return out
}
