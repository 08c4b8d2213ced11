// API times are RFC 3339 in UTC; the platform serves one district in China, so the
// UI always shows Asia/Shanghai wall-clock time, whatever the browser's zone is.

export const DISPLAY_TZ = 'Asia/Shanghai'

const dateTimeFmt = new Intl.DateTimeFormat('en-CA', {
  timeZone: DISPLAY_TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
})

function parts(d: Date): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of dateTimeFmt.formatToParts(d)) out[p.type] = p.value
  return out
}

function toDate(value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? null : d
}

/** `2026-11-30T08:00:00Z` → `2026-11-30 16:00`; empty string for missing or invalid input. */
export function formatDateTime(value: string | Date | null | undefined, withSeconds = false): string {
  const d = toDate(value)
  if (!d) return ''
  const p = parts(d)
  const base = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
  return withSeconds ? `${base}:${p.second}` : base
}

/** `2026-11-30T20:00:00Z` → `2026-12-01` (the Shanghai calendar date). */
export function formatDate(value: string | Date | null | undefined): string {
  const d = toDate(value)
  if (!d) return ''
  const p = parts(d)
  return `${p.year}-${p.month}-${p.day}`
}

/**
 * A Shanghai wall-clock time `YYYY-MM-DD HH:mm[:ss]` (as typed into a picker) →
 * RFC 3339 UTC for the API. China has had no daylight saving since 1991, so the
 * offset is a constant +08:00.
 */
export function shanghaiToUtcIso(local: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(local.trim())
  if (!m) return null
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m
  const ms = Date.UTC(+y, +mo - 1, +d, +h - 8, +mi, +s)
  if (Number.isNaN(ms)) return null
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}
