import { describe, expect, it } from 'vitest'
import {
  areaDescFromTowns,
  areaDraftFrom,
  buildAreaPayload,
  buildDraftBody,
  charCount,
  circleRing,
  closeRing,
  compareBySeverity,
  composeFormFrom,
  coverageStatus,
  debouncer,
  defaultTimes,
  deliverySeries,
  distanceKm,
  distinctVertexCount,
  draftGeometry,
  emptyAreaDraft,
  emptyComposeForm,
  eventTypeDefaults,
  fmtPercent,
  formFieldOf,
  groupEventTypes,
  isInForce,
  levelHex,
  levelTextColor,
  mayAutofillAreaDesc,
  orderedSteps,
  parseRelayEvent,
  parseWarningEvent,
  publicAreaFeatures,
  relayCounts,
  shanghaiLocalToUtc,
  shanghaiYearRange,
  stepNeedsReason,
  toggleTown,
  utcToShanghaiLocal,
  type EventTypeInfo,
  type LonLat,
} from './warnings'

const TYPES: EventTypeInfo[] = [
  { key: 'hazchem', zh: '危险化学品事故', en: 'Hazardous chemical accident', category: 'CBRNE', urgency: 'Immediate', certainty: 'Observed' },
  { key: 'rainstorm', zh: '暴雨', en: 'Rainstorm', category: 'Met', urgency: 'Expected', certainty: 'Likely' },
  { key: 'earthquake', zh: '地震', en: 'Earthquake', category: 'Geo', urgency: 'Immediate', certainty: 'Observed' },
  { key: 'heatwave', zh: '高温', en: 'Heatwave', category: 'Met', urgency: 'Expected', certainty: 'Likely' },
  { key: 'other', zh: '其他', en: 'Other', category: 'Other', urgency: 'Unknown', certainty: 'Unknown' },
]

describe('levels', () => {
  it('colours the four levels and greys anything else', () => {
    expect(levelHex('red')).toBe('#e03131')
    expect(levelHex('blue')).toBe('#1c7ed6')
    expect(levelHex('purple')).toBe('#868e96')
    expect(levelHex(null)).toBe('#868e96')
    expect(levelTextColor('yellow')).not.toBe('#ffffff')
    expect(levelTextColor('orange')).toBe('#ffffff')
  })

  it('sorts the most severe first, then the newest', () => {
    const ws = [
      { level: 'blue', effective_at: '2026-07-01T00:00:00Z' },
      { level: 'red', effective_at: '2026-06-01T00:00:00Z' },
      { level: 'red', effective_at: '2026-07-02T00:00:00Z' },
      { level: 'yellow', effective_at: '2026-07-03T00:00:00Z' },
    ]
    expect([...ws].sort(compareBySeverity).map((w) => `${w.level}@${w.effective_at.slice(5, 10)}`)).toEqual(['red@07-02', 'red@06-01', 'yellow@07-03', 'blue@07-01'])
  })
})

describe('workflow steps', () => {
  it('keeps the known steps in display order', () => {
    expect(orderedSteps(['cancel', 'update', 'bogus'])).toEqual(['update', 'cancel'])
    expect(orderedSteps(['reject', 'approve'])).toEqual(['approve', 'reject'])
    expect(orderedSteps(undefined)).toEqual([])
  })
  it('asks a reason for reject and cancel only', () => {
    expect(stepNeedsReason('reject')).toBe(true)
    expect(stepNeedsReason('cancel')).toBe(true)
    expect(stepNeedsReason('approve')).toBe(false)
  })
})

