// Pure helpers for major hazard sources (GB 18218-2018): grade colours and labels,
// the Table 2 symbols, and the mapping between the substance/equipment editor rows
// and the API's field paths (`substances[1].category`). No Vue, no I/O.

import type { EquipmentInput, EquipmentKind, HazardGrade, Role, SubstanceInput, User } from '../api/types'

/** Grade colours, as on the one-map: 一级 red, 二级 orange, 三级 yellow, 四级 blue. */
export const GRADE_COLORS: Record<HazardGrade, string> = {
  1: '#e03131',
  2: '#f76707',
  3: '#fab005',
  4: '#1c7ed6',
}
/** Units below the threshold (S < 1) are not graded. */
export const NOT_MAJOR_COLOR = '#909399'
export const GRADES: HazardGrade[] = [1, 2, 3, 4]

export function isGrade(g: unknown): g is HazardGrade {
  return g === 1 || g === 2 || g === 3 || g === 4
}

export function gradeColor(grade: number | null | undefined): string {
  return isGrade(grade) ? GRADE_COLORS[grade] : NOT_MAJOR_COLOR
}

/** Text on a grade-coloured background: white, except dark on yellow. */
export function gradeTextColor(grade: number | null | undefined): string {
  return grade === 3 ? '#3b2f00' : '#ffffff'
}

/**
 * A MapLibre expression colouring a point by its numeric `grade` property; the
 * grade is compared as text so that a missing grade (null) falls to grey.
 */
export function gradeColorExpression(property = 'grade'): unknown[] {
  return ['match', ['to-string', ['get', property]], ...GRADES.flatMap((g) => [String(g), GRADE_COLORS[g]]), NOT_MAJOR_COLOR]
}

/**
 * The i18n key of a unit's grade label: `hazard.grades.1` … `hazard.grades.4`, or
 * `hazard.notMajor` for a unit that is not a major hazard source (or not graded).
 */
export function gradeLabelKey(grade: number | null | undefined): string {
  return isGrade(grade) ? `hazard.grades.${grade}` : 'hazard.notMajor'
}

/** Table 6 of GB 18218-2018: the R band of each grade, as i18n keys `hazard.bands.N`. */
export function gradeBandKey(grade: number | null | undefined): string | null {
  return isGrade(grade) ? `hazard.bands.${grade}` : null
}

/** The grade that R falls in by Table 6 (for explanations; the server decides). */
export function gradeForR(r: number): HazardGrade {
  if (r >= 100) return 1
  if (r >= 50) return 2
  if (r >= 10) return 3
  return 4
}

/** The Table 2 hazard-category symbols, J (health) then W (physical). */
export const TABLE2_SYMBOLS = [
  'J1', 'J2', 'J3', 'J4', 'J5',
  'W1.1', 'W1.2', 'W1.3', 'W2', 'W3', 'W4', 'W5.1', 'W5.2', 'W5.3', 'W5.4',
  'W6.1', 'W6.2', 'W7.1', 'W7.2', 'W8', 'W9.1', 'W9.2', 'W10', 'W11',
] as const

/** `W5.3` → `W5_3`, the key under `hazard.categories` (i18n keys cannot hold dots). */
export function categoryKey(symbol: string): string {
  return symbol.replace('.', '_')
}

export const EQUIPMENT_KINDS: EquipmentKind[] = ['tank', 'reactor', 'warehouse', 'pipeline', 'other']

/** `"W5.3"`, `["W2","J3"]`, null → a list of symbols. */
export function categoryList(c: string | string[] | null | undefined): string[] {
  if (!c) return []
  return (Array.isArray(c) ? c : [c]).map((s) => s.trim()).filter(Boolean)
}

/** Formats a number with at most `digits` decimals, without trailing zeros; '—' for null. */
export function fmtNum(n: number | null | undefined, digits = 4): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—'
  return String(Number(n.toFixed(digits)))
}

// ---- field paths → editor rows ----------------------------------------------------

