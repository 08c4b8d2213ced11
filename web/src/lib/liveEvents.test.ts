import { describe, expect, it, vi } from 'vitest'
import { LiveEvents, RECONNECT_DELAYS, type EventSourceLike } from './liveEvents'

class FakeES implements EventSourceLike {
  readyState = 0
  onopen: ((ev: Event) => void) | null = null
  onerror: ((ev: Event) => void) | null = null
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>()
  closed = false
  constructor(public url: string) {}
  addEventListener(type: string, fn: (ev: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn])
  }
  close() {
    this.closed = true
    this.readyState = 2
  }
  open() {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }
  emit(type: string, data: string, lastEventId = '') {
    for (const fn of this.listeners.get(type) ?? []) fn({ data, lastEventId } as MessageEvent)
  }
  fail(closed: boolean) {
    this.readyState = closed ? 2 : 0
    this.onerror?.(new Event('error'))
  }
}

function setup(beforeReconnect?: () => boolean) {
  const made: FakeES[] = []
  const timers: { fn: () => void; ms: number }[] = []
  const live = new LiveEvents({
    url: '/api/v1/events',
    create: (u) => {
      const es = new FakeES(u)
      made.push(es)
      return es
    },
    setTimeout: (fn, ms) => timers.push({ fn, ms }),
    clearTimeout: () => {},
    beforeReconnect,
  })
  return { live, made, timers }
}

describe('LiveEvents', () => {
  it('opens one stream and dispatches events to the subscribers of their type', () => {
    const { live, made } = setup()
    const a = vi.fn()
    const b = vi.fn()
    live.on('alarm', a)
    live.start()
    live.start()
    expect(made).toHaveLength(1)
    expect(made[0].url).toBe('/api/v1/events')
    live.on('alarm', b) // subscribing later also works
    made[0].open()
    expect(live.status.value).toBe('open')
    made[0].emit('alarm', '{"x":1}')
    made[0].emit('other', 'ignored')
    expect(a).toHaveBeenCalledWith('{"x":1}', expect.anything())
    expect(b).toHaveBeenCalledTimes(1)
  })

  it('stops delivering to a handler after unsubscribing, and survives a throwing handler', () => {
    const { live, made } = setup()
    const bad = vi.fn(() => {
      throw new Error('boom')
    })
    const good = vi.fn()
    const off = live.on('alarm', good)
    live.on('alarm', bad)
    live.start()
    const err = vi.spyOn(console, 'error').mockImplementation(() => {})
    made[0].emit('alarm', '1')
    off()
    made[0].emit('alarm', '2')
    expect(good).toHaveBeenCalledTimes(1)
    expect(bad).toHaveBeenCalledTimes(2)
    err.mockRestore()
  })

  it("leaves the browser's own reconnect alone; resyncs only when it could not resume", () => {
    const { live, made, timers } = setup()
    const resync = vi.fn()
    live.onResync(resync)
    live.on('alarm', () => {})
    live.start()
    made[0].open()
    expect(resync).not.toHaveBeenCalled()
    // Dropped before any event: the browser has no id to resume from.
    made[0].fail(false)
    expect(live.status.value).toBe('reconnecting')
    expect(timers).toHaveLength(0)
    made[0].open()
    expect(resync).toHaveBeenCalledTimes(1)
    // With an id the browser sends Last-Event-ID and the server replays: no resync.
    made[0].emit('alarm', 'x', '41')
    made[0].fail(false)
    made[0].open()
    expect(resync).toHaveBeenCalledTimes(1)
    expect(made).toHaveLength(1)
  })

  it('reconnects with growing delays when the browser gives up, resuming from the last id', async () => {
    const { live, made, timers } = setup()
    const resync = vi.fn()
    live.onResync(resync)
    const handler = vi.fn()
    live.on('alarm', handler)
    live.start()
    made[0].open()
    made[0].emit('alarm', 'first', '7')
    made[0].fail(true)
    expect(made[0].closed).toBe(true)
    expect(timers.map((t) => t.ms)).toEqual([RECONNECT_DELAYS[0]])
    await timers[0].fn()
    expect(made).toHaveLength(2)
    expect(made[1].url).toBe('/api/v1/events?last_event_id=7')
    made[1].fail(true)
    expect(timers[1].ms).toBe(RECONNECT_DELAYS[1])
    await timers[1].fn()
    made[2].open()
    expect(resync).not.toHaveBeenCalled()
    made[2].emit('alarm', 'x', '8')
    made[0].emit('alarm', 'stale') // the old stream is ignored
    expect(handler).toHaveBeenCalledTimes(2)
    // The delays start over after a successful open.
    made[2].fail(true)
    expect(timers[2].ms).toBe(RECONNECT_DELAYS[0])
    await timers[2].fn()
    expect(made[3].url).toBe('/api/v1/events?last_event_id=8')
  })

  it('resyncs after our own reconnect when no event id was known', async () => {
    const { live, made, timers } = setup()
    const resync = vi.fn()
    live.onResync(resync)
    live.start()
    made[0].open()
    made[0].fail(true)
    await timers[0].fn()
    expect(made[1].url).toBe('/api/v1/events')
    made[1].open()
    expect(resync).toHaveBeenCalledTimes(1)
  })

  it('stops for good when beforeReconnect says so (session gone)', async () => {
    const { live, made, timers } = setup(() => false)
    live.start()
    made[0].fail(true)
    await timers[0].fn()
    expect(made).toHaveLength(1)
    expect(live.status.value).toBe('idle')
  })

  it('closes the stream on stop', () => {
    const { live, made } = setup()
    live.start()
    live.stop()
    expect(made[0].closed).toBe(true)
    expect(live.status.value).toBe('idle')
  })
})
