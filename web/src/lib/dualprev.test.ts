import { describe, expect, it } from 'vitest'
import type { HiddenDanger, HiddenDangerStatsRow } from '../api/types'
import {
  DEFAULT_BANDS,
  LEC_C,
  LEC_E,
  LEC_L,
  allowedActions,
  bandsText,
  boardColumns,
  countStatuses,
  daysLeft,
  fmtScore,
  lecColour,
  lecD20,
  lecGrade,
  lecPreview,
  lsPreview,
  matchesHdFilter,
  mergeHiddenDanger,
  parseHdEvent,
  shanghaiMonth,
  shanghaiToday,
  sortBoardRows,
  zeroOperations,
  operationsTotal,
  townRiskCounts,
  previousMonth,
  parseRiskPointEvent,
  applyRiskPointEvent,
  riskLegendCounts,
  stateAllows,
  statsChart,
  statsTotals,
} from './dualprev'

describe('LEC preview', () => {
  it('has the factor tables of rules.rs', () => {
    expect(LEC_L.map((f) => f.value)).toEqual([10, 6, 3, 1, 0.5, 0.2, 0.1])
    expect(LEC_E.map((f) => f.value)).toEqual([10, 6, 3, 2, 1, 0.5])
    expect(LEC_C.map((f) => f.value)).toEqual([100, 40, 15, 7, 3, 1])
  })

  it('computes D exactly, without float noise', () => {
    expect(lecD20(0.1, 6, 100) / 20).toBe(60)
    expect(lecPreview(0.1, 6, 100, DEFAULT_BANDS)?.d).toBe(60)
    expect(lecPreview(0.2, 0.5, 7, DEFAULT_BANDS)?.d).toBe(0.7)
  })

  it('colours at the band edges: an edge itself belongs to the lower colour', () => {
    // 320 and 160 are not products of the tables; the colour function is checked directly.
    expect(lecColour(320, DEFAULT_BANDS)).toBe('orange')
    expect(lecColour(320.05, DEFAULT_BANDS)).toBe('red')
    expect(lecColour(160, DEFAULT_BANDS)).toBe('yellow')
    expect(lecColour(161, DEFAULT_BANDS)).toBe('orange')
    expect(lecColour(70, DEFAULT_BANDS)).toBe('blue')
    expect(lecColour(70.05, DEFAULT_BANDS)).toBe('yellow')
    // Reachable values: 10·6·7 = 420 red; 3·6·15 = 270 orange; 6·3·7 = 126 yellow; 1·6·7 = 42 blue.
    expect(lecPreview(10, 6, 7, DEFAULT_BANDS)?.colour).toBe('red')
    expect(lecPreview(3, 6, 15, DEFAULT_BANDS)?.colour).toBe('orange')
    expect(lecPreview(6, 3, 7, DEFAULT_BANDS)?.colour).toBe('yellow')
    expect(lecPreview(1, 6, 7, DEFAULT_BANDS)?.colour).toBe('blue')
    // 0.5 × 10 × 15 = 75 → yellow; 1 × 10 × 7 = 70 → blue (on the edge).
    expect(lecPreview(0.5, 10, 15, DEFAULT_BANDS)?.colour).toBe('yellow')
    expect(lecPreview(1, 10, 7, DEFAULT_BANDS)?.colour).toBe('blue')
  })

  it('follows the bands in force, not the defaults', () => {
    const strict = { ...DEFAULT_BANDS, lec_red_above: 200, lec_orange_above: 100, lec_yellow_above: 50 }
    expect(lecPreview(3, 6, 15, strict)?.colour).toBe('red') // 270
    expect(lecPreview(6, 3, 7, strict)?.colour).toBe('orange') // 126
    expect(lecPreview(1, 6, 15, strict)?.colour).toBe('yellow') // 90
  })

  it('grades D on the classic scale independently of the colour bands', () => {
    expect(lecGrade(400)).toBe(1)
    expect(lecGrade(320)).toBe(2)
    expect(lecGrade(160)).toBe(3)
    expect(lecGrade(70)).toBe(4)
    expect(lecGrade(20)).toBe(5)
    expect(lecGrade(21)).toBe(4)
  })

  it('is null while a factor is missing or outside its table', () => {
    expect(lecPreview(null, 6, 7, DEFAULT_BANDS)).toBeNull()
    expect(lecPreview(2, 6, 7, DEFAULT_BANDS)).toBeNull()
    expect(lecPreview(1, 4, 7, DEFAULT_BANDS)).toBeNull()
    expect(lecPreview(1, 6, 8, DEFAULT_BANDS)).toBeNull()
  })
})

