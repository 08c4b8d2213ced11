// Alarms shared by every page while someone is signed in: the live stream's
// alarm events (parsed once, handed to subscribers), the duty summary for the
// menu badge and dashboard, which new HIGH alarms flash until acknowledged, and
// the alarm sound. Started by the Shell (signed-in layout), stopped on leaving it.

import { reactive, ref } from 'vue'
import { api, request } from './api/client'
import type { Alarm, AlarmEvent, AlarmSummary, HiddenDanger, RiskPoint } from './api/types'
import { parseAlarmEvent } from './lib/alarms'
import { parseHdEvent, parseRiskPointEvent } from './lib/dualprev'
import { armAudioOnFirstGesture, beep } from './lib/beep'
import { LiveEvents } from './lib/liveEvents'

/** The one event stream of this tab. */
export const liveEvents = new LiveEvents({
  // After the browser gave up on the stream, ask who we are: a 401 there runs the
  // global handler (back to the login page) and we stop instead of retrying.
  beforeReconnect: async () => {
    try {
      await request('GET', '/me')
      return true
    } catch (e) {
      return !(e && typeof e === 'object' && 'status' in e && (e as { status: number }).status === 401)
    }
  },
})

export const alarmState = reactive({
  summary: null as AlarmSummary | null,
  summaryError: '',
  /** Ids of HIGH alarms raised while this tab was open and not yet acknowledged. */
  flashing: new Set<string>(),
  /** The latest alarm events (newest first), for the dashboard's ticker. */
  recent: [] as AlarmEvent[],
})

/** Bumped on every alarm event and resync, for views that only need "something changed". */
export const alarmTick = ref(0)

type AlarmHandler = (ev: AlarmEvent) => void
const handlers = new Set<AlarmHandler>()
const highHandlers = new Set<(a: Alarm) => void>()

/** Subscribes to parsed alarm events; returns the unsubscribe function. */
export function onAlarmEvent(fn: AlarmHandler): () => void {
  handlers.add(fn)
  return () => handlers.delete(fn)
}

/** Called for each newly raised HIGH alarm (the Shell shows a notification). */
export function onHighAlarm(fn: (a: Alarm) => void): () => void {
  highHandlers.add(fn)
  return () => highHandlers.delete(fn)
}

export function isFlashing(a: Pick<Alarm, 'id' | 'status'>): boolean {
  return a.status === 'unacknowledged' && alarmState.flashing.has(a.id)
}

let summarySeq = 0
export async function refreshSummary(): Promise<void> {
  const mine = ++summarySeq
  try {
    const s = await api.get<AlarmSummary>('/alarms/summary')
    if (mine !== summarySeq) return
    alarmState.summary = s
    alarmState.summaryError = ''
  } catch (e) {
    if (mine === summarySeq) alarmState.summaryError = e instanceof Error ? e.message : String(e)
  }
}

let summaryTimer: ReturnType<typeof setTimeout> | null = null
/** Coalesces a burst of events into one summary request. */
function refreshSummarySoon() {
  if (summaryTimer) return
  summaryTimer = setTimeout(() => {
    summaryTimer = null
    void refreshSummary()
  }, 400)
}

export const RECENT_MAX = 30

function handleAlarmData(data: string) {
  const ev = parseAlarmEvent(data)
  if (!ev) return
  const a = ev.alarm
  if (ev.action === 'raised' && a.severity === 'high' && a.status === 'unacknowledged') {
    alarmState.flashing.add(a.id)
    beep()
    for (const fn of [...highHandlers]) fn(a)
  } else if (a.status !== 'unacknowledged') {
    alarmState.flashing.delete(a.id)
  }
  alarmState.recent = [ev, ...alarmState.recent.filter((r) => !(r.alarm.id === a.id && r.action === ev.action))].slice(0, RECENT_MAX)
  alarmTick.value++
  for (const fn of [...handlers]) {
    try {
      fn(ev)
    } catch (e) {
      console.error('alarm event handler failed', e)
    }
  }
  refreshSummarySoon()
}

// ---- hidden dangers: the same stream carries topic `hidden_danger` ----
export interface HiddenDangerEvent {
  action: string
  hidden_danger: HiddenDanger
}
const hdHandlers = new Set<(ev: HiddenDangerEvent) => void>()

/** Subscribes to parsed hidden-danger events; returns the unsubscribe function. */
export function onHiddenDangerEvent(fn: (ev: HiddenDangerEvent) => void): () => void {
  hdHandlers.add(fn)
  return () => hdHandlers.delete(fn)
}

function handleHdData(data: string) {
  const ev = parseHdEvent(data)
  if (!ev) return
  for (const fn of [...hdHandlers]) {
    try {
      fn(ev)
    } catch (e) {
      console.error('hidden danger event handler failed', e)
    }
  }
}

// ---- risk points: topic `risk_point` (create, update, delete, assess) ----
export interface RiskPointEvent {
  action: string
  risk_point: RiskPoint
}
const rpHandlers = new Set<(ev: RiskPointEvent) => void>()

/** Subscribes to parsed risk-point events; returns the unsubscribe function. */
export function onRiskPointEvent(fn: (ev: RiskPointEvent) => void): () => void {
  rpHandlers.add(fn)
  return () => rpHandlers.delete(fn)
}

function handleRiskPointData(data: string) {
  const ev = parseRiskPointEvent(data)
  if (!ev) return
  for (const fn of [...rpHandlers]) {
    try {
      fn(ev)
    } catch (e) {
      console.error('risk point event handler failed', e)
    }
  }
}

let started = false
let offs: (() => void)[] = []
let pollTimer: ReturnType<typeof setInterval> | null = null

/** Opens the live stream and loads the summary; idempotent. */
export function startAlarms(): void {
  if (started) return
  started = true
  armAudioOnFirstGesture()
  offs = [
    liveEvents.on('alarm', handleAlarmData),
    liveEvents.on('hidden_danger', handleHdData),
    liveEvents.on('risk_point', handleRiskPointData),
    liveEvents.onResync(() => {
      alarmTick.value++
      void refreshSummary()
    }),
  ]
  liveEvents.start()
  void refreshSummary()
  // Escalations and offline enterprises also come as events; this is a safety net.
  pollTimer = setInterval(() => void refreshSummary(), 60_000)
}

export function stopAlarms(): void {
  if (!started) return
  started = false
  offs.forEach((f) => f())
  offs = []
  liveEvents.stop()
  if (pollTimer) clearInterval(pollTimer)
  pollTimer = null
  alarmState.summary = null
  alarmState.flashing = new Set()
  alarmState.recent = []
}