describe('event types', () => {
  it('groups by CAP category, meteorological first, server order kept', () => {
    const g = groupEventTypes(TYPES)
    expect(g.map((x) => x.category)).toEqual(['Met', 'Geo', 'CBRNE', 'Other'])
    expect(g[0].types.map((t) => t.key)).toEqual(['rainstorm', 'heatwave'])
  })
  it('gives the default urgency and certainty of a type', () => {
    expect(eventTypeDefaults(TYPES, 'hazchem')).toEqual({ urgency: 'Immediate', certainty: 'Observed' })
    expect(eventTypeDefaults(TYPES, 'rainstorm')).toEqual({ urgency: 'Expected', certainty: 'Likely' })
    expect(eventTypeDefaults(TYPES, 'tsunami')).toBeNull()
  })
  it('counts headline characters as the server does', () => {
    expect(charCount('暴雨红色预警')).toBe(6)
    expect(charCount('𠮷')).toBe(1) // one scalar, two UTF-16 units
    expect(charCount(null)).toBe(0)
  })
})

describe('areas', () => {
  const sq: LonLat[] = [
    [117.0, 39.3],
    [117.1, 39.3],
    [117.1, 39.4],
  ]

  it('closes a polygon and drops repeated vertices', () => {
    expect(closeRing(sq)).toEqual([...sq, sq[0]])
    expect(closeRing([sq[0], sq[0], sq[1], sq[2], sq[2], sq[0]])).toEqual([...sq, sq[0]])
    expect(closeRing([sq[0], sq[1]])).toEqual([sq[0], sq[1]])
    expect(closeRing([sq[0], sq[1], sq[0]])).toEqual([sq[0], sq[1]])
    expect(distinctVertexCount([...sq, sq[0]])).toBe(3)
    expect(distinctVertexCount([sq[0], sq[0]])).toBe(1)
  })

  it('toggles towns in the order chosen', () => {
    expect(toggleTown([], '120114001')).toEqual(['120114001'])
    expect(toggleTown(['120114001', '120114002'], '120114001')).toEqual(['120114002'])
    expect(toggleTown(['120114002'], '120114001')).toEqual(['120114002', '120114001'])
  })

  it('builds the payload of each mode or says what is missing', () => {
    const d = emptyAreaDraft()
    expect(buildAreaPayload(d)).toEqual({ problem: 'noTowns' })
    d.towns = ['120114001']
    expect(buildAreaPayload(d)).toEqual({ area: { kind: 'towns', town_codes: ['120114001'] } })

    d.mode = 'polygon'
    d.polygon = sq.slice(0, 2)
    expect(buildAreaPayload(d)).toEqual({ problem: 'polygonTooFew' })
    d.polygon = [[117.00000012, 39.3], ...sq.slice(1)]
    expect(buildAreaPayload(d)).toEqual({ area: { kind: 'polygon', polygon: [...sq, sq[0]] } })

    d.mode = 'circle'
    expect(buildAreaPayload(d)).toEqual({ problem: 'noCenter' })
    d.center = [117.05, 39.38]
    d.radiusKm = 0
    expect(buildAreaPayload(d)).toEqual({ problem: 'badRadius' })
    d.radiusKm = 250
    expect(buildAreaPayload(d)).toEqual({ problem: 'badRadius' })
    d.radiusKm = 5.25
    expect(buildAreaPayload(d)).toEqual({ area: { kind: 'circle', center: [117.05, 39.38], radius_km: 5.25 } })
  })

  it('reads a saved area back into the picker', () => {
    expect(areaDraftFrom({ kind: 'towns', town_codes: ['120114003'] })).toMatchObject({ mode: 'towns', towns: ['120114003'] })
    const p = areaDraftFrom({ kind: 'polygon', polygon: [...sq, sq[0]] })
    expect(p.mode).toBe('polygon')
    expect(p.polygon).toEqual(sq)
    expect(areaDraftFrom({ kind: 'circle', center: [117, 39], radius_km: 3 })).toMatchObject({ mode: 'circle', center: [117, 39], radiusKm: 3 })
    expect(areaDraftFrom({ kind: 'imported' }).mode).toBe('towns')
    expect(areaDraftFrom(null)).toEqual(emptyAreaDraft())
  })

  it('draws a circle of the right radius, closed', () => {
    const c: LonLat = [117.05, 39.38]
    const ring = circleRing(c, 5, 32)
    expect(ring).toHaveLength(33)
    expect(ring[0]).toEqual(ring[32])
    for (const p of ring) expect(distanceKm(c, p)).toBeCloseTo(5, 1)
  })

  it('measures distances', () => {
    expect(distanceKm([117, 39], [117, 40])).toBeCloseTo(111.2, 0)
    expect(distanceKm([117, 39], [117, 39])).toBe(0)
  })

  it('shows the drawing while it grows', () => {
    const d = emptyAreaDraft()
    d.mode = 'polygon'
    expect(draftGeometry(d)).toBeNull()
    d.polygon = [sq[0]]
    expect(draftGeometry(d)?.type).toBe('Point')
    d.polygon = sq.slice(0, 2)
    expect(draftGeometry(d)?.type).toBe('LineString')
    d.polygon = sq
    expect(draftGeometry(d)).toEqual({ type: 'Polygon', coordinates: [[...sq, sq[0]]] })
    d.mode = 'circle'
    d.center = [117, 39]
    d.radiusKm = 2
    expect(draftGeometry(d)?.type).toBe('Polygon')
    d.mode = 'towns'
    expect(draftGeometry(d)).toBeNull()
  })

  it('fills the area description from the towns until the composer writes their own', () => {
    const names: Record<string, string> = { a: '杨村街道', b: '下朱庄街道' }
    expect(areaDescFromTowns(['a', 'b'], (c) => names[c], 'zh-CN')).toBe('杨村街道、下朱庄街道')
    expect(areaDescFromTowns(['a', 'b'], (c) => names[c], 'en')).toBe('杨村街道, 下朱庄街道')
    expect(mayAutofillAreaDesc('', '杨村街道')).toBe(true)
    expect(mayAutofillAreaDesc('杨村街道', '杨村街道')).toBe(true)
    expect(mayAutofillAreaDesc('杨村街道沿河一带', '杨村街道')).toBe(false)
  })
})

