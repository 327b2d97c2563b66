'use strict'
// Where a FlagClient loads snapshots from: `{ url }` here, the sources a host
// adds (Node: a file, DynamoDB), or any `{ load, describe }`.

/** makeSource(options) for `Snapshot`, with the host's sources by option name. */
function createSources (Snapshot, hostSources) {
  const DEFAULT_TIMEOUT_MS = 5000

  /**
   * A URL (a CDN or S3 object): revalidated with If-None-Match, so an
   * unchanged snapshot costs no parse; `prefix` reads exported DynamoDB items
   * of a prefixed Relay Proxy table.
   */
  function urlSource ({ url, headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS, prefix, fetch: fetchImpl = globalThis.fetch }) {
    let etag = null
    return {
      describe: () => `url ${url}`,
      async load (current) {
        const request = { ...headers }
        if (current && etag) request['if-none-match'] = etag
        const response = await fetchImpl(url, { headers: request, signal: AbortSignal.timeout(timeoutMs) })
        if (response.status === 304 && current) return current
        if (!response.ok) throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`)
        const snapshot = Snapshot.fromJson(await response.text(), { prefix })
        etag = response.headers.get('etag')
        return snapshot
      }
    }
  }

  function makeSource (source) {
    const kinds = ['url', ...Object.keys(hostSources)]
    const needs = `FlagClient needs a source: ${kinds.map((k) => `{ ${k} }`).join(', ')} or { load, describe }`
    if (!source || typeof source !== 'object') throw new TypeError(needs)
    if (typeof source.load === 'function') return source
    if (source.url) return urlSource(source)
    for (const [name, make] of Object.entries(hostSources)) {
      if (source[name]) return make(source[name], Snapshot)
    }
    throw new TypeError(needs)
  }

  return { makeSource }
}

module.exports = { createSources }
