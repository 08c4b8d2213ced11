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
  capabilities: {
    can_edit_registry: boolean
    can_manage_users: boolean
    can_read_audit: boolean
    can_replace_boundaries?: boolean
    /** Acknowledge, dispose and assign alarms. */
    can_handle_alarms?: boolean
    can_edit_hazard_sources?: boolean
    /** Create, edit and assess risk points and their check tasks in scope. */
    can_write_risk?: boolean
    /** Report hidden dangers and record checks in scope. */
    can_report_hidden_dangers?: boolean
    /** File the daily safety commitment of one's own enterprise. */
    can_file_commitment?: boolean
    /** Hidden-danger actions this role may ever take, per level; the state decides the rest. */
    hidden_danger_actions?: { general: string[]; major: string[] }
    /** Draft, edit and submit warnings. */
    can_compose_warning?: boolean
    /** Approve, reject, publish, cancel warnings; relay imported ones. */
    can_approve_warning?: boolean
    /** Acknowledge relays and report onward dissemination (a town user: own town). */
    can_relay_warning?: boolean
    can_manage_subscribers?: boolean
  }
  dualprev?: DualPrevMeta
  warning?: WarningMeta
}

// ---- Early warning (预警发布, docs/warnings.md) -------------------------------------------

export interface WarningMeta {
  event_types: { key: string; zh: string; en: string; category: string; urgency: string; certainty: string }[]
  levels: { key: string; zh: string; en: string; grade: string; severity: string }[]
  relay_channels: string[]
  relay_ack_minutes: number
  coverage_target: number
}

export type WarningAreaPayload =
  | { kind: 'towns'; town_codes: string[] }
  | { kind: 'polygon'; polygon: [number, number][] }
  | { kind: 'circle'; center: [number, number]; radius_km: number }
  | { kind: 'imported' }

export interface Warning {
  id: string
  identifier: string | null
  sender: string | null
  sender_name: string | null
  source: 'local' | 'imported'
  msg_type: 'Alert' | 'Update' | 'Cancel'
  status: string
  scope: 'public' | 'restricted'
  event_type: string
  /** The event as the issuer named it (imports) or the type's Chinese name. */
  event_name?: string
  /** Null for an imported message whose severity maps to no colour. */
  level: 'blue' | 'yellow' | 'orange' | 'red' | null
  urgency: string
  severity?: string
  certainty: string
  response_type: string | null
  headline: string
  description: string
  instruction: string
  headline_en: string | null
  description_en: string | null
  instruction_en: string | null
  area: WarningAreaPayload | null
  area_desc: string
  town_codes: string[]
  town_names: string[]
  /** The area as GeoJSON (MultiPolygon). */
  geometry?: unknown
  effective_at: string
  onset_at: string | null
  expires_at: string
  state: string
  in_force: boolean
  references_id: string | null
  superseded_by_id: string | null
  sent_at?: string | null
  created_by: string | null
  created_by_name?: string | null
  submitted_by: string | null
  submitted_by_name?: string | null
  approved_by_name?: string | null
  published_by_name?: string | null
  submitted_at: string | null
  approved_by: string | null
  approved_at: string | null
  published_by: string | null
  published_at: string | null
  reject_reason: string | null
  cancel_reason: string | null
  created_at: string
  updated_at: string
  /** The workflow steps the caller may take now. */
  available_steps?: string[]
}

export interface WarningRelay {
  id: string
  warning_id: string
  headline: string
  level: string | null
  town_code: string
  town_name: string
  state: 'pending' | 'acknowledged' | 'escalated'
  created_at?: string
  due_at: string | null
  acknowledged_at: string | null
  acknowledged_by: string | null
  escalated_at: string | null
  disseminated_at: string | null
  disseminated_by?: string | null
  people_reached: number | null
  channels: string[]
  note: string | null
  /** Minutes from creation to acknowledgement. */
  ack_minutes?: number | null
}

export interface WarningTimelineEntry {
  at: string
  action: string
  actor?: string | null
  /** `warning` or `warning_relay`. */
  entity?: string
  entity_id?: string
  state?: string | null
  town_name?: string | null
  reason?: string | null
}

