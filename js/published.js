// flagcore's published layout as a FlagClient source: the head read alone
// on a refresh, the chunks only when it names another snapshot, and a
// generation read by id for a pinned request; from a URL (S3 or a CDN), a
// store of your own, or the stores a host adds (Node: a directory, a
// DynamoDB table). What the layout holds and how it is checked is the
// core's (core/src/published/). The Python package's _published.py does
// the same.

import { limits } from './engine.js'
import { Snapshot } from './snapshot.js'
import { DEFAULT_TIMEOUT_MS, bodyUpTo, cancel, withDeadline } from './sources.js'

const PUBLISHED_TTL_SECONDS = 5
const HEAD_NAME = 'head.json'

/**
 * flagcore's published layout (`flagcore publish`, or a sync handler): a
 * refresh reads the head alone, and the chunks only when the head names a
 * snapshot id other than the one in use. `store.head(tag, signal)`
 * answers `{ text, tag }`, or null when the head is unchanged since the
 * read that gave `tag`; `store.chunks(names, signal)` answers each
 * chunk's stored (gzip) bytes, or null for one that is not there;
 * `store.generationHead(name, signal)` answers a generation's own head's
 * text, or null. Every read of one snapshot (its head and its chunks)
 * shares one deadline, `timeoutMs`, passed to the store as `signal` and
 * kept here whether the store heeds it or not. What is read is bounded
 * before it is held: a head past the core's bound is refused, a stored
 * chunk past its bound is not inflated, and a chunk inflates to no more
 * than one byte past the size its head gives (see `inflate`). Any failure
 * keeps the snapshot in use.
 */
export function publishedSource (store, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  // The tag of the last head read whole: kept only once its snapshot
  // loaded, so a failed read is retried, never taken for unchanged.
  let tag = null
  // The last head's sequence: where the snapshot in use stands in the
  // order of publishes (a snapshot published again moves it on), and what
  // its source said of the snapshot in use.
  let sequence = null
  let facts = null
  return {
    describe: () => `published ${store.describe()}`,
    // What it loads, its publisher checked by the core's plan (the lost
    // $inited marker rule among them): a client takes it as it is.
    published: true,
    // An unchanged refresh is one small read (half a read unit from
    // DynamoDB: `make bench-published`), so the default polls three times
    // as often as for the sources that read everything.
    ttlSeconds: PUBLISHED_TTL_SECONDS,
    load: (current) => withDeadline(timeoutMs, () => late(store, timeoutMs), async (signal) => {
      const read = await store.head(current ? tag : null, signal)
      if (read === null && current) return current
      if (read === null) throw new Error(`${store.describe()}: the head was answered unchanged, with no snapshot loaded`)
      const head = Snapshot.publishedHead(read.text)
      const same = current && head.id === current.id
      // The same snapshot is read again only when what its source said of
      // it changed (a Relay table's marker came back).
      const headFacts = JSON.stringify(head.source ?? null)
      const loaded = same && headFacts === facts ? current : Snapshot.fromPublished(read.text, await chunks(store, head, signal))
      // A read that finished after its deadline failed the load: it
      // keeps nothing, so that the next load reads the head again.
      if (signal.aborted) throw new Error(`${store.describe()}: the read finished after its deadline`)
      tag = read.tag
      facts = headFacts
      // A stale read of the same snapshot (a cache, an eventually
      // consistent read) never moves its place back.
      sequence = same && sequence !== null ? Math.max(sequence, head.sequence) : head.sequence
      return loaded
    }),
    /** Forgets the last head read, so that the next load reads it whole: the client refused what it loaded. */
    reset () {
      tag = null
    },
    /** The sequence of the head the last load read: where the snapshot it answered stands among the generations. */
    sequence: () => sequence,
    /**
     * Exactly the snapshot `id`, from its generation's own head and chunks:
     * `{ snapshot, sequence, size }`. Fails when the generation is not
     * there (never published, or expired) or does not read whole; fails
     * with `permanent` set, before any chunk is read, when its head names
     * another snapshot or more than `maxBytes` published bytes (a
     * generation never changes: asking again would answer the same).
     */
    loadPinned: (id, { maxBytes = Infinity } = {}) => withDeadline(timeoutMs, () => late(store, timeoutMs), async (signal) => {
      const name = Snapshot.publishedGenerationHead(id)
      const text = await store.generationHead(name, signal)
      if (text === null) throw new Error(`${store.describe()}: no ${name}: snapshot ${id} was not published there, or has expired`)
      const head = Snapshot.publishedHead(text)
      if (head.id !== id) throw refusal('PINNED_WRONG_ID', `${store.describe()}: ${name} names snapshot ${head.id}`)
      if (head.size > maxBytes) {
        throw refusal('PINNED_TOO_LARGE', `snapshot ${id} is ${head.size} bytes published, over the ${maxBytes} bytes the pinned snapshots may hold: not read`)
      }
      return { snapshot: Snapshot.fromPublished(text, await chunks(store, head, signal)), sequence: head.sequence, size: head.size }
    })
  }
}

