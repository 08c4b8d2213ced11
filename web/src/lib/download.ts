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

/** Saves text made in the page (e.g. a CAP preview) as a file. */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
