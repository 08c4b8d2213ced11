// Filters and paging of a list page, kept in the URL query so that reloads, the
// back button and shared links show the same page.
import { reactive, ref, watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { api } from '../api/client'
import type { ListResponse } from '../api/types'

export function useListQuery<T, F extends Record<string, string>>(
  path: string,
  defaults: F,
  /** Turns the filters (as kept in the URL) into API query parameters. */
  toApi: (q: Record<string, string>) => Record<string, string> = (q) => q,
) {
  const route = useRoute()
  const router = useRouter()
  const filters = reactive({ ...defaults }) as F
  const page = ref(1)
  const pageSize = ref(20)
  const items = ref<T[]>([]) as { value: T[] }
  const total = ref(0)
  const loading = ref(false)
  const error = ref('')

  function fromRoute() {
    for (const k of Object.keys(defaults) as (keyof F)[]) {
      const v = route.query[k as string]
      ;(filters as Record<string, string>)[k as string] = typeof v === 'string' ? v : defaults[k]
    }
    page.value = Math.max(1, Number(route.query.page) || 1)
    pageSize.value = [20, 50, 100].includes(Number(route.query.size)) ? Number(route.query.size) : 20
  }

  function query(): Record<string, string> {
    const q: Record<string, string> = {}
    for (const [k, v] of Object.entries(filters)) if (v) q[k] = v as string
    return q
  }

  let seq = 0
  async function load() {
    const mine = ++seq
    loading.value = true
    error.value = ''
    try {
      const res = await api.get<ListResponse<T>>(path, {
        ...toApi(query()),
        limit: pageSize.value,
        offset: (page.value - 1) * pageSize.value,
      })
      if (mine !== seq) return
      items.value = res.items
      total.value = res.total
    } catch (e) {
      if (mine === seq) error.value = e instanceof Error ? e.message : String(e)
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  function push() {
    const q: Record<string, string> = { ...query() }
    if (page.value > 1) q.page = String(page.value)
    if (pageSize.value !== 20) q.size = String(pageSize.value)
    router.replace({ query: q })
  }

  /** Applies the filters from page 1. */
  function search() {
    page.value = 1
    push()
  }

  function reset() {
    Object.assign(filters, defaults)
    search()
  }

  fromRoute()
  watch(
    () => route.query,
    () => {
      if (route.path !== currentPath) return
      fromRoute()
      load()
    },
  )
  const currentPath = route.path
  load()

  return { filters, page, pageSize, items, total, loading, error, load, search, reset, push, query }
}
