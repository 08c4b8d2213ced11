// Types of the Yingji HTTP API (/api/v1). See /api/v1/openapi.json on a running server.

export type Role = 'admin' | 'duty' | 'supervisor' | 'leader' | 'town' | 'enterprise'

export interface User {
  id: string
  username: string
  display_name: string
  role: Role
  town_code: string | null
  enterprise_id: string | null
  scope_name: string | null
  disabled: boolean
  created_at: string
}

export interface LabelledKey {
  key: string
  zh: string
  en: string
}

export interface IndustrySection {
  section: string
  zh: string
  en: string
  divisions: { code: string; zh: string; en?: string }[]
}

export interface Meta {
  district: { code: string; name: string }
  roles: LabelledKey[]
  flags: LabelledKey[]
  facility_kinds: LabelledKey[]
  industries: IndustrySection[]
  scales: LabelledKey[]
  map: { style_url: string | null }
  capabilities: { can_edit_registry: boolean; can_manage_users: boolean; can_read_audit: boolean }
}

export interface ListResponse<T> {
  items: T[]
  total: number
}

export type UnitKind = 'district' | 'street' | 'town' | 'park'

export interface AdminUnit {
  code: string
  name: string
  kind: UnitKind
  parent_code: string | null
  population: number | null
  population_approximate: boolean
  geometry_approximate: boolean
  seat: [number, number] | null
  seat_approximate: boolean
  area_km2: number | null
  enterprise_count: number
  hazchem_count: number
  facility_count: number
}

export type Scale = 'above' | 'below'

export interface EnterpriseInput {
  credit_code: string
  name: string
  town_code: string
  address: string
  lon: number | null
  lat: number | null
  industry_section: string
  industry_division: string | null
  scale: Scale
  staff_count: number | null
  legal_rep: string
  safety_manager: string
  safety_phone: string
  flags: string[]
}

export interface Enterprise extends EnterpriseInput {
  id: string
  town_name: string
  industry_name: string
  created_at: string
  updated_at: string
}

export type FacilityKind = 'school' | 'hospital' | 'elderly_home' | 'market'

export interface FacilityInput {
  name: string
  kind: FacilityKind
  town_code: string
  address: string
  lon: number | null
  lat: number | null
  people: number | null
}

export interface Facility extends FacilityInput {
  id: string
  town_name: string
  created_at: string
  updated_at: string
}

export interface ImportRejection {
  line: number
  field: string | null
  message: string
}

export interface ImportReport {
  written: number
  total_rows: number
  rejected: ImportRejection[]
}

export interface AuditEntry {
  id: string
  ts: string
  user_id: string | null
  username: string | null
  entity: string
  entity_id: string | null
  action: string
  before: unknown
  after: unknown
}

export interface GeoFeature<P = Record<string, unknown>> {
  type: 'Feature'
  id?: string | number
  geometry: { type: string; coordinates: any } | null
  properties: P
}

export interface FeatureCollection<P = Record<string, unknown>> {
  type: 'FeatureCollection'
  features: GeoFeature<P>[]
}

export interface EnterprisePointProps {
  id: string
  name: string
  town_code: string
  town_name: string
  industry_name: string
  scale: Scale
  flags: string
  primary_flag: string | null
}

export interface FacilityPointProps {
  id: string
  name: string
  kind: FacilityKind
  town_code: string
  town_name: string
  people: number | null
}
