// Form rules that mirror the server's, so most mistakes are caught before a round
// trip. The server stays the authority: its 422 `field` errors are shown too.

import { creditCodeProblem, type CreditCodeProblem } from './creditCode'

/** Rough bounds of Tianjin; the server may check the district more tightly. */
export const LON_RANGE: [number, number] = [116.5, 118.2]
export const LAT_RANGE: [number, number] = [38.5, 40.3]

export type Problem =
  | { key: 'required' }
  | { key: 'lon' }
  | { key: 'lat' }
  | { key: 'lonLatPair' }
  | { key: 'nonNegative' }
  | { key: 'phone' }
  | { key: 'password' }
  | { key: 'username' }
  | { key: `creditCode.${CreditCodeProblem}` }

/** Parses an optional number typed into a text box: '' → null, junk → NaN. */
export function parseOptionalNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'number') return v
  const s = String(v).trim()
  if (s === '') return null
  return /^[-+]?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN
}

export function checkCreditCode(v: string): Problem | null {
  const p = creditCodeProblem(v ?? '')
  return p ? { key: `creditCode.${p}` } : null
}

export function checkLon(v: unknown): Problem | null {
  const n = parseOptionalNumber(v)
  if (n === null) return null
  return Number.isFinite(n) && n >= LON_RANGE[0] && n <= LON_RANGE[1] ? null : { key: 'lon' }
}

export function checkLat(v: unknown): Problem | null {
  const n = parseOptionalNumber(v)
  if (n === null) return null
  return Number.isFinite(n) && n >= LAT_RANGE[0] && n <= LAT_RANGE[1] ? null : { key: 'lat' }
}

/** Longitude and latitude come as a pair: both or neither. */
export function checkLonLatPair(lon: unknown, lat: unknown): Problem | null {
  return (parseOptionalNumber(lon) === null) === (parseOptionalNumber(lat) === null) ? null : { key: 'lonLatPair' }
}

export function checkNonNegativeInt(v: unknown): Problem | null {
  const n = parseOptionalNumber(v)
  if (n === null) return null
  return Number.isInteger(n) && n >= 0 ? null : { key: 'nonNegative' }
}

/** Mobile (11 digits), landline with area code, with optional +86, spaces or hyphens. */
export function checkPhone(v: string | null | undefined): Problem | null {
  const s = (v ?? '').trim()
  if (s === '') return null
  const digits = s.replace(/[\s\-()]/g, '').replace(/^\+?86/, '')
  return /^\d{7,12}$/.test(digits) ? null : { key: 'phone' }
}

export function checkRequired(v: unknown): Problem | null {
  if (v === null || v === undefined) return { key: 'required' }
  if (typeof v === 'string' && v.trim() === '') return { key: 'required' }
  if (Array.isArray(v) && v.length === 0) return { key: 'required' }
  return null
}

export function checkPassword(v: string): Problem | null {
  return (v ?? '').length >= 8 ? null : { key: 'password' }
}

export function checkUsername(v: string): Problem | null {
  return /^[A-Za-z0-9._-]{3,32}$/.test(v ?? '') ? null : { key: 'username' }
}

/**
 * Wraps a check as an Element Plus form rule; `t` turns the problem into a
 * message in the current language (keys under `validation.`).
 */
export function rule(check: (v: any) => Problem | null, t: (key: string) => string, trigger: string | string[] = 'blur') {
  return {
    trigger,
    validator: (_rule: unknown, value: unknown, callback: (e?: Error) => void) => {
      const p = check(value)
      callback(p ? new Error(t(`validation.${p.key}`)) : undefined)
    },
  }
}
