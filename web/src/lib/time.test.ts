import { describe, expect, it } from 'vitest'
import { formatDate, formatDateTime, shanghaiToUtcIso } from './time'

describe('time formatting', () => {
  it('shows UTC API times in Asia/Shanghai', () => {
    expect(formatDateTime('2026-11-30T08:00:00Z')).toBe('2026-11-30 16:00')
    expect(formatDateTime('2026-11-30T08:00:00.123456Z')).toBe('2026-11-30 16:00')
    expect(formatDateTime('2026-11-30T08:00:05+00:00', true)).toBe('2026-11-30 16:00:05')
  })
  it('rolls over to the next day in Shanghai', () => {
    expect(formatDateTime('2026-12-31T16:30:00Z')).toBe('2027-01-01 00:30')
    expect(formatDate('2026-11-30T20:00:00Z')).toBe('2026-12-01')
  })
  it('respects an explicit offset', () => {
    expect(formatDateTime('2026-11-30T16:00:00+08:00')).toBe('2026-11-30 16:00')
  })
  it('returns an empty string for missing or invalid values', () => {
    expect(formatDateTime(null)).toBe('')
    expect(formatDateTime(undefined)).toBe('')
    expect(formatDateTime('')).toBe('')
    expect(formatDateTime('not a time')).toBe('')
  })
  it('converts Shanghai wall-clock input to UTC for the API', () => {
    expect(shanghaiToUtcIso('2026-11-30 16:00')).toBe('2026-11-30T08:00:00Z')
    expect(shanghaiToUtcIso('2026-12-01')).toBe('2026-11-30T16:00:00Z')
    expect(shanghaiToUtcIso('yesterday')).toBeNull()
  })
})
