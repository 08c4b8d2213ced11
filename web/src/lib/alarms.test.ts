import { describe, expect, it } from 'vitest'
import type { Alarm } from '../api/types'
import {
  COLOUR_HEX,
  EnterpriseAlarmIndex,
  applyEventToEnterprise,
  monitoredFeatures,
  pointProps,
  NORMAL_HEX,
  OFFLINE_HEX,
  colourHex,
  colourText,
  enterpriseMapColour,
  escalationTagType,
  isOpen,
  kindColour,
  sortKinds,
  matchesAlarmFilter,
  mergeAlarm,
  parseAlarmEvent,
  sensorStateTagType,
  statusTagType,
  worstColour,
} from './alarms'

let seq = 0
function alarm(over: Partial<Alarm> = {}): Alarm {
  seq++
  return {
    id: `a${seq}`,
    enterprise_id: 'e1',
    enterprise_name: '某化工',
    town_code: '120114001',
    lon: 117.0,
    lat: 39.4,
    sensor_id: 's1',
    sensor_code: 'LT-101',
    sensor_name: '储罐液位',
    sensor_kind: 'level',
    unit_of_measure: 'm',
    kind: 'HH',
    severity: 'high',
    colour: 'red',
    threshold: 9,
    raised_at: '2026-12-01T08:00:00Z',
    raised_value: 9.5,
    active: true,
    cleared_at: null,
    cleared_value: null,
    status: 'unacknowledged',
    acknowledged_at: null,
    acknowledged_by: null,
    disposed_at: null,
    disposed_by: null,
    dispose_cause: null,
    dispose_measures: null,
    dispose_note: null,
    assignee_id: null,
    assignee_name: null,
    escalation: 'enterprise',
    escalated_at: null,
    updated_at: '2026-12-01T08:00:00Z',
    ...over,
  }
}
const at = (min: number) => new Date(Date.UTC(2026, 11, 1, 8, min)).toISOString()

describe('alarm colours and tags', () => {
  it('ranks colours red > orange > yellow > blue', () => {
    expect(worstColour(['blue', 'yellow', null, 'orange'])).toBe('orange')
    expect(worstColour(['blue', 'red', 'orange'])).toBe('red')
    expect(worstColour([])).toBeNull()
    expect(worstColour([null, undefined])).toBeNull()
  })
  it('colours a monitored enterprise: grey offline, worst alarm, green when quiet', () => {
    expect(enterpriseMapColour({ online: false, worst_colour: 'red' })).toBe(OFFLINE_HEX)
    expect(enterpriseMapColour({ online: true, worst_colour: 'yellow' })).toBe(COLOUR_HEX.yellow)
    expect(enterpriseMapColour({ online: true, worst_colour: null })).toBe(NORMAL_HEX)
    expect(colourHex(null)).toBe(OFFLINE_HEX)
    expect(colourText('yellow')).not.toBe(colourText('red'))
  })
  it('knows the colour of each kind and sorts kinds worst first', () => {
    expect(kindColour('HH')).toBe('red')
    expect(kindColour('LL')).toBe('red')
    expect(kindColour('H')).toBe('yellow')
    expect(kindColour('enterprise_offline')).toBe('orange')
    expect(kindColour('offline')).toBe('blue')
    expect(kindColour('nonsense')).toBeNull()
    expect(sortKinds(['offline', 'H', 'HH'])).toEqual(['HH', 'H', 'offline'])
  })
  it('maps statuses, escalations and sensor states to tag types', () => {
    expect(statusTagType('unacknowledged')).toBe('danger')
    expect(statusTagType('acknowledged')).toBe('warning')
    expect(statusTagType('disposed')).toBe('success')
    expect(escalationTagType('district')).toBe('danger')
    expect(escalationTagType('town')).toBe('warning')
    expect(escalationTagType('enterprise')).toBe('info')
    expect(sensorStateTagType('normal')).toBe('success')
    expect(sensorStateTagType('alarm')).toBe('danger')
    expect(sensorStateTagType('fault')).toBe('warning')
    expect(sensorStateTagType('offline')).toBe('info')
    expect(sensorStateTagType('no_data')).toBe('info')
  })
})

describe('parseAlarmEvent', () => {
  it('reads an alarm event', () => {
    const a = alarm()
    expect(parseAlarmEvent(JSON.stringify({ action: 'raised', alarm: a }))).toEqual({ action: 'raised', alarm: a })
  })
  it('rejects bad JSON, unknown actions and missing alarms', () => {
    expect(parseAlarmEvent('not json')).toBeNull()
    expect(parseAlarmEvent('null')).toBeNull()
    expect(parseAlarmEvent(JSON.stringify({ action: 'exploded', alarm: alarm() }))).toBeNull()
    expect(parseAlarmEvent(JSON.stringify({ action: 'raised' }))).toBeNull()
    expect(parseAlarmEvent(JSON.stringify({ action: 'raised', alarm: { id: 'x' } }))).toBeNull()
  })
})

