// The one way the UI talks to the server: same-origin fetch with the session cookie
// (`yingji_session`, HTTP-only). The UI never sees or stores the token itself.

export interface ApiErrorBody {
  code: string
  message: string
  field?: string | null
}

/** A failed API call. `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly field: string | null
  /** The whole decoded error response, e.g. an import's `rejected` rows. */
  readonly body: unknown

  constructor(status: number, code: string, message: string, field: string | null = null, body: unknown = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
    this.body = body
  }
}

export type Query = Record<string, string | number | boolean | null | undefined | string[]>

export interface RequestOptions {
  query?: Query
  /** JSON body. */
  body?: unknown
  /** Multipart body (uploads); sent as is. */
  form?: FormData
  /** Raw body with its content type (e.g. a GeoJSON upload). */
  raw?: { data: BodyInit; contentType: string }
  /** Do not trigger the global 401 handler (the login call itself). */
  skipAuthRedirect?: boolean
  signal?: AbortSignal
}

export const API_BASE = '/api/v1'

type UnauthorizedHandler = () => void
let onUnauthorized: UnauthorizedHandler | null = null

/** Registers what happens when any call answers 401 (the app goes back to login). */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler
}

/** `/enterprises` + `{town: 'x', q: ''}` → `/api/v1/enterprises?town=x`; empty values are dropped. */
export function buildUrl(path: string, query?: Query): string {
  const url = path.startsWith('/api/') ? path : API_BASE + path
  if (!query) return url
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === null || v === undefined || v === '') continue
    if (Array.isArray(v)) {
      if (v.length) params.set(k, v.join(','))
    } else {
      params.set(k, String(v))
    }
  }
  const qs = params.toString()
  return qs ? `${url}?${qs}` : url
}

/** Turns a non-2xx response into an ApiError, whatever its body looks like. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: unknown = null
  const text = await res.text().catch(() => '')
  if (text) {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  const err = (body && typeof body === 'object' && 'error' in body ? (body as { error: unknown }).error : null) as
    | Partial<ApiErrorBody>
    | null
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    return new ApiError(res.status, err.code, err.message || err.code, err.field ?? null, body)
  }
  const fallbackCode = res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : res.status === 404 ? 'not_found' : 'http_' + res.status
  const message = typeof body === 'string' && body.length < 300 && body.trim() ? body.trim() : `HTTP ${res.status} ${res.statusText}`.trim()
  return new ApiError(res.status, fallbackCode, message, null, body)
}

export async function request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined
  if (opts.form) {
    body = opts.form
  } else if (opts.raw) {
    body = opts.raw.data
    headers['Content-Type'] = opts.raw.contentType
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body)
    headers['Content-Type'] = 'application/json'
  }
  let res: Response
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e))
  }
  if (!res.ok) {
    const error = await errorFromResponse(res)
    if (res.status === 401 && !opts.skipAuthRedirect && onUnauthorized) onUnauthorized()
    throw error
  }
  if (res.status === 204) return undefined as T
  const ct = res.headers.get('content-type') || ''
  if (ct.includes('json')) return (await res.json()) as T
  return (await res.text()) as unknown as T
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown, opts: RequestOptions = {}) => request<T>('POST', path, { ...opts, body }),
  put: <T>(path: string, body?: unknown, opts: RequestOptions = {}) => request<T>('PUT', path, { ...opts, body }),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body }),
  del: <T = void>(path: string) => request<T>('DELETE', path),
}

/** Maps an API validation error onto a form field name, if it names one. */
export function fieldError(e: unknown): { field: string; message: string } | null {
  if (e instanceof ApiError && e.field && e.status >= 400 && e.status < 500) {
    return { field: e.field, message: e.message }
  }
  return null
}
