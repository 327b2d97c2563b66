// The snapshots that requests are pinned to: `FlagClient.decide` pins a
// context whose decision token came from another generation of a published
// source to that generation, read once by id and kept, least recently used
// first, within a count and a byte bound. What a pinned context answers
// from is the core's rule (`Snapshot.pinned`): the token's snapshot under
// the held snapshot's kill switches, unless it is the newer generation.
// The Python package's _pins.py does the same.

import { host } from './engine.js'
import { Snapshot } from './snapshot.js'
import { DEFAULT_TIMEOUT_MS } from './sources.js'

// What pinned snapshots a client keeps, by default, each counted by its
// published size (what it answers from under the held snapshot's kill
// switches shares its flags).
const PINNED_SNAPSHOTS = 4
const PINNED_BYTES = 8 * 1024 * 1024
// How many snapshot ids whose reads failed are remembered (not asked for
// again within the retry interval).
const FAILED_IDS = 16
// How many snapshot ids a client remembers it will not pin to (larger than
// it may hold, or not the snapshot their head names): a generation never
// changes, so these are never asked for again.
const REFUSED_IDS = 64
// A read under way for longer is taken as lost where a request's I/O is its
// own: its request was canceled, and its fetch with it.
const STALLED_MS = 2 * DEFAULT_TIMEOUT_MS

/** One client's pinned snapshots, their loads in progress, the ids that failed or were refused, and the last failure. */
export class Pins {
  #kept = new Map()
  #bytes = 0
  #loads = new Map()
  #failures = new Map()
  #refused = new Set()
  #error = null
  #maxBytes
  #retryMs
  #now
  #logger

  /** `options`: `{ maxSnapshots = 4, maxBytes = 8 MiB }`; `retryMs`, `now` and `logger` are the client's. */
  constructor (options, { retryMs, now, logger }) {
    this.maxSnapshots = Number(options.maxSnapshots ?? PINNED_SNAPSHOTS)
    this.#maxBytes = Number(options.maxBytes ?? PINNED_BYTES)
    this.#retryMs = retryMs
    this.#now = now
    this.#logger = logger
  }

  status () {
    return { snapshotIds: [...this.#kept.keys()], bytes: this.#bytes, lastError: this.#error }
  }

  holds (id) {
    return this.#kept.has(id)
  }

  /**
   * The pinned snapshot `id`: kept, or read once from `source` however many
   * requests ask at a time; null when it cannot be read, and then not asked
   * for again within the retry interval. `heldId` names the snapshot answered
   * from instead, for the warning.
   */
  get (id, source, heldId) {
    const kept = this.#kept.get(id)
    if (kept !== undefined) {
      this.#kept.delete(id)
      this.#kept.set(id, kept)
      return kept
    }
    if (this.#refused.has(id)) return null
    const failedAt = this.#failures.get(id)
    if (failedAt !== undefined && this.#now() - failedAt < this.#retryMs) return null
    const loading = this.#loads.get(id)
    if (loading !== undefined && host.ownIo) {
      // Where a request's I/O is its own (workerd cancels, as hung, a
      // request that waits on another's fetch), no request waits on
      // another's read: it goes unpinned (its token's decisions apply), and
      // reads no second copy. A read under way past STALLED_MS was lost
      // with its request, and is made again.
      if (this.#now() - loading.since <= STALLED_MS) return null
    } else if (loading !== undefined) {
      return loading.promise
    }
    const promise = this.#load(id, source, heldId).finally(() => {
      if (this.#loads.get(id)?.promise === promise) this.#loads.delete(id)
    })
    this.#loads.set(id, { promise, since: this.#now() })
    return promise
  }

  async #load (id, source, heldId) {
    try {
      // The byte bound is the source's to apply from the generation's
      // head, before any chunk is read.
      const { snapshot, sequence, size } = await source.loadPinned(id, { maxBytes: this.#maxBytes })
      if (!(size <= this.#maxBytes)) {
        const error = new Error(`PINNED_TOO_LARGE: snapshot ${id} is ${size} bytes published, over the ${this.#maxBytes} bytes the pinned snapshots may hold`)
        error.code = 'PINNED_TOO_LARGE'
        error.permanent = true
        throw error
      }
      // Read twice at once (requests whose I/O is their own): one is kept.
      const already = this.#kept.get(id)
      if (already !== undefined) return already
      const pin = { id, snapshot, sequence, size, answered: null }
      this.#kept.set(id, pin)
      this.#bytes += size
      for (const [oldest, kept] of this.#kept) {
        if (this.#kept.size <= this.maxSnapshots && this.#bytes <= this.#maxBytes) break
        this.#kept.delete(oldest)
        this.#bytes -= kept.size
      }
      this.#failures.delete(id)
      this.#error = null
      return pin
    } catch (error) {
      if (error.permanent) {
        this.#refused.add(id)
        if (this.#refused.size > REFUSED_IDS) this.#refused.delete(this.#refused.values().next().value)
      } else {
        this.#failures.delete(id)
        this.#failures.set(id, this.#now())
        if (this.#failures.size > FAILED_IDS) this.#failures.delete(this.#failures.keys().next().value)
      }
      this.#error = error
      this.#logger.warn(`flagcore: cannot pin a request to snapshot ${id} (${error.message}); answering from ${heldId}, with the token's decisions`)
      return null
    }
  }
}

/**
 * What `pin` answers from when the client holds `held` (standing at
 * `sequence` among the generations; Infinity when unknown): its snapshot
 * under `held`'s kill switches (`Snapshot.pinned`),
 * worked out again only when `held`, or its place among the generations (a
 * rollback publishes it again), changed.
 */
export function answering (pin, held, sequence) {
  const answered = pin.answered
  if (answered !== null && answered.held === held && answered.sequence === sequence) return answered.snapshot
  const snapshot = Snapshot.pinned(pin.snapshot, pin.sequence, held, sequence, pin.size)
  pin.answered = { held, sequence, snapshot }
  return snapshot
}