export interface WarningDelivery {
  id: number
  /** `subscriber`, `user`, `enterprise`… */
  recipient_kind: string
  recipient_id: string
  town_code: string | null
  channel: string
  /** Masked unless the caller manages subscribers. */
  address: string
  reach: number
  state: string
  attempts: number
  next_attempt_at: string
  last_error: string | null
  /** The gateway's message id, HTTP status or SMTP reply. */
  receipt: string | null
  delivered_at: string | null
  created_at: string
  updated_at: string
}

export interface TownCoverage {
  town_code: string
  town_name: string
  population: number | null
  subscribers: number
  subscribers_reached: number
  delivered_reach?: number
  relay_people_reached?: number
  people_reached: number
  coverage: number | null
  meets_target: boolean
}

export interface WarningCoverage {
  warning_id?: string
  towns: TownCoverage[]
  total?: { population: number | null; people_reached: number; coverage: number | null; meets_target: boolean }
  target?: number
}

export interface CoverageKpi {
  from?: string
  to?: string
  warnings?: number
  population?: number | null
  people_reached?: number
  coverage: number | null
  target?: number
  meets_target?: boolean
}

export interface Subscriber {
  id: string
  town_code: string
  town_name?: string
  name: string
  channel: 'sms' | 'email' | 'webhook'
  address: string
  reach: number
  consent_at: string | null
  consent_text: string | null
  unsubscribed_at: string | null
  created_at?: string
}

// ---- Dual prevention (双重预防) -------------------------------------------------------

export type RiskColour = 'red' | 'orange' | 'yellow' | 'blue'

/** The colour edges in force (`[dualprev]` settings). */
export interface DualPrevBands {
  lec_red_above: number
  lec_orange_above: number
  lec_yellow_above: number
  ls_red_min: number
  ls_orange_min: number
  ls_yellow_min: number
}

export interface DualPrevMeta {
  hidden_danger_sources: LabelledKey[]
  hidden_danger_categories: LabelledKey[]
  /** GB 6441-1986 accident types keyed by code `01`–`20`. */
  accident_types: LabelledKey[]
  measure_categories: LabelledKey[]
  /** The eight special operations of GB 30871-2022. */
  special_operations: LabelledKey[]
  bands: DualPrevBands
  /** `HH:MM`, Asia/Shanghai. */
  commitment_deadline: string
  photo_max_bytes: number
}

export type RiskPointKind = 'place' | 'equipment' | 'activity'
export type ControlLevel = 'company' | 'workshop' | 'team' | 'post'
export type CheckCycle = 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'yearly'
export type MeasureCategory = 'engineering' | 'management' | 'training' | 'ppe' | 'emergency'

export interface ControlMeasure {
  category: MeasureCategory
  text: string
  check_cycle: CheckCycle | null
}

export interface RiskPointInput {
  enterprise_id: string
  name: string
  kind: RiskPointKind
  location: string
  lon: number | null
  lat: number | null
  hazards: string[]
  accident_types: string[]
  control_measures: ControlMeasure[]
  control_level: ControlLevel
  responsible_person: string
  responsible_phone: string
}

export interface RiskPoint extends RiskPointInput {
  id: string
  enterprise_name: string
  town_code: string
  town_name?: string | null
  colour: RiskColour | null
  method: 'lec' | 'ls' | null
  score: number | null
  assessed_at: string | null
  created_at?: string
  updated_at?: string
}

export interface RiskAssessment {
  id: string
  risk_point_id?: string
  method: 'lec' | 'ls'
  l: number
  e?: number | null
  c?: number | null
  s?: number | null
  score: number
  colour: RiskColour
  bands?: DualPrevBands | null
  note: string
  assessed_at: string
  assessor_name?: string | null
  level_zh?: string | null
}

export interface LecResult {
  l: number
  e: number
  c: number
  d: number
  band: { grade: number; name_zh: string; name_en: string }
  colour: RiskColour
  level_zh: string
}

export interface ColourCounts {
  red: number
  orange: number
  yellow: number
  blue: number
}