describe('LS preview', () => {
  it('colours R = L × S at the edges (an edge is the higher colour)', () => {
    expect(lsPreview(4, 5, DEFAULT_BANDS)).toEqual({ r: 20, colour: 'red' })
    expect(lsPreview(4, 4, DEFAULT_BANDS)).toEqual({ r: 16, colour: 'orange' })
    expect(lsPreview(3, 5, DEFAULT_BANDS)).toEqual({ r: 15, colour: 'orange' })
    expect(lsPreview(2, 7, DEFAULT_BANDS)).toBeNull()
    expect(lsPreview(3, 4, DEFAULT_BANDS)).toEqual({ r: 12, colour: 'yellow' })
    expect(lsPreview(3, 3, DEFAULT_BANDS)).toEqual({ r: 9, colour: 'yellow' })
    expect(lsPreview(2, 4, DEFAULT_BANDS)).toEqual({ r: 8, colour: 'blue' })
    expect(lsPreview(1, 1, DEFAULT_BANDS)).toEqual({ r: 1, colour: 'blue' })
  })

  it('refuses values off the 1–5 scale', () => {
    expect(lsPreview(0, 3, DEFAULT_BANDS)).toBeNull()
    expect(lsPreview(2.5, 3, DEFAULT_BANDS)).toBeNull()
    expect(lsPreview(undefined, 3, DEFAULT_BANDS)).toBeNull()
  })

  it('states the bands in force', () => {
    const t = bandsText(DEFAULT_BANDS)
    expect(t.lec.red).toBe('D > 320')
    expect(t.lec.orange).toBe('160 < D ≤ 320')
    expect(t.lec.blue).toBe('D ≤ 70')
    expect(t.ls.red).toBe('R ≥ 20')
    expect(t.ls.yellow).toBe('9 ≤ R < 15')
    expect(t.ls.blue).toBe('R < 9')
  })

  it('formats scores without float noise', () => {
    expect(fmtScore(60.00000000001)).toBe('60')
    expect(fmtScore(0.7)).toBe('0.7')
    expect(fmtScore(null)).toBe('—')
  })
})

const ALL = ['rectify', 'submit', 'accept', 'reject', 'close', 'list']
const ENTERPRISE = { general: ['rectify', 'submit', 'accept', 'reject', 'close'], major: ['rectify', 'submit'] }
const SUPERVISOR = { general: ['accept', 'reject', 'list'], major: ['accept', 'reject', 'list'] }