describe('alarm filters', () => {
  it('open means active or not disposed', () => {
    expect(isOpen(alarm({ active: false, status: 'acknowledged' }))).toBe(true)
    expect(isOpen(alarm({ active: true, status: 'disposed' }))).toBe(true)
    expect(isOpen(alarm({ active: false, status: 'disposed' }))).toBe(false)
  })
  it('matches the API filters, open by default', () => {
    const a = alarm({ active: false, status: 'disposed' })
    expect(matchesAlarmFilter(a, {})).toBe(false)
    expect(matchesAlarmFilter(a, { state: 'all' })).toBe(true)
    expect(matchesAlarmFilter(a, { state: 'active' })).toBe(false)
    const b = alarm({ escalation: 'town', kind: 'H', severity: 'low' })
    expect(matchesAlarmFilter(b, { escalation: 'town', kind: 'H', severity: 'low', town_code: '120114001', enterprise_id: 'e1', status: 'unacknowledged' })).toBe(true)
    expect(matchesAlarmFilter(b, { escalation: 'district' })).toBe(false)
    expect(matchesAlarmFilter(b, { kind: 'HH' })).toBe(false)
    expect(matchesAlarmFilter(b, { enterprise_id: 'e2' })).toBe(false)
    expect(matchesAlarmFilter(b, { status: 'acknowledged' })).toBe(false)
  })
})

describe('mergeAlarm', () => {
  const page1 = { first: true, size: 20 }
  it('puts a new alarm at the top of page 1', () => {
    const old = [alarm({ raised_at: at(5) }), alarm({ raised_at: at(1) })]
    const fresh = alarm({ raised_at: at(9) })
    const r = mergeAlarm(old, fresh, {}, page1)
    expect(r.items.map((a) => a.id)).toEqual([fresh.id, old[0].id, old[1].id])
    expect(r).toMatchObject({ totalDelta: 1, inserted: true, removed: false })
    expect(old).toHaveLength(2) // not mutated
  })
  it('inserts by raised time when an older alarm newly matches', () => {
    const list = [alarm({ raised_at: at(9) }), alarm({ raised_at: at(1) })]
    const mid = alarm({ raised_at: at(5), escalation: 'district' })
    const r = mergeAlarm(list, mid, { escalation: 'district' }, page1)
    expect(r.items[1].id).toBe(mid.id)
  })
  it('replaces a listed alarm with its newer copy', () => {
    const a = alarm()
    const acked = { ...a, status: 'acknowledged' as const, updated_at: at(3) }
    const r = mergeAlarm([a], acked, {}, page1)
    expect(r.items[0].status).toBe('acknowledged')
    expect(r.totalDelta).toBe(0)
  })
  it('ignores a stale copy', () => {
    const a = alarm({ status: 'acknowledged', updated_at: at(5) })
    const stale = { ...a, status: 'unacknowledged' as const, updated_at: at(1) }
    const r = mergeAlarm([a], stale, {}, page1)
    expect(r.items).toBe(r.items)
    expect(r.items[0].status).toBe('acknowledged')
  })
  it('drops an alarm that no longer matches', () => {
    const a = alarm()
    const done = { ...a, active: false, status: 'disposed' as const, updated_at: at(9) }
    const r = mergeAlarm([a, alarm()], done, { state: 'open' }, page1)
    expect(r.items.map((x) => x.id)).not.toContain(a.id)
    expect(r).toMatchObject({ totalDelta: -1, removed: true })
  })
  it('ignores an update that does not match and is not listed', () => {
    const r = mergeAlarm([alarm()], alarm({ kind: 'L' }), { kind: 'HH' }, page1)
    expect(r).toMatchObject({ totalDelta: 0, inserted: false })
  })
  it('on a later page counts a newer alarm without showing it', () => {
    const list = [alarm({ raised_at: at(5) })]
    const r = mergeAlarm(list, alarm({ raised_at: at(9) }), {}, { first: false, size: 20 })
    expect(r.items).toBe(list)
    expect(r.totalDelta).toBe(1)
  })
  it('leaves an older alarm to the next page when this one is full', () => {
    const list = [alarm({ raised_at: at(5) }), alarm({ raised_at: at(4) })]
    const r = mergeAlarm(list, alarm({ raised_at: at(1) }), {}, { first: true, size: 2 })
    expect(r.items).toHaveLength(2)
    expect(r.inserted).toBe(false)
    const r2 = mergeAlarm(list, alarm({ raised_at: at(1) }), {}, { first: true, size: 3 })
    expect(r2.items).toHaveLength(3)
  })
})