/** `GET /map/risk-points` feature properties. */
export interface RiskPointMapProps {
  id: string
  name: string
  enterprise_id?: string
  enterprise_name?: string
  colour: RiskColour | null
  kind?: string
  score?: number | null
  method?: string | null
}

/** `GET /map/risk-towns` feature properties: the shade and the counts per colour. */
export interface RiskTownMapProps {
  code: string
  name: string
  shade: RiskColour | null
  /** Counts of risk points per colour (flat or nested, tolerated both ways). */
  points?: ColourCounts
  enterprises?: ColourCounts
  [k: string]: unknown
}

export type HdState = 'reported' | 'rectifying' | 'awaiting_acceptance' | 'closed'
export type HdLevel = 'general' | 'major'
export type HdAction = 'rectify' | 'submit' | 'accept' | 'reject' | 'close' | 'list'

export interface Supervision {
  level: 'town' | 'district'
  officer_id: string | null
  officer: string | null
  due: string | null
  listed_at: string | null
  note: string | null
  overdue: boolean
}

export interface HiddenDanger {
  id: string
  enterprise_id: string
  enterprise_name: string
  town_code: string
  town_name: string | null
  industry_section: string
  lon: number | null
  lat: number | null
  risk_point_id: string | null
  risk_point_name: string | null
  alarm_id: string | null
  location: string
  description: string
  source: string
  category: string
  level: HdLevel
  found_by: string
  found_at: string
  reported_by: string | null
  state: HdState
  measures: string | null
  funds: number | null
  responsible_person: string | null
  deadline: string | null
  contingency: string | null
  rectification_result: string | null
  rectified_at: string | null
  closed_at: string | null
  closed_by: string | null
  close_evidence: string | null
  overdue: boolean
  overdue_at: string | null
  supervision: Supervision | null
  created_at: string
  updated_at: string
}

export interface HdTimelineEntry {
  at: string
  action: string
  from_state: string | null
  to_state: string | null
  actor_name: string | null
  detail: Record<string, unknown> | null
}

export interface HdPhoto {
  id: string
  stage: 'found' | 'rectified'
  file_name: string
  content_type: string
  size_bytes: number
  uploaded_at: string
  url: string
}

export interface HiddenDangerDetail extends HiddenDanger {
  timeline: HdTimelineEntry[]
  photos: HdPhoto[]
}

export interface HiddenDangerBoard {
  reported: number
  rectifying: number
  awaiting_acceptance: number
  closed: number
  overdue: number
  open_major: number
  supervised: number
}

export interface HiddenDangerStatsRow {
  key: string
  name: string
  period: string
  found: number
  major: number
  closed: number
  overdue: number
  rectification_rate: number | null
}

export type CommitmentStatus = 'on_time' | 'late' | 'pending' | 'missing'

export interface Contradiction {
  kind: 'unacknowledged_high_alarms' | 'open_major_hidden_dangers' | string
  count: number
}

export type HazardSourceRunState = 'normal' | 'abnormal' | 'shutdown' | 'maintenance'

/** The declared state of one major hazard source in a commitment. */
export interface CommitmentHazardSource {
  unit_id: string
  name: string
  state: HazardSourceRunState
  note?: string
}

/** Counts of the eight special operations (GB 30871) planned for the day, by key. */
export type Operations = Record<string, number>

export interface CommitmentInput {
  enterprise_id?: string
  day?: string
  committer: string
  hazard_sources: CommitmentHazardSource[]
  operations: Operations
  startup_shutdown: boolean
  maintenance: boolean
  safe_state: boolean
  notes?: string
}

export interface Commitment {
  id: string
  enterprise_id: string
  enterprise_name: string
  town_code: string
  town_name: string | null
  day: string
  committed_at: string
  committer: string
  hazard_sources: CommitmentHazardSource[]
  operations: Operations
  startup_shutdown: boolean
  maintenance: boolean
  safe_state: boolean
  notes: string
  late: boolean
  status: CommitmentStatus
  contradictory: boolean
  contradictions: Contradiction[]
}