export type ListName = 'substances' | 'equipment'

export interface FieldPath {
  /** The list the error is about, or null for a top-level field. */
  list: ListName | null
  index: number | null
  /** The field inside the row, or the top-level field; '' for the row as a whole. */
  field: string
}

/**
 * Parses an API error field: `name` → top-level; `substances[1].category` → row 1's
 * category; `substances[2]` → row 2 as a whole. Null for an empty or unknown shape.
 */
export function parseFieldPath(path: string | null | undefined): FieldPath | null {
  if (!path) return null
  const m = /^(substances|equipment)\[(\d+)\](?:\.([A-Za-z_]+))?/.exec(path)
  if (m) return { list: m[1] as ListName, index: Number(m[2]), field: m[3] ?? '' }
  if (/^(substances|equipment)$/.test(path)) return { list: path as ListName, index: null, field: '' }
  const top = /^([A-Za-z_]+)/.exec(path)
  return top ? { list: null, index: null, field: top[1] } : null
}

/** The key an editor uses to find a cell's error: `substances.3.category`, or the field. */
export function errorKey(list: ListName | null, index: number | null, field: string): string {
  if (!list) return field
  return index === null ? list : `${list}.${index}.${field}`
}

/**
 * Turns an API error field into the editor's error key. `rowOf[list][i]` is the
 * editor row that became the i-th item sent (blank rows are not sent), so the
 * error lands on the row the user typed, not on the i-th one on screen.
 */
export function errorKeyFor(path: string | null | undefined, rowOf: Partial<Record<ListName, number[]>> = {}): string | null {
  const p = parseFieldPath(path)
  if (!p) return null
  if (!p.list || p.index === null) return errorKey(p.list, null, p.field)
  const row = rowOf[p.list]?.[p.index] ?? p.index
  return errorKey(p.list, row, p.field)
}

// ---- editor rows ----------------------------------------------------------------

/** A substance row as typed: numbers are strings until sent. */
export interface SubstanceRow {
  name: string
  cas: string
  quantity_t: string
  category: string[]
  critical_t: string
  beta: string
  override_reason: string
}

export interface EquipmentRow {
  id: string | null
  name: string
  kind: EquipmentKind
  capacity: string
}

export function blankSubstance(): SubstanceRow {
  return { name: '', cas: '', quantity_t: '', category: [], critical_t: '', beta: '', override_reason: '' }
}

export function blankEquipment(): EquipmentRow {
  return { id: null, name: '', kind: 'tank', capacity: '' }
}

export function substanceRow(s: SubstanceInput): SubstanceRow {
  const str = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n))
  return {
    name: s.name ?? '',
    cas: s.cas ?? '',
    quantity_t: str(s.quantity_t),
    category: categoryList(s.category),
    critical_t: str(s.critical_t),
    beta: str(s.beta),
    override_reason: s.override_reason ?? '',
  }
}

export function equipmentRow(e: EquipmentInput): EquipmentRow {
  return { id: e.id ?? null, name: e.name, kind: e.kind, capacity: e.capacity ?? '' }
}

/** A number typed into a box: '' → null, junk → NaN (the server names the field). */
function num(s: string): number | null {
  const t = s.trim()
  if (t === '') return null
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : NaN
}

export function isBlankSubstance(r: SubstanceRow): boolean {
  return !r.name.trim() && !r.cas.trim() && !r.quantity_t.trim() && !r.category.length && !r.critical_t.trim() && !r.beta.trim() && !r.override_reason.trim()
}

export function isBlankEquipment(r: EquipmentRow): boolean {
  return !r.id && !r.name.trim() && !r.capacity.trim()
}

/** Enough to evaluate: a name or CAS and a quantity that is a number ≥ 0. */
export function isCompleteSubstance(r: SubstanceRow): boolean {
  const q = num(r.quantity_t)
  return !!(r.name.trim() || r.cas.trim()) && q !== null && Number.isFinite(q) && q >= 0
}