describe('times', () => {
  it('converts API UTC times to Shanghai picker values and back', () => {
    expect(utcToShanghaiLocal('2026-07-01T16:30:00Z')).toBe('2026-07-02 00:30:00')
    expect(utcToShanghaiLocal('2026-07-01T16:30:00+00:00')).toBe('2026-07-02 00:30:00')
    expect(utcToShanghaiLocal('nonsense')).toBe('')
    expect(utcToShanghaiLocal(null)).toBe('')
    expect(shanghaiLocalToUtc('2026-07-02 00:30:00')).toBe('2026-07-01T16:30:00Z')
    expect(shanghaiLocalToUtc('2026-01-01 07:59')).toBe('2025-12-31T23:59:00Z')
    expect(shanghaiLocalToUtc('')).toBeNull()
    expect(shanghaiLocalToUtc('tomorrow')).toBeNull()
    const iso = '2026-03-15T04:05:06Z'
    expect(shanghaiLocalToUtc(utcToShanghaiLocal(iso))).toBe(iso)
  })

  it('defaults a new warning to now, expiring a day later', () => {
    const now = Date.parse('2026-07-01T16:30:42.500Z')
    expect(defaultTimes(now)).toEqual({ effective: '2026-07-02 00:30:00', expires: '2026-07-03 00:30:00' })
    expect(defaultTimes(now, 6).expires).toBe('2026-07-02 06:30:00')
  })

  it('takes the KPI year in Shanghai time', () => {
    // 31 Dec 17:00 UTC is already 1 January in Shanghai.
    expect(shanghaiYearRange(Date.parse('2025-12-31T17:00:00Z'))).toEqual({ from: '2025-12-31T16:00:00Z', to: '2026-12-31T16:00:00Z' })
    expect(shanghaiYearRange(Date.parse('2026-06-01T00:00:00Z')).from).toBe('2025-12-31T16:00:00Z')
  })

  it('tells whether a warning is in force', () => {
    const now = Date.parse('2026-07-01T00:00:00Z')
    expect(isInForce({ state: 'published', expires_at: '2026-07-02T00:00:00Z' }, now)).toBe(true)
    expect(isInForce({ state: 'published', expires_at: '2026-06-30T00:00:00Z' }, now)).toBe(false)
    expect(isInForce({ state: 'draft', expires_at: '2026-07-02T00:00:00Z' }, now)).toBe(false)
    expect(isInForce({ state: 'published', in_force: false, expires_at: '2026-07-02T00:00:00Z' }, now)).toBe(false)
  })
})

