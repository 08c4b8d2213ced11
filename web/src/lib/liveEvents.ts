// The live event stream (`GET /api/v1/events`, Server-Sent Events): one
// EventSource per tab, shared by every page through `liveEvents`.
//
// - Subscribers register per event type (`on('alarm', fn)`) and get the raw `data`.
// - The browser reconnects by itself after a dropped connection and sends
//   Last-Event-ID, so the server replays what was missed. When the browser gives
//   up (the server answered an error, e.g. 401 or 503), we open a new EventSource
//   after a growing delay, passing the last id as `?last_event_id=` (a new
//   EventSource cannot set the header), so the server replays from there too.
// - Only when no event id is known yet (nothing received before the drop) can
//   events have been missed for good; then `onResync` subscribers reload what
//   they show.
// - `status` tells the UI whether it is live.
//
// No Vue import besides `ref`, and the EventSource and timers are injectable,
// so the reconnect logic is unit-tested in Node.

import { ref, type Ref } from 'vue'

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'reconnecting'

/** What we use of an EventSource. */
export interface EventSourceLike {
  readonly readyState: number
  onopen: ((ev: Event) => void) | null
  onerror: ((ev: Event) => void) | null
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void
  close(): void
}

export interface LiveEventsOptions {
  url?: string
  create?: (url: string) => EventSourceLike
  setTimeout?: (fn: () => void, ms: number) => unknown
  clearTimeout?: (handle: unknown) => void
  /** Called before a reconnect after the browser gave up (e.g. to notice an expired session). */
  beforeReconnect?: () => Promise<boolean> | boolean
}

/** Delays between our own reconnect attempts, in ms; the last one repeats. */
export const RECONNECT_DELAYS = [1000, 2000, 5000, 10000, 30000]

const CLOSED = 2

type Handler = (data: string, ev: MessageEvent) => void

export class LiveEvents {
  readonly status: Ref<LiveStatus> = ref('idle')
  private es: EventSourceLike | null = null
  private handlers = new Map<string, Set<Handler>>()
  private attached = new Set<string>()
  private resyncHandlers = new Set<() => void>()
  private timer: unknown = null
  private attempt = 0
  private opens = 0
  private running = false
  /** The id of the last event received, to resume from. */
  private lastId = ''
  private readonly opts: Required<Omit<LiveEventsOptions, 'beforeReconnect'>> & Pick<LiveEventsOptions, 'beforeReconnect'>

  constructor(opts: LiveEventsOptions = {}) {
    this.opts = {
      url: opts.url ?? '/api/v1/events',
      create: opts.create ?? ((u) => new EventSource(u, { withCredentials: true }) as unknown as EventSourceLike),
      setTimeout: opts.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      clearTimeout: opts.clearTimeout ?? ((h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>)),
      beforeReconnect: opts.beforeReconnect,
    }
  }

  /** Opens the stream (idempotent). */
  start(): void {
    if (this.running) return
    this.running = true
    this.attempt = 0
    this.opens = 0
    this.lastId = ''
    this.connect()
  }

  /** Closes the stream (on logout); subscribers stay registered for the next start. */
  stop(): void {
    this.running = false
    if (this.timer !== null) this.opts.clearTimeout(this.timer)
    this.timer = null
    this.es?.close()
    this.es = null
    this.status.value = 'idle'
  }

  /** Subscribes to one event type; returns the unsubscribe function. */
  on(type: string, fn: Handler): () => void {
    let set = this.handlers.get(type)
    if (!set) {
      set = new Set()
      this.handlers.set(type, set)
    }
    set.add(fn)
    if (this.es && !this.attached.has(type)) this.attach(this.es, type)
    return () => {
      set!.delete(fn)
    }
  }

  /** Called after a reconnect that could not resume from a known event id. */
  onResync(fn: () => void): () => void {
    this.resyncHandlers.add(fn)
    return () => {
      this.resyncHandlers.delete(fn)
    }
  }

  private attach(es: EventSourceLike, type: string) {
    this.attached.add(type)
    es.addEventListener(type, (ev) => {
      if (es !== this.es) return
      if (ev.lastEventId) this.lastId = ev.lastEventId
      for (const fn of [...(this.handlers.get(type) ?? [])]) {
        try {
          fn(String(ev.data ?? ''), ev)
        } catch (e) {
          console.error(`live event handler (${type}) failed`, e)
        }
      }
    })
  }

  private connect() {
    if (!this.running) return
    this.status.value = this.opens > 0 || this.attempt > 0 ? 'reconnecting' : 'connecting'
    let es: EventSourceLike
    const url = this.lastId ? `${this.opts.url}${this.opts.url.includes('?') ? '&' : '?'}last_event_id=${encodeURIComponent(this.lastId)}` : this.opts.url
    try {
      es = this.opts.create(url)
    } catch {
      this.scheduleReconnect()
      return
    }
    this.es = es
    this.attached = new Set()
    for (const type of this.handlers.keys()) this.attach(es, type)
    es.onopen = () => {
      if (es !== this.es) return
      this.attempt = 0
      this.status.value = 'open'
      // A reopen that could not resume (no id known) may have missed events.
      if (this.opens++ > 0 && !this.lastId) this.resync()
    }
    es.onerror = () => {
      if (es !== this.es) return
      if (es.readyState === CLOSED) {
        // The browser gave up; try again ourselves.
        es.close()
        this.es = null
        this.scheduleReconnect()
      } else {
        // The browser is reconnecting by itself (with Last-Event-ID).
        this.status.value = 'reconnecting'
      }
    }
  }

  private scheduleReconnect() {
    if (!this.running) return
    this.status.value = 'reconnecting'
    const delay = RECONNECT_DELAYS[Math.min(this.attempt, RECONNECT_DELAYS.length - 1)]
    this.attempt++
    this.timer = this.opts.setTimeout(async () => {
      this.timer = null
      if (!this.running) return
      if (this.opts.beforeReconnect) {
        let go = true
        try {
          go = await this.opts.beforeReconnect()
        } catch {
          go = true
        }
        if (!go) {
          this.stop()
          return
        }
        if (!this.running) return
      }
      this.connect()
    }, delay)
  }

  private resync() {
    for (const fn of [...this.resyncHandlers]) {
      try {
        fn()
      } catch (e) {
        console.error('live resync handler failed', e)
      }
    }
  }
}