/** One row of `GET /commitments/board`. */
export interface CommitmentBoardRow {
  enterprise_id: string
  enterprise_name: string
  town_code: string
  town_name: string | null
  status: CommitmentStatus
  commitment_id: string | null
  committed_at: string | null
  committer: string | null
  safe_state: boolean | null
  contradictory: boolean
  contradictions: Contradiction[]
}

export interface CommitmentBoard {
  day: string
  /** When the day's commitments are due (RFC 3339). */
  deadline: string
  totals: { enterprises: number; on_time: number; late: number; pending: number; missing: number; contradictory: number }
  items: CommitmentBoardRow[]
}

/** `GET /hidden-dangers/stats`. */
export interface HiddenDangerStats {
  group: string
  period: string
  from: string
  to: string
  periods: string[]
  items: HiddenDangerStatsRow[]
  total: number
  /** Per period over all groups, every period of the range (zeros included). */
  totals: { period: string; found: number; major: number; closed: number; overdue: number; rectification_rate: number | null }[]
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

// ---- Major hazard sources (GB 18218-2018) and sensors ---------------------------

export type HazardUnitKind = 'production' | 'storage'
export type EquipmentKind = 'tank' | 'reactor' | 'warehouse' | 'pipeline' | 'other'
/** 1 = 一级 (highest) … 4 = 四级. */
export type HazardGrade = 1 | 2 | 3 | 4

export interface SubstanceInput {
  name?: string | null
  cas?: string | null
  quantity_t: number
  /** One Table 2 symbol (`"W5.3"`) or several (`["W2", "J3"]`). */
  category?: string | string[] | null
  critical_t?: number | null
  beta?: number | null
  override_reason?: string | null
}

export interface EquipmentInput {
  /** Kept for existing equipment so that its sensors stay attached. */
  id?: string | null
  name: string
  kind: EquipmentKind
  capacity: string
}

export interface Equipment extends EquipmentInput {
  id: string
}

export interface Gb18218Term {
  substance: string
  cas: string | null
  table1_seq: number | null
  quantity_t: number
  critical_t: number
  beta: number | null
  q_over_critical: number
  beta_q_over_critical: number | null
  source: 'table1' | 'table2' | 'override'
  beta_source: 'table3' | 'table4' | 'override' | null
  category: string | null
  category_source: 'input' | 'yingji_table' | null
  override_reason: string | null
}

export interface Gb18218Result {
  s: number
  is_major: boolean
  r: number | null
  grade: HazardGrade | null
  grade_zh: string | null
  alpha: number
  exposed_population: number
  terms: Gb18218Term[]
}

export interface Gb18218Input {
  exposed_population: number
  substances: SubstanceInput[]
}

export interface HazardSourceInput {
  enterprise_id: string
  name: string
  kind: HazardUnitKind
  lon: number | null
  lat: number | null
  exposed_population: number
  description: string
  substances: SubstanceInput[]
  equipment: EquipmentInput[]
}

export interface HazardSource extends HazardSourceInput {
  id: string
  enterprise_name: string
  town_code: string
  town_name: string
  equipment: Equipment[]
  s: number | null
  is_major: boolean
  r: number | null
  grade: HazardGrade | null
  evaluation: Gb18218Result | null
  created_at: string
  updated_at: string
}

export interface HazardSourcePointProps {
  id: string
  name: string
  enterprise_id: string
  enterprise_name: string
  grade: HazardGrade | null
  is_major: boolean
  r: number | null
}

export type SensorKind = 'level' | 'temperature' | 'pressure' | 'flow' | 'gas_lel' | 'gas_toxic' | 'other'

export interface Sensor {
  id: string
  num: number
  enterprise_id: string
  enterprise_name: string
  town_code: string
  unit_id: string | null
  equipment_id: string | null
  code: string
  name: string
  kind: SensorKind
  unit_of_measure: string
  range_min: number
  range_max: number
  ll: number | null
  l: number | null
  h: number | null
  hh: number | null
  deadband: number
  on_delay_s: number
  off_delay_s: number
  offline_timeout_s: number
  created_at: string
  updated_at: string
}

// ---- Monitoring and alarms -------------------------------------------------------

export type AlarmKind = 'HH' | 'H' | 'L' | 'LL' | 'offline' | 'sensor_fault' | 'enterprise_offline'
export type AlarmSeverity = 'high' | 'low'
export type AlarmColour = 'red' | 'orange' | 'yellow' | 'blue'
export type AlarmStatus = 'unacknowledged' | 'acknowledged' | 'disposed'
/** Who the alarm has been raised to: the enterprise, then its town (5 min), then the district (15 min). */
export type Escalation = 'enterprise' | 'town' | 'district'
/** `open` = still active or not yet disposed (the default of `GET /alarms`). */
export type AlarmState = 'open' | 'active' | 'all'

export interface Alarm {
  id: string
  enterprise_id: string
  enterprise_name: string
  town_code: string
  lon: number | null
  lat: number | null
  sensor_id: string | null
  sensor_code: string | null
  sensor_name: string | null
  sensor_kind: string | null
  unit_of_measure: string | null
  kind: AlarmKind
  severity: AlarmSeverity
  colour: AlarmColour
  threshold: number | null
  raised_at: string
  raised_value: number | null
  /** The condition still holds. */
  active: boolean
  cleared_at: string | null
  cleared_value: number | null
  status: AlarmStatus
  acknowledged_at: string | null
  acknowledged_by: string | null
  /** The note given when acknowledging (not in the first contract; optional). */
  ack_note?: string | null
  disposed_at: string | null
  disposed_by: string | null
  dispose_cause: string | null
  dispose_measures: string | null
  dispose_note: string | null
  assignee_id: string | null
  assignee_name: string | null
  escalation: Escalation
  escalated_at: string | null
  updated_at: string
  /** The hidden danger created from this alarm, if any. */
  hidden_danger_id?: string | null
}

export type AlarmAction = 'raised' | 'cleared' | 'acknowledged' | 'disposed' | 'assigned' | 'escalated'

export interface AlarmTimelineEntry {
  at: string
  action: AlarmAction
  actor: string | null
  detail: Record<string, unknown> | null
}

export interface AlarmDetail extends Alarm {
  timeline: AlarmTimelineEntry[]
}

export interface AlarmAssignee {
  id: string
  display_name: string
  role: Role
}

export interface AlarmSummary {
  active: number
  unacknowledged: number
  escalated_town: number
  escalated_district: number
  high_active: number
  offline_enterprises: number
  monitored_enterprises: number
  by_kind: Partial<Record<AlarmKind, number>>
}

/** One `event: alarm` of the live stream (`GET /api/v1/events`). */
export interface AlarmEvent {
  action: AlarmAction
  alarm: Alarm
}

export interface MonitoredEnterprise {
  enterprise_id: string
  name: string
  town_code: string
  lon: number | null
  lat: number | null
  sensors: number
  online: boolean
  last_seen_at: string | null
  active_alarms: number
  unacknowledged: number
  worst_colour: AlarmColour | null
}

export type SensorState = 'normal' | 'alarm' | 'offline' | 'fault' | 'no_data'

export interface MonitoredSensor {
  id: string
  code: string
  name: string
  kind: SensorKind
  unit_of_measure: string
  unit_id: string | null
  equipment_id: string | null
  range_min: number | null
  range_max: number | null
  ll: number | null
  l: number | null
  h: number | null
  hh: number | null
  /** The latest reading, `t` in epoch milliseconds. */
  latest: { t: number; value: number } | null
  state: SensorState
  active_kinds: string[]
  worst_colour: AlarmColour | null
}

export interface EnterpriseMonitoring {
  enterprise_id: string
  name: string
  town_code: string
  online: boolean
  last_seen_at: string | null
  sensors: MonitoredSensor[]
}

export interface HistoryPoint {
  /** Epoch milliseconds. */
  t: number
  value: number
}

export interface HistoryBucket {
  /** Bucket start, epoch milliseconds. */
  t: number
  min: number
  max: number
  avg: number
  count: number
}

/** `GET /sensors/{id}/readings`: raw `points` or, with `bucket`, `buckets`. */
export interface SensorHistory {
  sensor_id: string
  from: number | string
  to: number | string
  bucket_ms: number | null
  points: HistoryPoint[] | null
  buckets: HistoryBucket[] | null
}
