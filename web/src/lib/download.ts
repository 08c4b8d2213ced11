import { buildUrl, type Query } from '../api/client'

/**
 * Starts a file download from the API (exports). A plain navigation carries the
 * session cookie and lets the browser handle the file and its name.
 */
export function download(path: string, query: Query): void {
  const a = document.createElement('a')
  a.href = buildUrl(path, query)
  a.rel = 'noopener'
  a.download = ''
  document.body.appendChild(a)
  a.click()
  a.remove()
}