describe('EnterpriseAlarmIndex', () => {
  it('is unknown until seeded and applies events once seeded', () => {
    const idx = new EnterpriseAlarmIndex()
    const a = alarm({ colour: 'yellow', kind: 'H' })
    expect(idx.apply(a)).toBe(false)
    expect(idx.status('e1')).toBeNull()
    idx.beginSeed('e1')
    idx.finishSeed('e1', [a])
    expect(idx.status('e1')).toMatchObject({ worst_colour: 'yellow', active_alarms: 1, unacknowledged: 1 })
    const red = alarm({ colour: 'red', raised_at: at(3), updated_at: at(3) })
    expect(idx.apply(red)).toBe(true)
    expect(idx.status('e1')!.worst_colour).toBe('red')
    // Cleared but not acknowledged: still open, no longer colours the enterprise.
    idx.apply({ ...red, active: false, cleared_at: at(4), updated_at: at(4) })
    expect(idx.status('e1')).toMatchObject({ worst_colour: 'yellow', active_alarms: 1, unacknowledged: 2 })
    idx.apply({ ...red, active: false, status: 'disposed', updated_at: at(6) })
    expect(idx.alarms('e1').map((x) => x.id)).toEqual([a.id])
  })
  it('replays events that arrive while the seed is fetched, newest copy winning', () => {
    const idx = new EnterpriseAlarmIndex()
    const a = alarm({ updated_at: at(1) })
    const b = alarm({ raised_at: at(2), updated_at: at(2) })
    idx.beginSeed('e1')
    // b is disposed and cleared while the fetch runs; the fetch still saw it open.
    expect(idx.apply({ ...b, active: false, status: 'disposed', updated_at: at(5) })).toBe(false)
    // a was acknowledged before the snapshot: the held copy is older than the snapshot's.
    idx.apply({ ...a, status: 'acknowledged', updated_at: at(3) })
    idx.finishSeed('e1', [{ ...a, status: 'disposed', active: true, updated_at: at(4) }, b])
    expect(idx.alarms('e1').map((x) => x.id)).toEqual([a.id])
    expect(idx.alarms('e1')[0].status).toBe('disposed')
  })
  it('does not resurrect an alarm closed before the snapshot', () => {
    const idx = new EnterpriseAlarmIndex()
    const c = alarm()
    idx.beginSeed('e1')
    idx.apply(c) // raised after the fetch started
    idx.apply({ ...c, active: false, status: 'disposed', updated_at: at(2) })
    idx.finishSeed('e1', []) // snapshot taken after it closed
    expect(idx.alarms('e1')).toEqual([])
  })
  it('tracks enterprise offline alarms', () => {
    const idx = new EnterpriseAlarmIndex()
    const off = alarm({ kind: 'enterprise_offline', colour: 'orange', sensor_id: null, enterprise_id: 'e9' })
    expect(idx.offlineFlag('e9')).toBeNull()
    idx.apply(off)
    expect(idx.offlineFlag('e9')).toBe(true)
    idx.apply({ ...off, active: false, updated_at: at(5) })
    expect(idx.offlineFlag('e9')).toBe(false)
  })
})

describe('monitoring layer', () => {
  const ent = {
    enterprise_id: 'e1',
    name: '某化工',
    town_code: '120114001',
    lon: 117.1,
    lat: 39.4,
    sensors: 8,
    online: true,
    last_seen_at: null,
    active_alarms: 0,
    unacknowledged: 0,
    worst_colour: null,
  }
  it('draws monitored enterprises with a location, coloured by state', () => {
    const fc = monitoredFeatures([ent, { ...ent, enterprise_id: 'e2', lon: null, lat: null }, { ...ent, enterprise_id: 'e3', online: false, worst_colour: 'red' }])
    expect(fc.features.map((f) => f.properties.enterprise_id)).toEqual(['e1', 'e3'])
    expect(fc.features[0].geometry!.coordinates).toEqual([117.1, 39.4])
    expect(fc.features[0].properties.fill).toBe(NORMAL_HEX)
    expect(fc.features[1].properties.fill).toBe(OFFLINE_HEX)
    expect(pointProps({ ...ent, worst_colour: 'red' }).rank).toBeGreaterThan(pointProps({ ...ent, worst_colour: 'blue' }).rank)
  })
  it('folds a raise in at once and takes the exact status once known', () => {
    const red = alarm({ enterprise_id: 'e1', colour: 'red' })
    const e1 = applyEventToEnterprise({ ...ent, worst_colour: 'yellow' }, red, null)
    expect(e1.worst_colour).toBe('red')
    // A clear cannot be folded in without the other alarms: unchanged until seeded.
    expect(applyEventToEnterprise(e1, { ...red, active: false }, null).worst_colour).toBe('red')
    const exact = { worst_colour: 'yellow' as const, active_alarms: 1, unacknowledged: 2, offline: null }
    expect(applyEventToEnterprise(e1, { ...red, active: false }, exact)).toMatchObject({ worst_colour: 'yellow', active_alarms: 1, unacknowledged: 2 })
  })
  it('turns an enterprise grey while it is offline', () => {
    const off = alarm({ kind: 'enterprise_offline', colour: 'orange', sensor_id: null })
    const e = applyEventToEnterprise(ent, off, null)
    expect(e.online).toBe(false)
    expect(enterpriseMapColour(e)).toBe(OFFLINE_HEX)
    expect(applyEventToEnterprise(e, { ...off, active: false }, null).online).toBe(true)
  })
})
