// The signed-in user and the server's reference data (`/meta`), shared by all pages.
// The session itself is an HTTP-only cookie the UI never reads.

import { computed, reactive } from 'vue'
import { api, request } from './api/client'
import type { AdminUnit, ListResponse, Meta, User } from './api/types'

interface SessionState {
  user: User | null
  meta: Meta | null
  /** Township units, for the town selects and labels. */
  towns: AdminUnit[]
  /** True once the first `/me` answered (signed in or not). */
  checked: boolean
}

export const session = reactive<SessionState>({ user: null, meta: null, towns: [], checked: false })

export const caps = computed(
  () => session.meta?.capabilities ?? { can_edit_registry: false, can_manage_users: false, can_read_audit: false, can_handle_alarms: false },
)

export async function loadReferenceData(): Promise<void> {
  const [meta, units] = await Promise.all([
    api.get<Meta>('/meta'),
    api.get<ListResponse<AdminUnit>>('/admin-units', { limit: 1000 }),
  ])
  session.meta = meta
  session.towns = units.items
}

/** Asks the server who is signed in; false when nobody is. */
export async function restoreSession(): Promise<boolean> {
  try {
    session.user = await request<User>('GET', '/me', { skipAuthRedirect: true })
    await loadReferenceData()
    return true
  } catch {
    session.user = null
    return false
  } finally {
    session.checked = true
  }
}

export async function login(username: string, password: string): Promise<User> {
  const res = await request<{ user: User }>('POST', '/auth/login', {
    body: { username, password },
    skipAuthRedirect: true,
  })
  session.user = res.user
  await loadReferenceData()
  return res.user
}

export async function logout(): Promise<void> {
  try {
    await request('POST', '/auth/logout', { skipAuthRedirect: true })
  } finally {
    clearSession()
  }
}

export function clearSession(): void {
  session.user = null
  session.meta = null
  session.towns = []
}

export function townName(code: string | null | undefined): string {
  if (!code) return ''
  return session.towns.find((t) => t.code === code)?.name ?? code
}