export function toSubstanceInput(r: SubstanceRow): SubstanceInput {
  const out: SubstanceInput = { quantity_t: num(r.quantity_t) ?? NaN }
  if (r.name.trim()) out.name = r.name.trim()
  if (r.cas.trim()) out.cas = r.cas.trim()
  if (r.category.length === 1) out.category = r.category[0]
  else if (r.category.length > 1) out.category = [...r.category]
  const q = num(r.critical_t)
  const b = num(r.beta)
  if (q !== null) out.critical_t = q
  if (b !== null) out.beta = b
  if (r.override_reason.trim()) out.override_reason = r.override_reason.trim()
  return out
}

export function toEquipmentInput(r: EquipmentRow): EquipmentInput {
  const out: EquipmentInput = { name: r.name.trim(), kind: r.kind, capacity: r.capacity.trim() }
  if (r.id) out.id = r.id
  return out
}

/**
 * The substances to send, without blank rows, and for each sent item the editor
 * row it came from. Quantities that are not numbers go as null so the server's
 * error names `substances[i].quantity_t` (JSON has no NaN).
 */
export function compactSubstances(rows: SubstanceRow[], opts: { onlyComplete?: boolean } = {}): { items: SubstanceInput[]; rowOf: number[] } {
  const items: SubstanceInput[] = []
  const rowOf: number[] = []
  rows.forEach((r, i) => {
    if (isBlankSubstance(r)) return
    if (opts.onlyComplete && !isCompleteSubstance(r)) return
    const s = toSubstanceInput(r)
    for (const k of ['quantity_t', 'critical_t', 'beta'] as const) {
      if (typeof s[k] === 'number' && Number.isNaN(s[k])) (s as unknown as Record<string, unknown>)[k] = null
    }
    items.push(s)
    rowOf.push(i)
  })
  return { items, rowOf }
}

export function compactEquipment(rows: EquipmentRow[]): { items: EquipmentInput[]; rowOf: number[] } {
  const items: EquipmentInput[] = []
  const rowOf: number[] = []
  rows.forEach((r, i) => {
    if (isBlankEquipment(r)) return
    items.push(toEquipmentInput(r))
    rowOf.push(i)
  })
  return { items, rowOf }
}

/**
 * Problems the editor can see before asking the server, keyed like `errorKey`:
 * a quantity that is not a number ≥ 0, an override without a reason. The values
 * are i18n keys.
 */
export function substanceRowProblems(rows: SubstanceRow[]): Record<string, string> {
  const out: Record<string, string> = {}
  rows.forEach((r, i) => {
    if (isBlankSubstance(r)) return
    if (!r.name.trim() && !r.cas.trim()) out[errorKey('substances', i, 'name')] = 'hazard.form.nameOrCas'
    const q = num(r.quantity_t)
    if (q === null || !Number.isFinite(q) || q < 0) out[errorKey('substances', i, 'quantity_t')] = 'hazard.form.quantityInvalid'
    for (const k of ['critical_t', 'beta'] as const) {
      const v = num(r[k])
      if (v !== null && (!Number.isFinite(v) || v <= 0)) out[errorKey('substances', i, k)] = 'hazard.form.positive'
    }
    if ((r.critical_t.trim() || r.beta.trim()) && !r.override_reason.trim()) out[errorKey('substances', i, 'override_reason')] = 'hazard.form.reasonRequired'
  })
  return out
}

/**
 * Who may create and edit hazard-source units: registry editors everywhere, and an
 * enterprise's own safety manager for their enterprise (`enterpriseId` omitted:
 * may they create any unit at all).
 */
export function canEditHazardUnit(
  user: Pick<User, 'role' | 'enterprise_id'> | null | undefined,
  canEditRegistry: boolean,
  enterpriseId?: string,
): boolean {
  if (canEditRegistry) return true
  if (!user || user.role !== ('enterprise' as Role) || !user.enterprise_id) return false
  return enterpriseId === undefined || enterpriseId === user.enterprise_id
}
