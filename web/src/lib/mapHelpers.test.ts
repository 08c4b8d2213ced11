import { describe, expect, it } from 'vitest'
import {
  FLAG_COLORS,
  NO_FLAG_COLOR,
  bboxOf,
  clusterStyle,
  escapeHtml,
  facilityColor,
  flagColor,
  labelPoint,
  matchColorExpression,
  padBbox,
  splitFlags,
  townFillColor,
} from './mapHelpers'

const square = (x: number, y: number, s: number) => [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]

describe('map colours', () => {
  it('gives every hazard flag its own colour and unflagged enterprises a neutral one', () => {
    const keys = ['hazchem_production', 'hazchem_storage', 'hazchem_use', 'hazchem_trading', 'combustible_dust', 'ammonia_refrigeration', 'confined_space', 'metallurgy', 'warehousing', 'gas_station']
    for (const k of keys) expect(flagColor(k)).toBe(FLAG_COLORS[k])
    expect(new Set(keys.map(flagColor)).size).toBe(keys.length)
    expect(flagColor(null)).toBe(NO_FLAG_COLOR)
    expect(flagColor('unknown_flag')).toBe(NO_FLAG_COLOR)
    expect(facilityColor('school')).not.toBe(facilityColor('hospital'))
  })
  it('builds a MapLibre match expression with a fallback', () => {
    const e = matchColorExpression('primary_flag', { a: '#111', b: '#222' }, '#999')
    expect(e).toEqual(['match', ['coalesce', ['get', 'primary_flag'], ''], 'a', '#111', 'b', '#222', '#999'])
  })
  it('shades towns by their enterprise count', () => {
    expect(townFillColor(0, 100)).toBe('#f3f6fb')
    expect(townFillColor(100, 100)).toBe('#a9c4ea')
    expect(townFillColor(5, 0)).toBe('#f3f6fb')
  })
  it('grows clusters with their count', () => {
    expect(clusterStyle(10).radius).toBeLessThan(clusterStyle(100).radius)
    expect(clusterStyle(100).radius).toBeLessThan(clusterStyle(500).radius)
  })
})

describe('map geometry', () => {
  it('computes the bounds of polygons, multipolygons and collections', () => {
    expect(bboxOf({ type: 'Polygon', coordinates: square(116.9, 39.2, 0.5) })).toEqual([116.9, 39.2, 117.4, 39.7])
    const fc = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [117.0, 39.3] } },
        { type: 'Feature', properties: {}, geometry: { type: 'MultiPolygon', coordinates: [square(116.8, 39.1, 0.1), square(117.2, 39.5, 0.2)] } },
        { type: 'Feature', properties: {}, geometry: null },
      ],
    }
    const b = bboxOf(fc)!
    expect(b[0]).toBeCloseTo(116.8)
    expect(b[1]).toBeCloseTo(39.1)
    expect(b[2]).toBeCloseTo(117.4)
    expect(b[3]).toBeCloseTo(39.7)
    expect(bboxOf({ type: 'FeatureCollection', features: [] })).toBeNull()
  })
  it('pads a box, giving a lone point a minimum size', () => {
    expect(padBbox([0, 0, 10, 10], 0.1)).toEqual([-1, -1, 11, 11])
    const p = padBbox([117, 39, 117, 39], 0, 0.02)
    expect(p[2] - p[0]).toBeCloseTo(0.02)
  })
  it('labels a polygon at its centroid and a multipolygon at its largest part', () => {
    const [x, y] = labelPoint({ type: 'Polygon', coordinates: square(0, 0, 2) })!
    expect(x).toBeCloseTo(1)
    expect(y).toBeCloseTo(1)
    const [mx, my] = labelPoint({ type: 'MultiPolygon', coordinates: [square(10, 10, 1), square(0, 0, 4)] })!
    expect(mx).toBeCloseTo(2)
    expect(my).toBeCloseTo(2)
  })
  it('falls back when the centroid lies outside a concave polygon', () => {
    // A "U": the centroid falls in the notch, outside the shape.
    const u = [[[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]]
    const p = labelPoint({ type: 'Polygon', coordinates: u }, [0.5, 2])!
    expect(p).toEqual([0.5, 2])
    expect(labelPoint(null, [1, 2])).toEqual([1, 2])
    expect(labelPoint(null)).toBeNull()
  })
})

describe('small helpers', () => {
  it('splits comma-separated flags', () => {
    expect(splitFlags('a, b,,c')).toEqual(['a', 'b', 'c'])
    expect(splitFlags('')).toEqual([])
    expect(splitFlags(null)).toEqual([])
    expect(splitFlags(['x'])).toEqual(['x'])
  })
  it('escapes HTML', () => {
    expect(escapeHtml('<b>"A&B"</b>')).toBe('&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;')
    expect(escapeHtml(null)).toBe('')
  })
})