describe('the compose body', () => {
  it('sends UTC times, trimmed texts and null for empty optional ones', () => {
    const f = emptyComposeForm(Date.parse('2026-07-01T00:00:00Z'))
    Object.assign(f, {
      event_type: 'rainstorm',
      level: 'red',
      urgency: 'Expected',
      certainty: 'Likely',
      headline: ' 暴雨红色预警 ',
      description: '预计未来3小时降雨量将达100毫米以上',
      instruction: '',
      headline_en: '  ',
      effective: '2026-07-01 08:00:00',
      onset: '',
      expires: '2026-07-02 08:00:00',
    })
    const body = buildDraftBody(f, { kind: 'towns', town_codes: ['120114001'] })
    expect(body).toMatchObject({
      event_type: 'rainstorm',
      level: 'red',
      status: 'Actual',
      scope: 'public',
      headline: '暴雨红色预警',
      headline_en: null,
      response_type: null,
      effective_at: '2026-07-01T00:00:00Z',
      onset_at: null,
      expires_at: '2026-07-02T00:00:00Z',
      area: { kind: 'towns', town_codes: ['120114001'] },
    })
  })

  it('reads a saved draft back into the form in Shanghai time', () => {
    const f = composeFormFrom(
      { event_type: 'heatwave', level: 'orange', scope: 'restricted', headline: 'h', effective_at: '2026-07-01T00:00:00Z', expires_at: '2026-07-01T12:00:00Z', onset_at: null, headline_en: null },
      0,
    )
    expect(f).toMatchObject({ event_type: 'heatwave', level: 'orange', scope: 'restricted', status: 'Actual', effective: '2026-07-01 08:00:00', expires: '2026-07-01 20:00:00', onset: '', headline_en: '' })
  })

  it('maps the field an error names onto a form item', () => {
    expect(formFieldOf('area.town_codes')).toBe('area')
    expect(formFieldOf('area.radius_km')).toBe('area')
    expect(formFieldOf('expires_at')).toBe('expires')
    expect(formFieldOf('info[0].urgency')).toBe('urgency')
    expect(formFieldOf('headline')).toBe('headline')
    expect(formFieldOf('document')).toBeNull()
    expect(formFieldOf(null)).toBeNull()
  })
})

describe('debouncer', () => {
  function fakeTimers() {
    let now = 0
    let id = 0
    const pending = new Map<number, { at: number; fn: () => void }>()
    return {
      timers: {
        setTimeout: (fn: () => void, ms: number) => {
          pending.set(++id, { at: now + ms, fn })
          return id
        },
        clearTimeout: (h: unknown) => void pending.delete(h as number),
      },
      advance(ms: number) {
        now += ms
        for (const [k, v] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
          if (v.at <= now) {
            pending.delete(k)
            v.fn()
          }
        }
      },
    }
  }

  it('runs once, 400 ms after the last change', () => {
    const clock = fakeTimers()
    const runs: number[] = []
    const d = debouncer((s) => runs.push(s), 400, clock.timers)
    d.trigger()
    clock.advance(300)
    d.trigger()
    clock.advance(300)
    expect(runs).toEqual([])
    expect(d.pending).toBe(true)
    clock.advance(100)
    expect(runs).toEqual([1])
    expect(d.pending).toBe(false)
  })

  it('marks an older run stale once a newer one started or it was cancelled', () => {
    const clock = fakeTimers()
    const runs: number[] = []
    const d = debouncer((s) => runs.push(s), 400, clock.timers)
    d.trigger()
    clock.advance(400)
    const first = runs[0]
    expect(d.isLatest(first)).toBe(true)
    d.trigger()
    clock.advance(400)
    expect(d.isLatest(first)).toBe(false)
    expect(d.isLatest(runs[1])).toBe(true)
    d.trigger()
    d.cancel()
    clock.advance(1000)
    expect(runs).toHaveLength(2)
    expect(d.isLatest(runs[1])).toBe(false)
  })
})

