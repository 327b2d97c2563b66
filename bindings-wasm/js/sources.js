'use strict'
// Where a FlagClient loads snapshots from: `{ url }` and `{ published: { url } }`
// here, the sources a host adds (Node: a file, DynamoDB, the published layout
// in a directory or a DynamoDB table), or any `{ load, describe }`.

/** makeSource(options) for `Snapshot`, with the host's sources by option name. */
function createSources (Snapshot, hostSources) {
  const DEFAULT_TIMEOUT_MS = 5000
  const PUBLISHED_TTL_SECONDS = 5

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

  /**
   * flagcore's published layout (`flagcore publish`, or a sync handler): a
   * refresh reads the head alone, and the chunks only when the head names a
   * snapshot id other than the one in use. `store.head(tag)` answers
   * `{ text, tag }`, or null when the head is unchanged since the read that
   * gave `tag`; `store.chunks(names)` answers each chunk's gzip bytes, or
   * null for one that is not there; `store.generationHead(name)` answers a
   * generation's own head's text, or null. Any failure keeps the snapshot
   * in use.
   */
  function publishedSource (store) {
    // The tag of the last head read whole: kept only once its snapshot
    // loaded, so a failed read is retried, never taken for unchanged.
    let tag = null
    // When the snapshot in use was published.
    let publishedAt = null
    return {
      describe: () => `published ${store.describe()}`,
      // An unchanged refresh is one small read (half a read unit from
      // DynamoDB: `make bench-published`), so the default polls three times
      // as often as for the sources that read everything.
      ttlSeconds: PUBLISHED_TTL_SECONDS,
      async load (current) {
        const read = await store.head(current ? tag : null)
        if (read === null && current) return current
        if (read === null) throw new Error(`${store.describe()}: the head was answered unchanged, with no snapshot loaded`)
        const head = Snapshot.publishedHead(read.text)
        if (!current || head.id !== current.id) current = Snapshot.fromPublished(read.text, await chunks(store, head))
        tag = read.tag
        publishedAt = head.publishedAt
        return current
      },
      /** When the snapshot the last load answered was published (milliseconds since the epoch). */
      publishedAt: () => publishedAt,
      /**
       * Exactly the snapshot `id`, from its generation's own head and chunks:
       * `{ snapshot, publishedAt, size }`. Fails when the generation is not
       * there (never published, or expired) or does not read whole.
       */
      async loadPinned (id) {
        const name = Snapshot.publishedGenerationHead(id)
        const text = await store.generationHead(name)
        if (text === null) throw new Error(`${store.describe()}: no ${name}: snapshot ${id} was not published there, or has expired`)
        const head = Snapshot.publishedHead(text)
        if (head.id !== id) throw new Error(`${store.describe()}: ${name} names snapshot ${head.id}`)
        return { snapshot: Snapshot.fromPublished(text, await chunks(store, head)), publishedAt: head.publishedAt, size: head.size }
      }
    }
  }

  // A head's chunks, decompressed, in order: all of them, or those before
  // the first one not found (the core then names it). A chunk that does
  // not decompress is handed over as it is, and fails its hash.
  async function chunks (store, head) {
    const read = await store.chunks(head.chunks.map((chunk) => chunk.name))
    const missing = read.indexOf(null)
    return Promise.all((missing < 0 ? read : read.slice(0, missing)).map(gunzip))
  }

  async function gunzip (bytes) {
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))
      return new Uint8Array(await new Response(stream).arrayBuffer())
    } catch {
      return bytes
    }
  }

  /** The published layout behind a URL (`flagcore publish --to DIR`, served by S3 or a CDN). */
  function httpStore ({ url, headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS, fetch: fetchImpl = globalThis.fetch }) {
    const base = new URL(String(url).endsWith('/') ? String(url) : `${url}/`)
    async function get (name, request) {
      const target = new URL(name, base)
      const response = await fetchImpl(target, { headers: { ...headers, ...request }, signal: AbortSignal.timeout(timeoutMs) })
      if (response.status === 304 || response.status === 404) return response
      if (!response.ok) throw new Error(`GET ${target} answered ${response.status} ${response.statusText}`)
      return response
    }
    return {
      describe: () => `url ${base}`,
      async head (tag) {
        const response = await get('head.json', tag ? { 'if-none-match': tag } : {})
        if (response.status === 304 && tag) return null
        if (response.status === 404) throw new Error(`GET ${new URL('head.json', base)} answered 404: nothing is published there`)
        return { text: await response.text(), tag: response.headers.get('etag') }
      },
      chunks (names) {
        return Promise.all(names.map(async (name) => {
          const response = await get(name, {})
          return response.status === 404 ? null : new Uint8Array(await response.arrayBuffer())
        }))
      },
      async generationHead (name) {
        const response = await get(name, {})
        return response.status === 404 ? null : response.text()
      }
    }
  }

  function makeSource (source) {
    const kinds = ['url', 'published', ...Object.keys(hostSources).filter((k) => k !== 'published')]
    const needs = `FlagClient needs a source: ${kinds.map((k) => `{ ${k} }`).join(', ')} or { load, describe }`
    if (!source || typeof source !== 'object') throw new TypeError(needs)
    if (typeof source.load === 'function') return source
    if (source.url) return urlSource(source)
    if (source.published) {
      const options = source.published
      const store = options.url ? httpStore(options) : hostSources.published && hostSources.published(options)
      if (!store) throw new TypeError(`FlagClient's published source needs { url }${hostSources.published ? ' or what this host reads (see its docs)' : ''}`)
      return publishedSource(store)
    }
    for (const [name, make] of Object.entries(hostSources)) {
      if (name === 'published') continue
      if (source[name]) return make(source[name], Snapshot)
    }
    throw new TypeError(needs)
  }

  return { makeSource }
}

module.exports = { createSources }
