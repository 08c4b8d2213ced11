import { describe, expect, it } from 'vitest'
import zh from '../i18n/zh-CN'
import en from '../i18n/en'
import {
  GRADE_COLORS,
  NOT_MAJOR_COLOR,
  TABLE2_SYMBOLS,
  blankSubstance,
  canEditHazardUnit,
  categoryKey,
  categoryList,
  compactEquipment,
  compactSubstances,
  errorKeyFor,
  fmtNum,
  gradeBandKey,
  gradeColor,
  gradeColorExpression,
  gradeForR,
  gradeLabelKey,
  gradeTextColor,
  parseFieldPath,
  substanceRow,
  substanceRowProblems,
  type SubstanceRow,
} from './hazard'

function lookup(catalogue: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), catalogue)
}

describe('grade colours and labels', () => {
  it('colour 一级 red, 二级 orange, 三级 yellow, 四级 blue and non-major units grey', () => {
    expect(gradeColor(1)).toBe(GRADE_COLORS[1])
    expect(GRADE_COLORS[1]).toBe('#e03131')
    expect(GRADE_COLORS[2]).toBe('#f76707')
    expect(GRADE_COLORS[3]).toBe('#fab005')
    expect(GRADE_COLORS[4]).toBe('#1c7ed6')
    expect(gradeColor(null)).toBe(NOT_MAJOR_COLOR)
    expect(gradeColor(undefined)).toBe(NOT_MAJOR_COLOR)
    expect(gradeColor(7)).toBe(NOT_MAJOR_COLOR)
  })

  it('colour map points by grade with the same colours', () => {
    expect(gradeColorExpression()).toEqual([
      'match', ['to-string', ['get', 'grade']],
      '1', '#e03131', '2', '#f76707', '3', '#fab005', '4', '#1c7ed6',
      NOT_MAJOR_COLOR,
    ])
  })

  it('write dark text on the yellow tag only', () => {
    expect(gradeTextColor(3)).not.toBe('#ffffff')
    for (const g of [1, 2, 4, null]) expect(gradeTextColor(g)).toBe('#ffffff')
  })

  it('name grades and bands with keys that exist in both languages', () => {
    expect(gradeLabelKey(2)).toBe('hazard.grades.2')
    expect(gradeLabelKey(null)).toBe('hazard.notMajor')
    expect(gradeBandKey(null)).toBeNull()
    for (const g of [1, 2, 3, 4, null]) {
      for (const cat of [zh, en]) {
        expect(typeof lookup(cat, gradeLabelKey(g)), gradeLabelKey(g)).toBe('string')
        const band = gradeBandKey(g)
        if (band) expect(typeof lookup(cat, band), band).toBe('string')
      }
    }
    for (const s of TABLE2_SYMBOLS) for (const cat of [zh, en]) expect(typeof lookup(cat, `hazard.categories.${categoryKey(s)}`), s).toBe('string')
  })

  it('place R in the Table 6 bands with the lower bound included', () => {
    expect(gradeForR(100)).toBe(1)
    expect(gradeForR(99.99)).toBe(2)
    expect(gradeForR(50)).toBe(2)
    expect(gradeForR(10)).toBe(3)
    expect(gradeForR(9.5664)).toBe(4)
  })

  it('format numbers without trailing zeros', () => {
    expect(fmtNum(5.472)).toBe('5.472')
    expect(fmtNum(0.72500001)).toBe('0.725')
    expect(fmtNum(2)).toBe('2')
    expect(fmtNum(null)).toBe('—')
  })
})

