// A snapshot kept fresh from a source, with no connection and nothing in
// the background: a call made after the time to live refreshes before it
// answers; concurrent callers share one refresh (at the edge, where a
// request's I/O is its own, none waits on another's: docs/edge.md); a
// failed refresh keeps the last good snapshot and backs off. When calls refresh is the core's rule
// (`refreshDeadlines`, core/src/refresh.rs); this file does the loading.
// The Python package's _refresh.py does the same.

import { engine, host } from './engine.js'
import { DEFAULT_TIMEOUT_MS } from './sources.js'

const DEFAULT_TTL_SECONDS = 15
// How many snapshot ids a client remembers for `decide`.
const SEEN_IDS = 16
// A refresh under way for longer is taken as lost where a request's I/O is
// its own: its request was canceled, and its fetch with it.
const STALLED_MS = 2 * DEFAULT_TIMEOUT_MS

function uninitialized (problems) {
  return problems.some((problem) => problem.code === 'STORE_NOT_INITIALIZED')
}

function yieldToEventLoop () {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)))
}

/**
 * The refresh loop of a FlagClient: the snapshot in use, where it stands
 * among a published source's generations, when it was loaded and checked,
 * the last failure, and the source's warnings. Without a source (offline),
 * there is never a snapshot.
 */
export class Refreshing {
  #source
  #ttlMs
  #retryMs
  #logger
  #now
  #snapshot = null
  #loadedAt = 0
  #checkedAt = 0
  #failedAt = 0
  #dueAt = -Infinity
  #tokenDueAt = Infinity
  #pinDueAt = -Infinity
  // Where the snapshot in use stands in the order of publishes (its
  // latest head's sequence: a snapshot published again moves it on).
  #heldSequence = Infinity
  #lastError = null
  #warnings = []
  // Snapshot ids this client has replaced, or looked for at a token's
  // request and not found: a token naming one is no reason to reload.
  #seenIds = []
  #refreshing = null
  #refreshingSince = 0

  /**
   * `source` (null offline); `ttlSeconds` (undefined: the source's own, or
   * 15); `retryMs`, how long after a failure the source is tried again;
   * `logger` and the clock `now` are the client's.
   */
  constructor (source, ttlSeconds, retryMs, logger, now) {
    this.#source = source
    // A source may be cheaper to poll than the default assumes (the
    // published layout's head is one small read): it then says how often.
    this.#ttlMs = (ttlSeconds ?? (source && source.ttlSeconds) ?? DEFAULT_TTL_SECONDS) * 1000
    this.#retryMs = retryMs
    this.#logger = logger
    this.#now = now
    this.#schedule()
  }

  /** The source, or null offline. */
  get source () {
    return this.#source
  }

  /** The snapshot in use, as it is (no refresh); null without one. */
  get held () {
    return this.#snapshot
  }

  /** Where the snapshot in use stands among the generations (Infinity: unknown, the newest). */
  get heldSequence () {
    return this.#heldSequence
  }

  get lastError () {
    return this.#lastError
  }

