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

describe('i18n keys used by the code', () => {
  it('all exist in the catalogues', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs')
    const { join } = await import('node:path')
    const root = join(__dirname, '..')
    const files: string[] = []
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name)
        if (statSync(p).isDirectory()) walk(p)
        else if (/\.(vue|ts)$/.test(name) && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) files.push(p)
      }
    }
    walk(root)
    const known = flatten(zh)
    const missing: string[] = []
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bt[e]?\(\s*'([A-Za-z0-9_.]+)'/g)) {
        if (!known.has(m[1])) missing.push(`${m[1]} (${f.slice(root.length + 1)})`)
      }
    }
    expect(files.length).toBeGreaterThan(10)
    expect(missing).toEqual([])
  })
})

describe('early-warning catalogues (wn)', () => {
  it('are merged as `wn` and have the same keys in both languages', async () => {
    const wnZh = (await import('./wn.zh-CN')).default
    const wnEn = (await import('./wn.en')).default
    expect((zh as Record<string, unknown>).wn).toBe(wnZh)
    expect((en as Record<string, unknown>).wn).toBe(wnEn)
    expect([...flatten(wnEn).keys()].sort()).toEqual([...flatten(wnZh).keys()].sort())
  })

  it('name every level, state, step and CAP value the pages show', async () => {
    const wnZh = (await import('./wn.zh-CN')).default as unknown as Record<string, Record<string, unknown>>
    const w = await import('../lib/warnings')
    const has = (group: string, keys: readonly string[]) => expect(keys.filter((k) => !(k in wnZh[group])), group).toEqual([])
    has('levels', w.WARNING_LEVELS)
    has('levelFull', w.WARNING_LEVELS)
    has('states', w.WARNING_STATES)
    has('steps', w.STEP_ORDER)
    has('urgencies', w.CAP_URGENCIES)
    has('certainties', w.CAP_CERTAINTIES)
    has('responseTypes', w.CAP_RESPONSE_TYPES)
    has('statuses', w.COMPOSE_STATUSES)
    has('categories', w.CATEGORY_ORDER)
    has('deliveryStates', w.DELIVERY_STATES)
    has('relayStates', Object.keys(w.RELAY_STATE_HEX))
  })
})