// What a read of `store` that missed its deadline fails with.
function late (store, ms) {
  return `${store.describe()}: the read did not finish within ${ms} ms`
}

// A refusal that asking again would not change.
function refusal (code, message) {
  const error = new Error(`${code}: ${message}`)
  error.code = code
  error.permanent = true
  return error
}

// A head's chunks, decompressed, in order: all of them, or those before
// the first one not found (the core then names it). A stored chunk past
// its bound is not inflated, and fails its check.
async function chunks (store, head, signal) {
  const read = await store.chunks(head.chunks.map((chunk) => chunk.name), signal)
  const missing = read.indexOf(null)
  const found = missing < 0 ? read : read.slice(0, missing)
  return Promise.all(found.map((bytes, n) => bytes.length > limits.storedChunkBytes ? new Uint8Array(0) : inflate(bytes, head.chunks[n].size)))
}

/**
 * A stored chunk's plain bytes, at most `size + 1` of them: the size its
 * head gives, and one more, which is enough to fail the chunk's check, so
 * that a chunk that inflates to far more (a decompression bomb) is never
 * held in memory. A chunk that does not decompress is handed over as it
 * is, and fails its hash.
 */
async function inflate (bytes, size) {
  const parts = []
  let total = 0
  try {
    const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      parts.push(value)
      total += value.length
      if (total > size) {
        await reader.cancel().catch(() => {})
        break
      }
    }
  } catch {
    return bytes
  }
  const plain = new Uint8Array(Math.min(total, size + 1))
  let at = 0
  for (const part of parts) {
    if (at >= plain.length) break
    const take = part.subarray(0, plain.length - at)
    plain.set(take, at)
    at += take.length
  }
  return plain
}

/** The published layout behind a URL (`flagcore publish --to DIR`, served by S3 or a CDN). */
export function httpStore ({ url, headers = {}, fetch: fetchImpl = globalThis.fetch }) {
  const base = new URL(String(url).endsWith('/') ? String(url) : `${url}/`)
  async function get (name, request, signal) {
    const target = new URL(name, base)
    const response = await fetchImpl(target, { headers: { ...headers, ...request }, signal })
    if (response.status === 304 || response.status === 404) {
      await cancel(response)
      return response
    }
    if (!response.ok) {
      await cancel(response)
      throw new Error(`GET ${target} answered ${response.status} ${response.statusText}`)
    }
    return response
  }
  async function text (name, response) {
    const body = await bodyUpTo(response, limits.headBytes)
    if (body === null) throw new Error(`GET ${new URL(name, base)}: more than the ${limits.headBytes} bytes a head holds`)
    return new TextDecoder().decode(body)
  }
  return {
    describe: () => `url ${base}`,
    async head (tag, signal) {
      const response = await get(HEAD_NAME, tag ? { 'if-none-match': tag } : {}, signal)
      if (response.status === 304 && tag) return null
      if (response.status === 404) throw new Error(`GET ${new URL(HEAD_NAME, base)} answered 404: nothing is published there`)
      return { text: await text(HEAD_NAME, response), tag: response.headers.get('etag') }
    },
    chunks (names, signal) {
      return Promise.all(names.map(async (name) => {
        const response = await get(name, {}, signal)
        if (response.status === 404) return null
        // Past its bound, a chunk is read no further, and fails its check.
        return (await bodyUpTo(response, limits.storedChunkBytes)) ?? new Uint8Array(limits.storedChunkBytes + 1)
      }))
    },
    async generationHead (name, signal) {
      const response = await get(name, {}, signal)
      return response.status === 404 ? null : text(name, response)
    }
  }
}
