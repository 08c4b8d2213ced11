// Pure helpers for the maps: colours, bounds and label points. No MapLibre import,
// so they are unit-tested in Node and cost nothing to the main bundle.

export type Bbox = [number, number, number, number] // [minLon, minLat, maxLon, maxLat]
type Position = number[]

/** Colours of the hazard flags, by severity family (hazardous chemicals in reds and oranges). */
export const FLAG_COLORS: Record<string, string> = {
  hazchem_production: '#d7191c',
  hazchem_storage: '#f0541e',
  hazchem_use: '#f59f00',
  hazchem_trading: '#c2255c',
  combustible_dust: '#8d5b3e',
  ammonia_refrigeration: '#1098ad',
  confined_space: '#7048e8',
  metallurgy: '#495057',
  warehousing: '#2f9e44',
  gas_station: '#1c7ed6',
}
/** Enterprises with no hazard flag. */
export const NO_FLAG_COLOR = '#8fa3bf'

export const FACILITY_COLORS: Record<string, string> = {
  school: '#f08c00',
  hospital: '#e03131',
  elderly_home: '#9c36b5',
  market: '#0ca678',
}
export const UNKNOWN_FACILITY_COLOR = '#868e96'

export function flagColor(key: string | null | undefined): string {
  return (key && FLAG_COLORS[key]) || NO_FLAG_COLOR
}

export function facilityColor(kind: string | null | undefined): string {
  return (kind && FACILITY_COLORS[kind]) || UNKNOWN_FACILITY_COLOR
}

/** A MapLibre `match` expression colouring a point by one of its properties. */
export function matchColorExpression(property: string, colors: Record<string, string>, fallback: string): unknown[] {
  const pairs = Object.entries(colors).flat()
  if (pairs.length === 0) return ['literal', fallback] as unknown[]
  return ['match', ['coalesce', ['get', property], ''], ...pairs, fallback]
}

/** `"hazchem_storage,warehousing"` → `['hazchem_storage', 'warehousing']`. */
export function splitFlags(flags: string | string[] | null | undefined): string[] {
  if (!flags) return []
  if (Array.isArray(flags)) return flags
  return flags
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

function eachPosition(geometry: any, fn: (p: Position) => void): void {
  if (!geometry) return
  switch (geometry.type) {
    case 'Point':
      fn(geometry.coordinates)
      break
    case 'MultiPoint':
    case 'LineString':
      geometry.coordinates.forEach(fn)
      break
    case 'MultiLineString':
    case 'Polygon':
      geometry.coordinates.forEach((ring: Position[]) => ring.forEach(fn))
      break
    case 'MultiPolygon':
      geometry.coordinates.forEach((poly: Position[][]) => poly.forEach((ring) => ring.forEach(fn)))
      break
    case 'GeometryCollection':
      geometry.geometries.forEach((g: any) => eachPosition(g, fn))
      break
    case 'Feature':
      eachPosition(geometry.geometry, fn)
      break
    case 'FeatureCollection':
      geometry.features.forEach((f: any) => eachPosition(f.geometry, fn))
      break
  }
}

/** The bounding box of any GeoJSON object, or null when it has no coordinates. */
export function bboxOf(geojson: unknown): Bbox | null {
  let b: Bbox | null = null
  eachPosition(geojson, ([x, y]) => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return
    if (!b) b = [x, y, x, y]
    else {
      if (x < b[0]) b[0] = x
      if (y < b[1]) b[1] = y
      if (x > b[2]) b[2] = x
      if (y > b[3]) b[3] = y
    }
  })
  return b
}

/** Grows a box by a fraction of its size on every side (a lone point gets a minimum size). */
export function padBbox(b: Bbox, fraction: number, minSpan = 0.01): Bbox {
  const w = Math.max(b[2] - b[0], minSpan)
  const h = Math.max(b[3] - b[1], minSpan)
  const cx = (b[0] + b[2]) / 2
  const cy = (b[1] + b[3]) / 2
  const hw = (w / 2) * (1 + 2 * fraction)
  const hh = (h / 2) * (1 + 2 * fraction)
  return [cx - hw, cy - hh, cx + hw, cy + hh]
}

function ringArea(ring: Position[]): number {
  let a = 0
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1])
  return a / 2
}

function ringCentroid(ring: Position[]): Position | null {
  let a = 0
  let cx = 0
  let cy = 0
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1]
    a += f
    cx += (ring[j][0] + ring[i][0]) * f
    cy += (ring[j][1] + ring[i][1]) * f
  }
  if (Math.abs(a) < 1e-15) return null
  return [cx / (3 * a), cy / (3 * a)]
}

export function pointInRing([x, y]: Position, ring: Position[]): boolean {
  let inside = false
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]
    const [xj, yj] = ring[j]
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

/**
 * Where to put a polygon's label: the centroid of its largest outer ring when
 * that lies inside it, else `fallback` (e.g. the town seat), else the ring's
 * bounding-box centre. Null for geometries without an area.
 */
export function labelPoint(geometry: any, fallback?: Position | null): [number, number] | null {
  if (!geometry) return fallback ? [fallback[0], fallback[1]] : null
  let outer: Position[] | null = null
  if (geometry.type === 'Polygon') outer = geometry.coordinates[0]
  else if (geometry.type === 'MultiPolygon') {
    let best = -1
    for (const poly of geometry.coordinates as Position[][][]) {
      const a = Math.abs(ringArea(poly[0]))
      if (a > best) {
        best = a
        outer = poly[0]
      }
    }
  }
  if (!outer || outer.length < 4) return fallback ? [fallback[0], fallback[1]] : null
  const c = ringCentroid(outer)
  if (c && pointInRing(c, outer)) return [c[0], c[1]]
  if (fallback && pointInRing(fallback, outer)) return [fallback[0], fallback[1]]
  const b = bboxOf({ type: 'LineString', coordinates: outer })!
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]
}

/** Cluster circles grow and darken with their count. */
export function clusterStyle(count: number): { color: string; radius: number } {
  if (count >= 200) return { color: '#1d4fb0', radius: 26 }
  if (count >= 50) return { color: '#3b6fd8', radius: 21 }
  return { color: '#5b8ff9', radius: 16 }
}

/** Light fill of a town by its share of the busiest town's enterprises (0 → paler). */
export function townFillColor(count: number, max: number): string {
  const t = max > 0 ? Math.min(Math.max(count / max, 0), 1) : 0
  const from = [0xf3, 0xf6, 0xfb]
  const to = [0xa9, 0xc4, 0xea]
  const c = from.map((f, i) => Math.round(f + (to[i] - f) * t))
  return '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('')
}

/** Escapes text for the HTML of popups and markers. */
export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}