describe('hidden-danger actions', () => {
  it('follow the state machine', () => {
    expect(stateAllows('rectify', 'reported', 'general')).toBe(true)
    expect(stateAllows('rectify', 'rectifying', 'general')).toBe(false)
    expect(stateAllows('submit', 'rectifying', 'major')).toBe(true)
    expect(stateAllows('accept', 'awaiting_acceptance', 'major')).toBe(true)
    expect(stateAllows('reject', 'rectifying', 'major')).toBe(false)
    expect(stateAllows('close', 'rectifying', 'general')).toBe(true)
    expect(stateAllows('close', 'awaiting_acceptance', 'major')).toBe(false)
    expect(stateAllows('list', 'reported', 'major')).toBe(true)
    expect(stateAllows('list', 'reported', 'general')).toBe(false)
    expect(stateAllows('list', 'closed', 'major')).toBe(false)
  })

  it('show only what the role may do in this state', () => {
    expect(allowedActions({ state: 'reported', level: 'general' }, ENTERPRISE)).toEqual(['rectify'])
    expect(allowedActions({ state: 'rectifying', level: 'general' }, ENTERPRISE)).toEqual(['submit', 'close'])
    expect(allowedActions({ state: 'awaiting_acceptance', level: 'general' }, ENTERPRISE)).toEqual(['accept', 'reject', 'close'])
    expect(allowedActions({ state: 'awaiting_acceptance', level: 'major' }, ENTERPRISE)).toEqual([])
    expect(allowedActions({ state: 'awaiting_acceptance', level: 'major' }, SUPERVISOR)).toEqual(['accept', 'reject', 'list'])
    expect(allowedActions({ state: 'reported', level: 'major' }, SUPERVISOR)).toEqual(['list'])
    expect(allowedActions({ state: 'closed', level: 'major' }, { general: ALL, major: ALL })).toEqual([])
    expect(allowedActions({ state: 'reported', level: 'general' }, null)).toEqual([])
  })
})

function hd(over: Partial<HiddenDanger>): HiddenDanger {
  return {
    id: 'h',
    enterprise_id: 'e1',
    enterprise_name: 'E',
    town_code: 't1',
    town_name: 'T',
    industry_section: 'C',
    lon: null,
    lat: null,
    risk_point_id: null,
    risk_point_name: null,
    alarm_id: null,
    location: '',
    description: 'd',
    source: 'self_check',
    category: 'fire',
    level: 'general',
    found_by: 'x',
    found_at: '2026-11-01T00:00:00Z',
    reported_by: null,
    state: 'reported',
    measures: null,
    funds: null,
    responsible_person: null,
    deadline: null,
    contingency: null,
    rectification_result: null,
    rectified_at: null,
    closed_at: null,
    closed_by: null,
    close_evidence: null,
    overdue: false,
    overdue_at: null,
    supervision: null,
    created_at: '2026-11-01T00:00:00Z',
    updated_at: '2026-11-01T00:00:00Z',
    ...over,
  }
}

describe('the board', () => {
  it('groups by state, overdue first, then the earliest deadline', () => {
    const items = [
      hd({ id: 'a', state: 'rectifying', deadline: '2026-12-10T00:00:00Z' }),
      hd({ id: 'b', state: 'rectifying', deadline: '2026-12-05T00:00:00Z' }),
      hd({ id: 'c', state: 'rectifying', deadline: '2026-12-20T00:00:00Z', overdue: true }),
      hd({ id: 'd', state: 'closed' }),
      hd({ id: 'e', state: 'reported' }),
    ]
    const cols = boardColumns(items, { reported: 7, rectifying: 3, awaiting_acceptance: 0, closed: 12, overdue: 1, open_major: 0, supervised: 0 })
    expect(cols.map((c) => c.state)).toEqual(['reported', 'rectifying', 'awaiting_acceptance', 'closed'])
    expect(cols.map((c) => c.count)).toEqual([7, 3, 0, 12])
    expect(cols[1].items.map((h) => h.id)).toEqual(['c', 'b', 'a'])
    expect(cols[2].items).toEqual([])
  })

  it('counts the loaded cards when the board counts are missing', () => {
    expect(boardColumns([hd({ id: 'x' })], null)[0].count).toBe(1)
  })
})

