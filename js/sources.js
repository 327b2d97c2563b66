// Where a FlagClient loads snapshots from, beside the published layout
// (published.js): `{ url }` here, the sources a host adds (Node: a file,
// DynamoDB, the published layout in a directory or a DynamoDB table), or
// any `{ load, describe }`. What sources read is bounded by `limits` (the
// core's, from the engine), which the host's sources are given too. The
// Python package's _sources.py does the same.

import { limits } from './engine.js'
import { Snapshot } from './snapshot.js'

export const DEFAULT_TIMEOUT_MS = 5000

/**
 * A URL (a CDN or S3 object): revalidated with If-None-Match, so an
 * unchanged snapshot costs no parse; `prefix` reads exported DynamoDB items
 * of a prefixed Relay Proxy table. A body past the snapshot bound is read
 * no further.
 */
export function urlSource ({ url, headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS, prefix, fetch: fetchImpl = globalThis.fetch }) {
  let etag = null
  return {
    describe: () => `url ${url}`,
    /** Forgets the last read's ETag, so that the next load reads it whole: the client refused what it loaded. */
    reset () {
      etag = null
    },
    async load (current) {
      const request = { ...headers }
      if (current && etag) request['if-none-match'] = etag
      const response = await fetchImpl(url, { headers: request, signal: AbortSignal.timeout(timeoutMs) })
      if (response.status === 304 && current) return current
      if (!response.ok) {
        await cancel(response)
        throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`)
      }
      const body = await bodyUpTo(response, limits.snapshotBytes)
      if (body === null) throw new Error(`GET ${url}: more than the ${limits.snapshotBytes} bytes a snapshot holds`)
      const snapshot = Snapshot.fromJson(body, { prefix })
      etag = response.headers.get('etag')
      return snapshot
    }
  }
}

// At most `limit` bytes of a response's body, or null past that: what is
// past is never read. The Node package's LaunchDarkly reader uses it too.
export async function bodyUpTo (response, limit) {
  const declared = Number(response.headers.get('content-length'))
  if (declared > limit) {
    await cancel(response)
    return null
  }
  if (!response.body) return new Uint8Array(await response.arrayBuffer())
  const reader = response.body.getReader()
  const parts = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > limit) {
      await reader.cancel().catch(() => {})
      return null
    }
    parts.push(value)
  }
  const body = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    body.set(part, at)
    at += part.length
  }
  return body
}

export async function cancel (response) {
  if (response.body) await response.body.cancel().catch(() => {})
}

// Runs `read(signal)` within one deadline of `ms`, failing with `message`
// (text, or a function asked only then) when it passes: the signal aborts
// what `read` started, and the read fails at the deadline even when what it
// called does not heed the signal. The Node package's DynamoDB sources use
// it too (index.js exports it).
export function withDeadline (ms, message, read) {
  const controller = new AbortController()
  let timer
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new Error(typeof message === 'function' ? message() : message))
    }, ms)
  })
  return Promise.race([read(controller.signal), late]).finally(() => clearTimeout(timer))
}