  /** The snapshot to answer from, refreshed first when its time to live has passed; null when none could be loaded. */
  async snapshot () {
    if (this.#source === null) return null
    if (this.#due() && !(this.#snapshot && this.#underWayElsewhere())) await this.refresh()
    return this.#snapshot
  }

  // Where a request's I/O is its own (workerd cancels, as hung, a request
  // that waits on another request's fetch), whether another request's
  // refresh is under way: a request then answers from the snapshot held,
  // as it stands until that refresh ends, rather than wait on it. One under
  // way past STALLED_MS is taken as lost, and counts no more.
  #underWayElsewhere () {
    if (!host.ownIo || this.#refreshing === null) return false
    if (this.#now() - this.#refreshingSince <= STALLED_MS) return true
    this.#refreshing = null
    return false
  }

  /**
   * The snapshot to answer from when no refresh is due (null offline or
   * without one), undefined when a call must refresh first: evaluations
   * answer at once when they need not wait for the source.
   */
  current () {
    if (this.#source === null) return null
    return this.#due() ? undefined : this.#snapshot
  }

  /**
   * Loads the source now. Concurrent callers share one load; a failure
   * keeps the last good snapshot. Where a request's I/O is its own, a
   * caller while another request's load is under way gets the snapshot
   * held (with none, it loads its own): it never waits on that load.
   */
  refresh () {
    if (this.#source === null) return Promise.resolve(null)
    if (this.#underWayElsewhere()) return this.#snapshot ? Promise.resolve(this.#snapshot) : this.#load()
    if (!this.#refreshing) {
      this.#refreshingSince = this.#now()
      const refreshing = this.#load().finally(() => {
        if (this.#refreshing === refreshing) this.#refreshing = null
      })
      this.#refreshing = refreshing
    }
    return this.#refreshing
  }

  /**
   * For a verified token's `status`: a token from a snapshot this client
   * has not seen means upstream may hold newer data, so look once, at most
   * once per retry interval and never within the backoff. A token from a
   * snapshot it replaced (older data), or one it already looked for, waits
   * for the time to live like any call. Answers the refresh's promise, or
   * null when none is due (the caller then goes on in the same turn).
   */
  refreshForToken (status) {
    if (!this.#dueForToken(status)) return null
    // Another request is loading the source: its answer is the look.
    if (this.#snapshot && this.#underWayElsewhere()) return null
    return this.refresh().then(() => {
      // Looked for and not there: the source has not caught up, or the token's snapshot is gone.
      if (this.#lastError === null && this.#snapshot.id !== status.snapshotId) this.#remember(status.snapshotId)
    })
  }

  /** Whether a pinned snapshot not kept may be read now: not while a failed source is backing off (the core's rule). */
  pinDue () {
    return this.#now() >= this.#pinDueAt
  }

  /** Where the loop stands, for FlagClient#status. */
  status () {
    const now = this.#now()
    const held = this.#snapshot
    return {
      ready: held !== null,
      offline: this.#source === null,
      source: this.#source ? this.#source.describe() : null,
      snapshotId: held ? held.id : null,
      ageMs: held ? now - this.#loadedAt : null,
      checkedAgoMs: held ? now - this.#checkedAt : null,
      lastError: this.#lastError,
      warnings: this.#warnings
    }
  }

  async #load () {
    try {
      const loaded = await this.#source.load(this.#snapshot)
      const now = this.#now()
      // A reload with the same content keeps the snapshot in use, and its
      // age; what its source says of it now (a marker come back) is kept.
      if (loaded !== this.#snapshot && this.#snapshot && loaded.id === this.#snapshot.id) {
        this.#warnings = loaded.sourceProblems()
      } else if (loaded !== this.#snapshot) {
        const problems = loaded.sourceProblems()
        // A table that had its $inited marker and lost it is being written
        // anew (recreated, or re-initialized): what it holds now may be a
        // part, so it replaces nothing until the marker is back. A
        // published source's publisher applied this rule already (the
        // core's plan), and what it published stands.
        if (this.#snapshot && !this.#source.published && uninitialized(problems) && !uninitialized(this.#warnings)) {
          // The source must read it whole again next time, not answer
          // "unchanged" and end the refusal unseen.
          if (typeof this.#source.reset === 'function') this.#source.reset()
          throw new Error('STORE_NOT_INITIALIZED: the table lost its $inited marker; keeping the snapshot read while it had one')
        }
        if (this.#snapshot) this.#remember(this.#snapshot.id)
        this.#snapshot = loaded
        this.#heldSequence = this.#sourceSequence()
        this.#loadedAt = now
        this.#warnings = problems
        for (const problem of this.#warnings) {
          this.#logger.warn(`flagcore: ${this.#source.describe()}: ${problem.code}: ${problem.message}`)
        }
        // Node runs the finalizers that free replaced snapshots (native or
        // WASM memory) only when its event loop turns: let it turn once.
        await yieldToEventLoop()
      }
      // The same snapshot published again (a rollback to it) is newer
      // than every generation before it: keep its place up to date.
      this.#heldSequence = this.#sourceSequence()
      this.#checkedAt = now
      this.#lastError = null
      this.#schedule()
      return this.#snapshot
    } catch (error) {
      this.#failedAt = this.#now()
      this.#schedule()
      this.#lastError = error
      const age = this.#snapshot ? `serving the snapshot loaded ${Math.round((this.#now() - this.#loadedAt) / 1000)} s ago` : 'no snapshot yet: answering defaults'
      this.#logger.warn(`flagcore: refreshing from ${this.#source.describe()} failed (${error.message}); ${age}`)
      return this.#snapshot
    }
  }

  // When calls refresh is the core's rule (core/src/refresh.rs), asked
  // after each load and failure; a call only compares the time.
  #schedule () {
    const [call, token, pin] = engine.refreshDeadlines(this.#ttlMs, this.#retryMs, this.#snapshot !== null, this.#checkedAt, this.#failedAt)
    this.#dueAt = call
    this.#tokenDueAt = token
    this.#pinDueAt = pin
  }

  // Where the snapshot the source last answered stands among the
  // generations; unknown (a source without sequences) is the newest of
  // all, so that a pinned request always answers under its kill switches.
  #sourceSequence () {
    let sequence = null
    try {
      sequence = typeof this.#source.sequence === 'function' ? this.#source.sequence() : null
    } catch {}
    return typeof sequence === 'number' && !Number.isNaN(sequence) ? sequence : Infinity
  }

  #due () {
    return this.#now() >= this.#dueAt
  }

  #remember (id) {
    if (this.#seenIds.includes(id)) return
    this.#seenIds.push(id)
    if (this.#seenIds.length > SEEN_IDS) this.#seenIds.shift()
  }

  #dueForToken (status) {
    if (!this.#snapshot || !status.applied || status.snapshotId === this.#snapshot.id) return false
    if (this.#seenIds.includes(status.snapshotId)) return false
    return this.#now() >= this.#tokenDueAt
  }
}