describe('live merge of hidden dangers', () => {
  const open = (h: HiddenDanger) => matchesHdFilter(h, { state: 'open' })
  it('adds a new matching one at the top', () => {
    const r = mergeHiddenDanger([hd({ id: 'a' })], hd({ id: 'b' }), open)
    expect(r.items.map((h) => h.id)).toEqual(['b', 'a'])
    expect(r.totalDelta).toBe(1)
  })
  it('replaces an update and drops one that no longer matches', () => {
    const items = [hd({ id: 'a' })]
    const r = mergeHiddenDanger(items, hd({ id: 'a', state: 'rectifying', updated_at: '2026-11-02T00:00:00Z' }), open)
    expect(r.items[0].state).toBe('rectifying')
    const gone = mergeHiddenDanger(items, hd({ id: 'a', state: 'closed', updated_at: '2026-11-02T00:00:00Z' }), open)
    expect(gone.items).toEqual([])
    expect(gone.totalDelta).toBe(-1)
  })
  it('ignores an older copy', () => {
    const items = [hd({ id: 'a', updated_at: '2026-11-03T00:00:00Z', state: 'rectifying' })]
    expect(mergeHiddenDanger(items, hd({ id: 'a' }), open).items[0].state).toBe('rectifying')
  })
  it('checks the local filters', () => {
    const h = hd({ level: 'major', overdue: true })
    expect(matchesHdFilter(h, { level: 'major', overdue: 'true' })).toBe(true)
    expect(matchesHdFilter(h, { level: 'general' })).toBe(false)
    expect(matchesHdFilter(h, { supervised: 'true' })).toBe(false)
    expect(matchesHdFilter(h, { state: 'reported', town_code: 't2' })).toBe(false)
  })
  it('parses hidden_danger events', () => {
    expect(parseHdEvent(JSON.stringify({ action: 'rectify', hidden_danger: hd({}) }))?.action).toBe('rectify')
    expect(parseHdEvent('{"action":"x"}')).toBeNull()
    expect(parseHdEvent('nope')).toBeNull()
  })
  it('counts days left to a deadline', () => {
    const now = Date.parse('2026-12-01T00:00:00Z')
    expect(daysLeft('2026-12-03T00:00:00Z', now)).toBe(2)
    expect(daysLeft('2026-11-30T00:00:00Z', now)).toBe(-1)
    expect(daysLeft(null, now)).toBeNull()
    expect(daysLeft('2026-11-30T23:00:00Z', now)).toBe(-1)
    expect(daysLeft('2026-11-28T12:00:00Z', now)).toBe(-3)
  })
})

const row = (key: string, period: string, found: number, closed: number, overdue: number, name = key): HiddenDangerStatsRow => ({
  key,
  name,
  period,
  found,
  major: 0,
  closed,
  overdue,
  rectification_rate: found ? closed / found : null,
})

describe('statistics series', () => {
  const rows = [row('t1', '2026-10', 4, 2, 1, '甲镇'), row('t1', '2026-11', 6, 6, 0, '甲镇'), row('t2', '2026-11', 20, 10, 5, '乙镇'), row('t3', '2026-11', 0, 0, 0, '丙镇')]
  it('sums the periods per group, most found first, with the rate in percent', () => {
    const c = statsChart(rows)
    expect(c.categories).toEqual(['乙镇', '甲镇', '丙镇'])
    expect(c.found).toEqual([20, 10, 0])
    expect(c.closed).toEqual([10, 8, 0])
    expect(c.overdue).toEqual([5, 1, 0])
    expect(c.rate).toEqual([50, 80, null])
  })
  it('sums the groups per period, in time order', () => {
    const c = statsChart(rows, { byPeriod: true })
    expect(c.categories).toEqual(['2026-10', '2026-11'])
    expect(c.found).toEqual([4, 26])
    expect(c.rate).toEqual([50, 61.5])
  })
  it('keeps the top groups', () => {
    expect(statsChart(rows, { top: 1 }).categories).toEqual(['乙镇'])
  })
  it('totals', () => {
    expect(statsTotals(rows)).toEqual({ found: 30, major: 0, closed: 18, overdue: 6, rate: 60 })
    expect(statsTotals([]).rate).toBeNull()
  })
})

