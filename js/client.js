// FlagClient: a snapshot from a source, refreshed by the core's rule
// (core/src/refresh.rs) at calls, never in the background; decision tokens
// for downstream functions; metrics and span events for what it evaluated.
// The snapshots pinned requests answer from are pins.js; span events are
// tracing.js; counts and measurements are metrics.js.

// What a client falls back on is the host's (see engine.js): `signingKey()`,
// `functionName()` for metrics, `trace()` for span events (null without
// OpenTelemetry).

import { engine, host } from './engine.js'
import { Context, keyText, pinOf, pinTo } from './context.js'
import { FlagsState } from './snapshot.js'
import { makeSource } from './sources.js'
import { Metrics } from './metrics.js'
import { Pins, answering } from './pins.js'
import { traceEvent } from './tracing.js'

const DEFAULT_TTL_SECONDS = 15
// How many snapshot ids a client remembers for `decide`.
const SEEN_IDS = 16
const NOT_READY = Object.freeze({ kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' })

function uninitialized (problems) {
  return problems.some((problem) => problem.code === 'STORE_NOT_INITIALIZED')
}

function yieldToEventLoop () {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)))
}

export class FlagClient {
  #source
  #ttlMs
  #retryMs
  #offline
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
  // Whether an invalid context was reported: once per client, not per call.
  #contextWarned = false
  // Snapshot ids this client has replaced, or looked for at a token's
  // request and not found: a token naming one is no reason to reload.
  #seenIds = []
  #refreshing = null
  #maxTokenTtlSeconds
  #signingKey
  #namespace
  #functionName
  #write
  #metrics = new Metrics()
  #trace
  #pins

