import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, api, buildUrl, fieldError, request, setUnauthorizedHandler } from './client'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
}

describe('API client', () => {
  const fetchMock = vi.fn()
  beforeEach(() => {
    fetchMock.mockReset()
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => {
    setUnauthorizedHandler(null)
    vi.unstubAllGlobals()
  })

  it('builds URLs under /api/v1 and drops empty filters', () => {
    expect(buildUrl('/enterprises', { q: '', town: '120114001', flag: null, limit: 20, offset: 0 })).toBe(
      '/api/v1/enterprises?town=120114001&limit=20&offset=0',
    )
    expect(buildUrl('/me')).toBe('/api/v1/me')
    expect(buildUrl('/api/docs')).toBe('/api/docs')
  })

  it('sends JSON with same-origin credentials', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { ok: true }))
    await api.post('/auth/login', { username: 'a', password: 'b' })
    const [url, init] = fetchMock.mock.calls[0]
    expect(url).toBe('/api/v1/auth/login')
    expect(init.credentials).toBe('same-origin')
    expect(init.headers['Content-Type']).toBe('application/json')
    expect(JSON.parse(init.body)).toEqual({ username: 'a', password: 'b' })
  })

  it('turns the error envelope into an ApiError with code, message and field', async () => {
    fetchMock.mockResolvedValue(
      jsonResponse(422, { error: { code: 'invalid', message: '信用代码校验位错误', field: 'credit_code' } }),
    )
    const err = (await api.post("/enterprises", {}).catch((e) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(422)
    expect(err.code).toBe('invalid')
    expect(err.message).toBe('信用代码校验位错误')
    expect(err.field).toBe('credit_code')
    expect(fieldError(err)).toEqual({ field: 'credit_code', message: '信用代码校验位错误' })
  })

  it('keeps the whole body for import reports', async () => {
    const body = { error: { code: 'invalid_rows', message: '2 rows invalid' }, written: 0, total_rows: 5, rejected: [{ line: 3, field: 'name', message: 'empty' }] }
    fetchMock.mockResolvedValue(jsonResponse(422, body))
    const err = (await api.post('/enterprises/import').catch((e) => e)) as ApiError
    expect(err.code).toBe('invalid_rows')
    expect(err.body).toEqual(body)
  })

  it('copes with non-JSON error bodies', async () => {
    fetchMock.mockResolvedValue(new Response('Bad Gateway', { status: 502, statusText: 'Bad Gateway' }))
    const err = (await api.get('/meta').catch((e) => e)) as ApiError
    expect(err.status).toBe(502)
    expect(err.code).toBe('http_502')
    expect(err.message).toBe('Bad Gateway')
    expect(fieldError(err)).toBeNull()
  })

  it('reports network failures as status 0', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'))
    const err = (await api.get('/meta').catch((e) => e)) as ApiError
    expect(err.status).toBe(0)
    expect(err.code).toBe('network')
  })

  it('calls the 401 handler, except for calls that opt out', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    fetchMock.mockResolvedValue(jsonResponse(401, { error: { code: 'unauthorized', message: 'login required' } }))
    await api.get('/me').catch(() => {})
    expect(handler).toHaveBeenCalledTimes(1)
    fetchMock.mockResolvedValue(jsonResponse(401, { error: { code: 'invalid_credentials', message: 'wrong password' } }))
    const err = (await request('POST', '/auth/login', { body: {}, skipAuthRedirect: true }).catch((e) => e)) as ApiError
    expect(err.code).toBe('invalid_credentials')
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('returns undefined for 204 and text for non-JSON bodies', async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }))
    expect(await api.del('/enterprises/1')).toBeUndefined()
    fetchMock.mockResolvedValue(new Response('a,b\n', { status: 200, headers: { 'content-type': 'text/csv' } }))
    expect(await api.get('/enterprises/export')).toBe('a,b\n')
  })
})
