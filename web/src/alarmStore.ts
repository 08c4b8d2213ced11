// Alarms shared by every page while someone is signed in: the live stream's
// events (parsed once per topic, handed to that topic's subscribers: `onTopic`), the duty summary for the
// menu badge and dashboard, which new HIGH alarms flash until acknowledged, and
// the alarm sound. Started by the Shell (signed-in layout), stopped on leaving it.

import { reactive, ref } from 'vue'
import { api, request } from './api/client'
import type { Alarm, AlarmEvent, AlarmSummary, HiddenDanger, RiskPoint } from './api/types'
import { parseAlarmEvent } from './lib/alarms'
import { parseHdEvent, parseRiskPointEvent } from './lib/dualprev'
import { parseRelayEvent, parseWarningEvent } from './lib/warnings'
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

const highHandlers = new Set<(a: Alarm) => void>()

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

/** The alarm bookkeeping of this tab (flash, sound, ticker) before the handlers run. */
function trackAlarm(ev: AlarmEvent) {
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
}

// ---- topics: one parser per live-event topic, one handler set per topic ----

export interface HiddenDangerEvent {
  action: string
  hidden_danger: HiddenDanger
}
export interface RiskPointEvent {
  action: string
  risk_point: RiskPoint
}
export type WarningEvent = NonNullable<ReturnType<typeof parseWarningEvent>>
export type WarningRelayEvent = NonNullable<ReturnType<typeof parseRelayEvent>>

/** What each topic's handlers receive (the event's data, parsed and checked). */
export interface TopicEvents {
  alarm: AlarmEvent
  hidden_danger: HiddenDangerEvent
  risk_point: RiskPointEvent
  /** A warning changed state (district-wide). */
  warning: WarningEvent
  /** A relay was created, acknowledged or escalated (its town, and the duty officer). */
  warning_relay: WarningRelayEvent
  /** A warning was published for the user's town (the platform's own channel). */
  warning_alert: WarningEvent
}
export type Topic = keyof TopicEvents

const PARSERS: { [K in Topic]: (data: string) => TopicEvents[K] | null } = {
  alarm: parseAlarmEvent,
  hidden_danger: parseHdEvent,
  risk_point: parseRiskPointEvent,
  warning: parseWarningEvent,
  warning_relay: parseRelayEvent,
  warning_alert: parseWarningEvent,
}
const TOPICS = Object.keys(PARSERS) as Topic[]

const topicHandlers = new Map<Topic, Set<(ev: never) => void>>()

/** Subscribes to one topic's parsed events; returns the unsubscribe function. */
export function onTopic<K extends Topic>(topic: K, fn: (ev: TopicEvents[K]) => void): () => void {
  let set = topicHandlers.get(topic)
  if (!set) {
    set = new Set()
    topicHandlers.set(topic, set)
  }
  set.add(fn as (ev: never) => void)
  return () => {
    set!.delete(fn as (ev: never) => void)
  }
}

function emit<K extends Topic>(topic: K, ev: TopicEvents[K]) {
  for (const fn of [...(topicHandlers.get(topic) ?? [])]) {
    try {
      ;(fn as (ev: TopicEvents[K]) => void)(ev)
    } catch (e) {
      console.error(`${topic} event handler failed`, e)
    }
  }
}

function handleData(topic: Topic, data: string) {
  const ev = PARSERS[topic](data)
  if (!ev) return
  if (topic === 'alarm') trackAlarm(ev as AlarmEvent)
  emit(topic, ev)
  if (topic === 'alarm') refreshSummarySoon()
}

/** Subscribes to parsed alarm events; returns the unsubscribe function. */
export const onAlarmEvent = (fn: (ev: AlarmEvent) => void) => onTopic('alarm', fn)
/** Subscribes to parsed hidden-danger events; returns the unsubscribe function. */
export const onHiddenDangerEvent = (fn: (ev: HiddenDangerEvent) => void) => onTopic('hidden_danger', fn)
/** Subscribes to parsed risk-point events (create, update, delete, assess). */
export const onRiskPointEvent = (fn: (ev: RiskPointEvent) => void) => onTopic('risk_point', fn)

let started = false
let offs: (() => void)[] = []
let pollTimer: ReturnType<typeof setInterval> | null = null

/** Opens the live stream and loads the summary; idempotent. */
export function startAlarms(): void {
  if (started) return
  started = true
  armAudioOnFirstGesture()
  offs = [
    ...TOPICS.map((topic) => liveEvents.on(topic, (data) => handleData(topic, data))),
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