  /**
   * @param {object} options
   * @param {object} [options.source] `{ file }`, `{ url, headers, timeoutMs }`, `{ dynamodb: { table, prefix, client } }`, or flagcore's published layout: `{ published: { url } }`, `{ published: { table, prefix, client } }` or `{ published: { directory } }`
   * @param {number} [options.ttlSeconds=15] how long a snapshot is used before a call refreshes it (5 for a published source); 0 refreshes on every call, a negative value never
   * @param {boolean} [options.offline=false] answer every flag with its default, and touch no source
   * @param {object} [options.logger=console] where refresh failures are reported (`warn`)
   * @param {string} [options.signingKey] the decision tokens' signing key (Node: FLAGCORE_SIGNING_KEY by default)
   * @param {number} [options.maxTokenTtlSeconds=300] the longest lifetime of a decision token `decide` accepts
   * @param {object} [options.pinned] for a published source, the snapshots `decide` keeps to answer requests pinned to
   *   their decision token's snapshot: `{ maxSnapshots = 4, maxBytes = 8 MiB }`, each counted by its published size
   *   (a parsed snapshot holds about five times that); `{ maxSnapshots: 0 }` pins nothing
   * @param {object} [options.metrics] `{ namespace = 'flagcore', functionName, write }` for `flush()`:
   *   the function name defaults to AWS_LAMBDA_FUNCTION_NAME in Node, `write` to console.log
   */
  constructor (options = {}) {
    const metrics = options.metrics ?? {}
    this.#namespace = metrics.namespace ?? 'flagcore'
    this.#functionName = metrics.functionName ?? (host.defaults.functionName && host.defaults.functionName()) ?? null
    this.#write = metrics.write ?? ((line) => console.log(line))
    // OpenTelemetry: span events for evaluations, when asked for and when
    // the host has @opentelemetry/api (Node loads it only then).
    this.#trace = options.tracing && host.defaults.trace ? host.defaults.trace() : null
    this.#offline = Boolean(options.offline)
    this.#signingKey = keyText(options.signingKey ?? (host.defaults.signingKey && host.defaults.signingKey()))
    this.#source = this.#offline ? null : makeSource(options.source)
    // A source may be cheaper to poll than the default assumes (the
    // published layout's head is one small read): it then says how often.
    const ttl = options.ttlSeconds ?? (this.#source && this.#source.ttlSeconds) ?? DEFAULT_TTL_SECONDS
    this.#ttlMs = ttl * 1000
    // After a failure, wait this long before trying the source again, so an
    // outage does not make every call wait for it.
    this.#retryMs = options.retryMs ?? 1000
    this.#schedule()
    this.#logger = options.logger ?? console
    this.#now = options.now ?? Date.now
    this.#maxTokenTtlSeconds = Number(options.maxTokenTtlSeconds ?? 0)
    this.#pins = new Pins(options.pinned ?? {}, { retryMs: this.#retryMs, now: this.#now, logger: this.#logger })
  }

  /** The snapshot to answer from, refreshed first when its time to live has passed; null when none could be loaded. */
  async snapshot () {
    if (this.#offline) return null
    if (this.#due()) await this.refresh()
    return this.#snapshot
  }

  // The snapshot to answer from when no refresh is due (null offline or
  // without one), undefined when a call must refresh first: evaluations
  // answer at once when they need not wait for the source.
  #current () {
    if (this.#offline) return null
    return this.#due() ? undefined : this.#snapshot
  }

  /** Loads the source now. Concurrent callers share one load; a failure keeps the last good snapshot. */
  refresh () {
    if (this.#offline) return Promise.resolve(null)
    if (!this.#refreshing) {
      this.#refreshing = this.#load().finally(() => {
        this.#refreshing = null
      })
    }
    return this.#refreshing
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

  // A token from a snapshot this client has not seen: upstream may hold
  // newer data, so look once, at most once per retry interval and never
  // within the backoff. A token from a snapshot it replaced (older data),
  // or one it already looked for, waits for the time to live like any call.
  #dueForToken (status) {
    if (!this.#snapshot || !status.applied || status.snapshotId === this.#snapshot.id) return false
    if (this.#seenIds.includes(status.snapshotId)) return false
    return this.#now() >= this.#tokenDueAt
  }

  /** Where the client stands: the snapshot's id and age, and the last refresh error. */
  status () {
    const now = this.#now()
    return {
      ready: this.#snapshot !== null,
      offline: this.#offline,
      source: this.#source ? this.#source.describe() : null,
      snapshotId: this.#snapshot ? this.#snapshot.id : null,
      ageMs: this.#snapshot ? now - this.#loadedAt : null,
      checkedAgoMs: this.#snapshot ? now - this.#checkedAt : null,
      lastError: this.#lastError,
      warnings: this.#warnings,
      pinned: this.#pins.status()
    }
  }

  /**
   * A decision token for `flagKeys` and `context` from the current snapshot,
   * to pass downstream; null (with a warning) when there is no snapshot, no
   * signing key, or the context is invalid.
   */
  async decisionToken (context, flagKeys, options = {}) {
    const held = await this.snapshot()
    if (!held) return null
    const snapshot = this.#answering(held, context)
    try {
      return snapshot.decisionToken(context, flagKeys, { signingKey: this.#signingKey, now: this.#now(), ...options })
    } catch (error) {
      this.#logger.warn(`flagcore: no decision token (${error.message})`)
      return null
    }
  }

  /**
   * The Context to evaluate with in a downstream function: `context` with
   * upstream's decisions from `token` (a token or a `baggage` header) when
   * it verifies. When the token comes from a snapshot this client has not
   * seen (neither held nor looked for), the snapshot is refreshed first: at
   * most once per retry interval, and never while a failed source is
   * backing off.
   *
   * From a published source, a token from any snapshot other than the one
   * held then pins the context: its evaluations (every flag, not only the
   * token's), its tokens and its `allFlagsState` answer from exactly the
   * token's snapshot, read once by id and kept (see `options.pinned`),
   * except that a flag the held snapshot has switched off (itself, or
   * through a prerequisite) answers as it does there, and one it lacks is
   * not found, unless the token's snapshot is a newer generation than the
   * held one. `pinnedSnapshotId` says so; when the snapshot cannot be read
   * (it expired, or is larger than the pinned snapshots may hold), or the
   * source failed within the retry interval, the token's own decisions
   * still apply, and `status().pinned` says why. A token that fails
   * verification is ignored with a warning; this never throws.
   */
  async decide (context, token) {
    await this.snapshot()
    const decided = new Context(context, { token, signingKey: this.#signingKey, now: this.#now, maxTtlSeconds: this.#maxTokenTtlSeconds })
    const status = decided.tokenStatus
    if (status.code) {
      this.#logger.warn(`flagcore: ignoring a decision token (${status.code}: ${status.message})`)
      return decided
    }
    if (this.#dueForToken(status)) {
      await this.refresh()
      // Looked for and not there: the source has not caught up, or the token's snapshot is gone.
      if (this.#lastError === null && this.#snapshot.id !== status.snapshotId) this.#remember(status.snapshotId)
    }
    if (this.#pinsTo(status)) {
      const pin = await this.#pins.get(status.snapshotId, this.#source, this.#snapshot.id)
      if (pin !== null) pinTo(decided, pin)
    }
    return decided
  }

  // Whether a verified token's snapshot is one to pin to: another than the
  // held one, from a source that can read it by id, and not while a failed
  // source is backing off (the core's rule: no request waits on it then;
  // one already kept is used all the same).
  #pinsTo (status) {
    return status.applied === true && this.#pins.maxSnapshots > 0 && this.#snapshot !== null &&
      status.snapshotId !== this.#snapshot.id && typeof this.#source.loadPinned === 'function' &&
      (this.#pins.holds(status.snapshotId) || this.#now() >= this.#pinDueAt)
  }

  // The snapshot to answer `context` from when the client holds `held`:
  // for a pinned context, the pinned snapshot under `held`'s kill
  // switches, worked out again only when `held`, or its place among the
  // generations (a rollback publishes it again), changed.
  #answering (held, context) {
    const pin = held !== null && context instanceof Context ? pinOf(context) : null
    if (pin === null) return held
    // A held snapshot no longer current stands nowhere known: the newest.
    const sequence = held === this.#snapshot ? this.#heldSequence : Infinity
    return answering(pin, held, sequence)
  }

  #record (key, detail, context) {
    if (!this.#contextWarned && detail.reason.errorKind === 'USER_NOT_SPECIFIED') {
      this.#contextWarned = true
      this.#logger.warn(invalidContextWarning(key))
    }
    if (this.#trace) {
      const version = () => (this.#snapshot ? this.#answering(this.#snapshot, context).id : null)
      traceEvent(this.#trace, key, detail, context, version)
    }
    this.#metrics.count(key, detail.variationIndex)
  }

  /**
   * Records a measurement of the handler's own (latency, errors, a business
   * counter) for `flush()`, which writes it with the variation of every flag
   * evaluated in this invocation as a dimension. `unit` is one of
   * CloudWatch's: `Milliseconds`, `Count`, ... (default `None`).
   */
  measure (name, value, unit = 'None') {
    this.#metrics.measure(name, value, unit)
  }

  /**
   * Call at the end of a handler: writes this invocation's evaluation counts
   * per flag and variation, and its measurements, as CloudWatch Embedded
   * Metric Format lines (to stdout by default, where Lambda turns them into
   * metrics), then starts counting afresh. Answers the lines.
   */
  flush () {
    const lines = this.#metrics.flush(this.#namespace, this.#functionName, this.#now())
    for (const line of lines) this.#write(line)
    return lines
  }

  /** Every flag's value for a context; `valid` is false when no snapshot is loaded. */
  async allFlagsState (context, options) {
    const snapshot = this.#answering(await this.snapshot(), context)
    if (snapshot) return snapshot.allFlagsState(context, options)
    return new FlagsState({ $flagsState: {}, $valid: false })
  }

  // The variation methods of Snapshot, each answering from the current
  // snapshot once it is fresh, or the default (CLIENT_NOT_READY in details)
  // without one, and each counted for the client's metrics. With no refresh
  // due, the answer is computed at once and the promise is already settled.
  variation (key, context, defaultValue) {
    return this.#answer('variationDetail', key, context, defaultValue, true)
  }

  variationDetail (key, context, defaultValue) {
    return this.#answer('variationDetail', key, context, defaultValue, false)
  }

  boolVariation (key, context, defaultValue) {
    return this.#answer('boolVariationDetail', key, context, defaultValue, true)
  }

  boolVariationDetail (key, context, defaultValue) {
    return this.#answer('boolVariationDetail', key, context, defaultValue, false)
  }

  numberVariation (key, context, defaultValue) {
    return this.#answer('numberVariationDetail', key, context, defaultValue, true)
  }

  numberVariationDetail (key, context, defaultValue) {
    return this.#answer('numberVariationDetail', key, context, defaultValue, false)
  }

  stringVariation (key, context, defaultValue) {
    return this.#answer('stringVariationDetail', key, context, defaultValue, true)
  }

  stringVariationDetail (key, context, defaultValue) {
    return this.#answer('stringVariationDetail', key, context, defaultValue, false)
  }

  jsonVariation (key, context, defaultValue) {
    return this.#answer('jsonVariationDetail', key, context, defaultValue, true)
  }

  jsonVariationDetail (key, context, defaultValue) {
    return this.#answer('jsonVariationDetail', key, context, defaultValue, false)
  }

  // The detail (Snapshot's method `detailed`), or with `valueOnly` its value, in one promise.
  #answer (detailed, key, context, defaultValue, valueOnly) {
    try {
      const snapshot = this.#current()
      if (snapshot !== undefined) {
        const detail = this.#counted(snapshot, detailed, key, context, defaultValue)
        return Promise.resolve(valueOnly ? detail.value : detail)
      }
    } catch (error) {
      return Promise.reject(error)
    }
    return this.snapshot().then((snapshot) => {
      const detail = this.#counted(snapshot, detailed, key, context, defaultValue)
      return valueOnly ? detail.value : detail
    })
  }

  #counted (held, detailed, key, context, defaultValue) {
    const snapshot = this.#answering(held, context)
    const detail = snapshot ? snapshot[detailed](key, context, defaultValue) : notReady(defaultValue)
    this.#record(key, detail, context)
    return detail
  }
}

function invalidContextWarning (key) {
  return `flagcore: flag ${JSON.stringify(key)} answered its default (ERROR/USER_NOT_SPECIFIED): the context is invalid; ` +
    'give it a non-empty "key" (and a "kind" other than "multi", or a multi-context\'s own contexts). ' +
    'This warning is logged once per client.'
}

function notReady (defaultValue) {
  return { value: defaultValue, variationIndex: null, reason: NOT_READY }
}
