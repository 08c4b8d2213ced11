import { describe, expect, it } from 'vitest'
import zh from './zh-CN'
import en from './en'

function flatten(obj: Record<string, unknown>, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object') {
      for (const [kk, vv] of flatten(v as Record<string, unknown>, key)) out.set(kk, vv)
    } else {
      out.set(key, String(v))
    }
  }
  return out
}

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('i18n catalogues', () => {
  const zhKeys = flatten(zh)
  const enKeys = flatten(en)

  it('have the same keys in Chinese and English', () => {
    const missingInEn = [...zhKeys.keys()].filter((k) => !enKeys.has(k))
    const missingInZh = [...enKeys.keys()].filter((k) => !zhKeys.has(k))
    expect(missingInEn).toEqual([])
    expect(missingInZh).toEqual([])
  })

  it('have no empty messages', () => {
    for (const [k, v] of [...zhKeys, ...enKeys]) expect(v.trim(), k).not.toBe('')
  })

  it('use the same placeholders in both languages', () => {
    for (const [k, v] of zhKeys) expect(placeholders(enKeys.get(k) ?? ''), k).toEqual(placeholders(v))
  })

  it('avoid characters that vue-i18n treats as syntax', () => {
    // `|` separates plural forms and `@` starts a linked message.
    for (const [k, v] of [...zhKeys, ...enKeys]) expect(/[|@]/.test(v), k).toBe(false)
  })
})