describe('relays, deliveries and coverage', () => {
  it('counts relays by state', () => {
    expect(relayCounts([{ state: 'acknowledged' }, { state: 'pending' }, { state: 'escalated' }, { state: 'acknowledged' }])).toEqual({ total: 4, acknowledged: 2, pending: 1, escalated: 1 })
  })

  it('stacks delivery counts per channel, from rows per state or per channel', () => {
    const a = deliverySeries([
      { channel: 'sms', state: 'delivered', count: 90 },
      { channel: 'sms', state: 'failed', count: 3 },
      { channel: 'email', state: 'queued', count: 5 },
    ])
    expect(a.channels).toEqual(['email', 'sms'])
    expect(a.series.find((s) => s.state === 'delivered')!.data).toEqual([0, 90])
    expect(a.series.find((s) => s.state === 'queued')!.data).toEqual([5, 0])
    expect(a.total).toBe(98)
    const b = deliverySeries({ by_channel: [{ channel: 'webhook', queued: 0, sending: 0, delivered: 10, failed: 0, dead: 1, total: 11 }], total: { delivered: 10, dead: 1, total: 11 } })
    expect(b.channels).toEqual(['webhook'])
    expect(b.series.find((s) => s.state === 'dead')!.data).toEqual([1])
    expect(b.total).toBe(11)
    expect(deliverySeries(null)).toEqual({ channels: [], series: expect.any(Array), total: 0 })
  })

  it('colours coverage against the 90% target', () => {
    expect(coverageStatus(0.9)).toBe('meets')
    expect(coverageStatus(0.95)).toBe('meets')
    expect(coverageStatus(0.8999)).toBe('below')
    expect(coverageStatus(0.85, 0.8)).toBe('meets')
    expect(coverageStatus(null)).toBe('unknown')
    expect(fmtPercent(0.9234)).toBe('92.3%')
    expect(fmtPercent(1)).toBe('100.0%')
    expect(fmtPercent(null)).toBe('—')
  })
})

describe('live events and the public feed', () => {
  it('reads warning events and ignores others', () => {
    expect(parseWarningEvent('{"action":"published","warning":{"id":"W1","headline":"h"}}')).toEqual({ action: 'published', warning: { id: 'W1', headline: 'h' }, userId: null })
    expect(parseWarningEvent('{"id":"W3","headline":"h","level":"red","warning_id":"W3","user_id":"U1"}')?.userId).toBe('U1')
    expect(parseWarningEvent('{"id":"W2","headline":"h","state":"published"}')?.warning.id).toBe('W2')
    expect(parseWarningEvent('{"action":"x","alarm":{"id":"A"}}')).toBeNull()
    expect(parseWarningEvent('not json')).toBeNull()
  })

  it('reads relay events', () => {
    expect(parseRelayEvent('{"action":"acknowledged","relay":{"id":"R1","warning_id":"W1","town_code":"120114001"}}')?.relay.warning_id).toBe('W1')
    expect(parseRelayEvent('{"id":"R1","warning_id":"W1","state":"escalated"}')?.relay.state).toBe('escalated')
    expect(parseRelayEvent('{"action":"x","relay":{"id":"R1"}}')).toBeNull()
  })

  it('collects the areas of public warnings as features', () => {
    const fc = publicAreaFeatures([
      { id: 'W1', level: 'red', headline: 'a', area_geojson: { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [] }, properties: {} }] } },
      { id: 'W2', level: 'blue', headline: 'b', geometry: { type: 'MultiPolygon', coordinates: [] } },
      { id: 'W3', level: 'blue', headline: 'c' },
    ])
    expect(fc.features.map((f) => [f.properties.id, (f.geometry as { type: string }).type])).toEqual([
      ['W1', 'Polygon'],
      ['W2', 'MultiPolygon'],
    ])
  })
})