describe('commitments', () => {
  it('counts statuses and contradictions', () => {
    const c = countStatuses([
      { status: 'on_time', contradictions: [{ kind: 'open_major_hidden_dangers', count: 1 }] },
      { status: 'late', contradictions: [] },
      { status: 'missing', contradictions: [] },
      { status: 'missing', contradictions: [] },
    ])
    expect(c).toEqual({ on_time: 1, late: 1, pending: 0, missing: 2, contradictory: 1 })
  })
  it('knows the Shanghai day and month', () => {
    // 2026-11-30 17:00 UTC is 2026-12-01 01:00 in Shanghai.
    expect(shanghaiToday(Date.parse('2026-11-30T17:00:00Z'))).toBe('2026-12-01')
    expect(shanghaiToday(Date.parse('2026-11-30T15:59:59Z'))).toBe('2026-11-30')
    expect(shanghaiMonth(Date.parse('2026-11-30T16:00:00Z'))).toBe('2026-12')
  })
  it('orders the board: contradictions, then missing, late, pending, on time', () => {
    const rows = [
      { enterprise_name: 'B', status: 'on_time' as const, contradictions: [] },
      { enterprise_name: 'A', status: 'pending' as const, contradictions: [] },
      { enterprise_name: 'C', status: 'missing' as const, contradictions: [] },
      { enterprise_name: 'D', status: 'on_time' as const, contradictions: [{ kind: 'open_major_hidden_dangers', count: 2 }] },
      { enterprise_name: 'E', status: 'late' as const, contradictions: [] },
    ]
    expect(sortBoardRows(rows).map((r) => r.enterprise_name)).toEqual(['D', 'C', 'E', 'A', 'B'])
  })
  it('builds and totals the special operations', () => {
    expect(zeroOperations(['hot_work', 'height'])).toEqual({ hot_work: 0, height: 0 })
    expect(operationsTotal({ hot_work: 2, height: 1, lifting: 0 })).toBe(3)
    expect(operationsTotal(null)).toBe(0)
  })
})

describe('the four-colour map', () => {
  it('reads town counts flat or nested', () => {
    expect(townRiskCounts({ points_red: 2, points_blue: 5, enterprises_red: 1 })).toEqual({
      points: { red: 2, orange: 0, yellow: 0, blue: 5 },
      enterprises: { red: 1, orange: 0, yellow: 0, blue: 0 },
    })
    expect(townRiskCounts({ points: { red: 1, orange: 2, yellow: 3, blue: 4 } }).points).toEqual({ red: 1, orange: 2, yellow: 3, blue: 4 })
  })
  it('counts the legend', () => {
    const c = riskLegendCounts([{ colour: 'red' }, { colour: 'red' }, { colour: null }, { colour: 'blue' }], [{ shade: 'orange' }, { shade: null }])
    expect(c.points).toEqual({ red: 2, orange: 0, yellow: 0, blue: 1 })
    expect(c.towns).toEqual({ red: 0, orange: 1, yellow: 0, blue: 0 })
  })
})

describe('months', () => {
  it('steps back one month across a year', () => {
    expect(previousMonth('2026-01')).toBe('2025-12')
    expect(previousMonth('2026-11')).toBe('2026-10')
  })
})

describe('risk-point events', () => {
  it('parse and apply to a loaded page', () => {
    expect(parseRiskPointEvent(JSON.stringify({ action: 'assess', risk_point: { id: 'r1' } }))?.action).toBe('assess')
    expect(parseRiskPointEvent('{"action":"assess"}')).toBeNull()
    const items = [
      { id: 'r1', colour: 'blue' },
      { id: 'r2', colour: 'red' },
    ]
    expect(applyRiskPointEvent(items, 'assess', { id: 'r1', colour: 'red' }).items[0].colour).toBe('red')
    expect(applyRiskPointEvent(items, 'delete', { id: 'r2', colour: 'red' })).toEqual({ items: [items[0]], totalDelta: -1 })
    expect(applyRiskPointEvent(items, 'create', { id: 'r3', colour: 'red' }).items).toBe(items)
  })
})
