import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { caps, restoreSession, session } from './session'
import { canEditHazardUnit } from './lib/hazard'
import Shell from './layouts/Shell.vue'
import LoginView from './views/LoginView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    /** A capability the page needs; without it the page redirects home. */
    need?: 'can_edit_registry' | 'can_manage_users' | 'can_read_audit' | 'can_write_risk' | 'can_report_hidden_dangers' | 'can_file_commitment' | 'can_compose_warning' | 'can_approve_warning' | 'can_relay_warning' | 'can_manage_subscribers'
    /** Registry editors, or an enterprise user for their own enterprise's units. */
    needHazardEdit?: boolean
  }
}

// Pages are loaded on demand; the one map pulls in MapLibre and the
// administrative-unit page ECharts, so neither weighs on the first load.
const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: LoginView, meta: { public: true } },
  // 武清区预警信息: warnings in force for everyone, no login (also `?unsubscribe=TOKEN`).
  { path: '/public', name: 'public', component: () => import('./views/wn/PublicWarnings.vue'), meta: { public: true } },
  {
    path: '/',
    component: Shell,
    children: [
      { path: '', name: 'one-map', component: () => import('./views/OneMapView.vue') },
      { path: 'enterprises', name: 'enterprises', component: () => import('./views/EnterpriseList.vue') },
      { path: 'enterprises/new', name: 'enterprise-new', component: () => import('./views/EnterpriseForm.vue'), meta: { need: 'can_edit_registry' } },
      { path: 'enterprises/:id', name: 'enterprise', component: () => import('./views/EnterpriseDetail.vue'), props: true },
      { path: 'enterprises/:id/monitoring', name: 'enterprise-monitoring', component: () => import('./views/EnterpriseMonitoring.vue'), props: true },
      { path: 'enterprises/:id/edit', name: 'enterprise-edit', component: () => import('./views/EnterpriseForm.vue'), props: true, meta: { need: 'can_edit_registry' } },
      { path: 'hazard-sources', name: 'hazard-sources', component: () => import('./views/HazardSourceList.vue') },
      { path: 'hazard-sources/new', name: 'hazard-source-new', component: () => import('./views/HazardSourceForm.vue'), meta: { needHazardEdit: true } },
      { path: 'hazard-sources/:id', name: 'hazard-source', component: () => import('./views/HazardSourceDetail.vue'), props: true },
      { path: 'hazard-sources/:id/edit', name: 'hazard-source-edit', component: () => import('./views/HazardSourceForm.vue'), props: true, meta: { needHazardEdit: true } },
      { path: 'facilities', name: 'facilities', component: () => import('./views/FacilityList.vue') },
      { path: 'facilities/new', name: 'facility-new', component: () => import('./views/FacilityForm.vue'), meta: { need: 'can_edit_registry' } },
      { path: 'facilities/:id', name: 'facility', component: () => import('./views/FacilityDetail.vue'), props: true },
      { path: 'facilities/:id/edit', name: 'facility-edit', component: () => import('./views/FacilityForm.vue'), props: true, meta: { need: 'can_edit_registry' } },
      { path: 'alarms', name: 'alarms', component: () => import('./views/AlarmsView.vue') },
      { path: 'risk-points', name: 'risk-points', component: () => import('./views/RiskPointList.vue') },
      { path: 'risk-points/new', name: 'risk-point-new', component: () => import('./views/RiskPointForm.vue'), meta: { need: 'can_write_risk' } },
      { path: 'risk-points/:id', name: 'risk-point', component: () => import('./views/RiskPointDetail.vue'), props: true },
      { path: 'risk-points/:id/edit', name: 'risk-point-edit', component: () => import('./views/RiskPointForm.vue'), props: true, meta: { need: 'can_write_risk' } },
      { path: 'hidden-dangers', name: 'hidden-dangers', component: () => import('./views/HiddenDangerList.vue') },
      { path: 'hidden-dangers/new', name: 'hidden-danger-new', component: () => import('./views/HiddenDangerForm.vue'), meta: { need: 'can_report_hidden_dangers' } },
      { path: 'hidden-dangers/:id', name: 'hidden-danger', component: () => import('./views/HiddenDangerDetail.vue'), props: true },
      { path: 'supervision', name: 'supervision', component: () => import('./views/SupervisionView.vue') },
      { path: 'hd-stats', name: 'hd-stats', component: () => import('./views/HiddenDangerStats.vue') },
      { path: 'commitments', name: 'commitments', component: () => import('./views/CommitmentBoard.vue') },
      { path: 'admin-units', name: 'admin-units', component: () => import('./views/AdminUnitsView.vue') },
      { path: 'warnings', name: 'warnings', component: () => import('./views/wn/WarningList.vue') },
      { path: 'warnings/queue', name: 'warning-queue', component: () => import('./views/wn/WarningList.vue'), props: { queue: true }, meta: { need: 'can_approve_warning' } },
      { path: 'warnings/relays', name: 'warning-relays', component: () => import('./views/wn/RelayInbox.vue'), meta: { need: 'can_relay_warning' } },
      { path: 'warnings/subscribers', name: 'warning-subscribers', component: () => import('./views/wn/SubscriberList.vue'), meta: { need: 'can_manage_subscribers' } },
      { path: 'warnings/import', name: 'warning-import', component: () => import('./views/wn/WarningImport.vue'), meta: { need: 'can_approve_warning' } },
      { path: 'warnings/new', name: 'warning-new', component: () => import('./views/wn/WarningForm.vue'), meta: { need: 'can_compose_warning' } },
      { path: 'warnings/:id/edit', name: 'warning-edit', component: () => import('./views/wn/WarningForm.vue'), props: true, meta: { need: 'can_compose_warning' } },
      { path: 'warnings/:id', name: 'warning', component: () => import('./views/wn/WarningDetail.vue'), props: true },
      { path: 'users', name: 'users', component: () => import('./views/UsersView.vue'), meta: { need: 'can_manage_users' } },
      { path: 'audit', name: 'audit', component: () => import('./views/AuditView.vue'), meta: { need: 'can_read_audit' } },
      { path: ':rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach(async (to) => {
  if (!session.checked) await restoreSession()
  if (to.meta.public) {
    if (to.name === 'login' && session.user) return { path: '/' }
    return true
  }
  if (!session.user) {
    return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  }
  if (to.meta.need && !caps.value[to.meta.need]) return { name: 'one-map' }
  if (to.meta.needHazardEdit && !canEditHazardUnit(session.user, caps.value.can_edit_registry)) return { name: 'one-map' }
  return true
})