describe('field paths of API errors', () => {
  it('parse top-level fields, rows and row fields', () => {
    expect(parseFieldPath('name')).toEqual({ list: null, index: null, field: 'name' })
    expect(parseFieldPath('substances[1].category')).toEqual({ list: 'substances', index: 1, field: 'category' })
    expect(parseFieldPath('equipment[0].name')).toEqual({ list: 'equipment', index: 0, field: 'name' })
    expect(parseFieldPath('substances[12]')).toEqual({ list: 'substances', index: 12, field: '' })
    expect(parseFieldPath('substances')).toEqual({ list: 'substances', index: null, field: '' })
    expect(parseFieldPath('')).toBeNull()
    expect(parseFieldPath(null)).toBeNull()
  })

  it('land on the editor row the item was sent from, skipping blank rows', () => {
    const rows: SubstanceRow[] = [
      { ...blankSubstance(), name: '液氨', quantity_t: '10' },
      blankSubstance(),
      { ...blankSubstance(), name: '某溶剂', quantity_t: '3' },
    ]
    const { items, rowOf } = compactSubstances(rows)
    expect(items).toHaveLength(2)
    expect(rowOf).toEqual([0, 2])
    expect(errorKeyFor('substances[1].category', { substances: rowOf })).toBe('substances.2.category')
    expect(errorKeyFor('substances[0].name', { substances: rowOf })).toBe('substances.0.name')
    // Without a map the index is taken as is.
    expect(errorKeyFor('equipment[3].kind')).toBe('equipment.3.kind')
    expect(errorKeyFor('enterprise_id')).toBe('enterprise_id')
    expect(errorKeyFor('substances')).toBe('substances')
  })

  it('send equipment without blank rows and keep the ids of existing items', () => {
    const { items, rowOf } = compactEquipment([
      { id: null, name: '', kind: 'tank', capacity: '' },
      { id: 'e1', name: '101#储罐', kind: 'tank', capacity: '100 m³' },
      { id: null, name: '反应釜', kind: 'reactor', capacity: '' },
    ])
    expect(rowOf).toEqual([1, 2])
    expect(items[0]).toEqual({ id: 'e1', name: '101#储罐', kind: 'tank', capacity: '100 m³' })
    expect(items[1]).toEqual({ name: '反应釜', kind: 'reactor', capacity: '' })
  })
})

describe('substance rows', () => {
  it('round-trip an API substance with several categories and overrides', () => {
    const s = { name: '某溶剂', quantity_t: 3, category: ['W2', 'J3'], critical_t: 1000, beta: 1, override_reason: '2019 年安全评价报告' }
    const { items } = compactSubstances([substanceRow(s)])
    expect(items[0]).toEqual(s)
    expect(categoryList('W5.3')).toEqual(['W5.3'])
    expect(categoryList(null)).toEqual([])
  })

  it('leave rows still being typed out of the live evaluation', () => {
    const rows: SubstanceRow[] = [
      { ...blankSubstance(), name: '甲醇' },
      { ...blankSubstance(), name: '甲苯', quantity_t: '480' },
      { ...blankSubstance(), quantity_t: '3' },
    ]
    expect(compactSubstances(rows, { onlyComplete: true }).rowOf).toEqual([1])
    expect(compactSubstances(rows).rowOf).toEqual([0, 1, 2])
  })

  it('send one category as a string and unparseable numbers as null', () => {
    const { items } = compactSubstances([{ ...blankSubstance(), cas: '67-56-1', quantity_t: 'abc', category: ['W5.3'] }])
    expect(items[0]).toEqual({ cas: '67-56-1', quantity_t: null, category: 'W5.3' })
  })

  it('flag a missing name, a bad quantity and an override without a reason', () => {
    const p = substanceRowProblems([
      { ...blankSubstance(), quantity_t: '-1' },
      blankSubstance(),
      { ...blankSubstance(), name: '甲醇', quantity_t: '5', beta: '2' },
      { ...blankSubstance(), name: '甲醇', quantity_t: '5', critical_t: '500', override_reason: '地方规定' },
    ])
    expect(p).toEqual({
      'substances.0.name': 'hazard.form.nameOrCas',
      'substances.0.quantity_t': 'hazard.form.quantityInvalid',
      'substances.2.override_reason': 'hazard.form.reasonRequired',
    })
  })
})

describe('who may edit hazard-source units', () => {
  const ent = { role: 'enterprise' as const, enterprise_id: 'E1' }
  it('lets registry editors edit any unit', () => {
    expect(canEditHazardUnit({ role: 'supervisor', enterprise_id: null }, true, 'E2')).toBe(true)
  })
  it('lets an enterprise user edit their own enterprise only', () => {
    expect(canEditHazardUnit(ent, false, 'E1')).toBe(true)
    expect(canEditHazardUnit(ent, false, 'E2')).toBe(false)
    expect(canEditHazardUnit(ent, false)).toBe(true)
  })
  it('refuses everyone else', () => {
    expect(canEditHazardUnit({ role: 'leader', enterprise_id: null }, false, 'E1')).toBe(false)
    expect(canEditHazardUnit(null, false)).toBe(false)
  })
})
