// MapLibre set-up shared by the one map and the small location maps. Importing this
// module pulls in MapLibre, so only lazily loaded pages import it.

import { setWorkerUrl, type StyleSpecification } from 'maplibre-gl'
import 'maplibre-gl/dist/maplibre-gl.css'
// MapLibre 6 finds its worker next to its own module file; once bundled that file
// is gone, so the worker is emitted as an asset and its URL set explicitly.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url'
import { api } from '../api/client'
import type { FeatureCollection } from '../api/types'

setWorkerUrl(workerUrl)

/**
 * The offline basemap: a plain background. Everything else comes from the API as
 * GeoJSON, so the map works without internet. No symbol layer uses `text-field`,
 * since text needs glyph (font) tiles we do not have offline; names and counts are
 * HTML markers instead.
 */
export function offlineStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e6ebf1' } }],
  }
}

let districtCache: Promise<FeatureCollection> | null = null

/** The district outline; fetched once per page load. */
export function fetchDistrict(): Promise<FeatureCollection> {
  if (!districtCache) {
    districtCache = api.get<FeatureCollection>('/map/district').catch((e) => {
      districtCache = null
      throw e
    })
  }
  return districtCache
}

/** Draws a small square icon into an ImageData-like object for `map.addImage`. */
export function squareIcon(color: string, size = 14): { width: number; height: number; data: Uint8Array } {
  const px = size * 2 // drawn at 2x, added with pixelRatio 2
  const data = new Uint8Array(px * px * 4)
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16))
  const border = Math.max(2, Math.round(px / 9))
  for (let y = 0; y < px; y++) {
    for (let x = 0; x < px; x++) {
      const i = (y * px + x) * 4
      const edge = x < border || y < border || x >= px - border || y >= px - border
      data[i] = edge ? 255 : r
      data[i + 1] = edge ? 255 : g
      data[i + 2] = edge ? 255 : b
      data[i + 3] = 255
    }
  }
  return { width: px, height: px, data }
}

/**
 * Draws a warning triangle (apex up, white rim) for `map.addImage`: major hazard
 * sources get their own shape, so they stand out from the round enterprise points
 * whose colours they share.
 */
export function triangleIcon(color: string, size = 18): { width: number; height: number; data: Uint8Array } {
  const px = size * 2
  const data = new Uint8Array(px * px * 4)
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16))
  const cx = (px - 1) / 2
  const rim = Math.max(3, Math.round(px / 9))
  const top = 1
  const bottom = px - 2
  const inTriangle = (x: number, y: number, inset: number) => {
    const t0 = top + inset * 2
    const b0 = bottom - inset
    if (y < t0 || y > b0) return false
    const half = ((y - t0) / (b0 - t0)) * (px / 2 - 1 - inset * 1.7)
    return Math.abs(x - cx) <= half
  }
  for (let y = 0; y < px; y++) {
    for (let x = 0; x < px; x++) {
      if (!inTriangle(x, y, 0)) continue
      const i = (y * px + x) * 4
      const fill = inTriangle(x, y, rim)
      data[i] = fill ? r : 255
      data[i + 1] = fill ? g : 255
      data[i + 2] = fill ? b : 255
      data[i + 3] = 255
    }
  }
  return { width: px, height: px, data }
}
