// FlagClient: the evaluation surface over a snapshot from a source, and
// decision tokens for downstream functions. The snapshot is kept fresh by
// refresh.js (the core's rule, at calls, never in the background); the
// snapshots pinned requests answer from are pins.js; span events are
// tracing.js; counts and measurements are metrics.js. The Python package's
// _client.py does the same.

// What a client falls back on is the host's (see engine.js): `signingKey()`,
// `functionName()` for metrics, `trace()` for span events (null without
// OpenTelemetry).

import { host, limits } from './engine.js'
import { Context, keyText, pinOf, pinTo } from './context.js'
import { FlagsState, Snapshot } from './snapshot.js'
import { httpStore, publishedSource } from './published.js'
import { urlSource } from './sources.js'
import { Metrics } from './metrics.js'
import { Pins, answering } from './pins.js'
import { Refreshing } from './refresh.js'
import { traceEvent } from './tracing.js'

const NOT_READY = Object.freeze({ kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' })

export class FlagClient {
  #refreshing
  #logger
  #now
  // Whether an invalid context was reported: once per client, not per call.
  #contextWarned = false
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
    this.#signingKey = keyText(options.signingKey ?? (host.defaults.signingKey && host.defaults.signingKey()))
    const source = options.offline ? null : makeSource(options.source)
    // After a failure, wait this long before trying the source again, so an
    // outage does not make every call wait for it.
    const retryMs = options.retryMs ?? 1000
    this.#logger = options.logger ?? console
    this.#now = options.now ?? Date.now
    this.#refreshing = new Refreshing(source, options.ttlSeconds, retryMs, this.#logger, this.#now)
    this.#maxTokenTtlSeconds = Number(options.maxTokenTtlSeconds ?? 0)
    this.#pins = new Pins(options.pinned ?? {}, { retryMs, now: this.#now, logger: this.#logger })
  }

  /** The snapshot to answer from, refreshed first when its time to live has passed; null when none could be loaded. */
  async snapshot () {
    return this.#refreshing.snapshot()
  }

  /** Loads the source now. Concurrent callers share one load; a failure keeps the last good snapshot. */
  refresh () {
    return this.#refreshing.refresh()
  }

  /** Where the client stands: the snapshot's id and age, and the last refresh error. */
  status () {
    return { ...this.#refreshing.status(), pinned: this.#pins.status() }
  }

  /**
   * A decision token for `flagKeys` and `context`, to pass downstream; null
   * (with a warning) when there is no snapshot, no signing key, or the
   * context is invalid. It comes from `options.snapshot` when given (the
   * snapshot the handler evaluated with, so that the token carries the
   * answers the handler gave), else from the current snapshot, which a
   * refresh may have replaced since the handler evaluated.
   */
  async decisionToken (context, flagKeys, options = {}) {
    const { snapshot: given, ...rest } = options
    if (given != null && !(given instanceof Snapshot)) throw new TypeError('flagcore: decisionToken\'s snapshot option takes the Snapshot the handler evaluated with (from flags.snapshot())')
    const held = given ?? await this.snapshot()
    if (!held) return null
    const snapshot = this.#answering(held, context)
    try {
      return snapshot.decisionToken(context, flagKeys, { signingKey: this.#signingKey, now: this.#now(), ...rest })
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
    const refreshing = this.#refreshing.refreshForToken(status)
    if (refreshing !== null) await refreshing
    if (this.#pinsTo(status)) {
      const pin = await this.#pins.get(status.snapshotId, this.#refreshing.source, this.#refreshing.held.id)
      if (pin !== null) pinTo(decided, pin)
    }
    return decided
  }

  // Whether a verified token's snapshot is one to pin to: another than the
  // held one, from a source that can read it by id, and not while a failed
  // source is backing off (the core's rule: no request waits on it then;
  // one already kept is used all the same).
  #pinsTo (status) {
    const held = this.#refreshing.held
    return status.applied === true && this.#pins.maxSnapshots > 0 && held !== null &&
      status.snapshotId !== held.id && typeof this.#refreshing.source.loadPinned === 'function' &&
      (this.#pins.holds(status.snapshotId) || this.#refreshing.pinDue())
  }

  // The snapshot to answer `context` from when the client holds `held`:
  // for a pinned context, the pinned snapshot under `held`'s kill
  // switches, worked out again only when `held`, or its place among the
  // generations (a rollback publishes it again), changed.
  #answering (held, context) {
    const pin = held !== null && context instanceof Context ? pinOf(context) : null
    if (pin === null) return held
    // A held snapshot no longer current stands nowhere known: the newest.
    const sequence = held === this.#refreshing.held ? this.#refreshing.heldSequence : Infinity
    return answering(pin, held, sequence)
  }

  #record (key, detail, context, metrics) {
    if (!this.#contextWarned && detail.reason.errorKind === 'USER_NOT_SPECIFIED') {
      this.#contextWarned = true
      this.#logger.warn(invalidContextWarning(key))
    }
    if (this.#trace) {
      const version = () => {
        const held = this.#refreshing.held
        return held ? this.#answering(held, context).id : null
      }
      traceEvent(this.#trace, key, detail, context, version)
    }
    metrics.count(key, detail.variationIndex)
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
    return this.#flush(this.#metrics)
  }

  #flush (metrics) {
    const lines = metrics.flush(this.#namespace, this.#functionName, this.#now())
    for (const line of lines) this.#write(line)
    return lines
  }

  /**
   * A scope for one request, where one client serves many at once (a
   * Worker's isolate, a Node server): the variation methods, `measure()`
   * and `flush()` of the client, counting into the scope alone, so that its
   * measurements carry the variations this request was served, never
   * another's. A Lambda handler (one invocation at a time) needs none.
   */
  scope () {
    const metrics = new Metrics()
    const scope = { measure: (name, value, unit = 'None') => metrics.measure(name, value, unit), flush: () => this.#flush(metrics) }
    for (const [method, detailed, valueOnly] of ANSWERS) {
      scope[method] = (key, context, defaultValue) => FlagClient.#answer(this, detailed, key, context, defaultValue, valueOnly, metrics)
    }
    return Object.freeze(scope)
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
    return FlagClient.#answer(this, 'variationDetail', key, context, defaultValue, true)
  }

  variationDetail (key, context, defaultValue) {
    return FlagClient.#answer(this, 'variationDetail', key, context, defaultValue, false)
  }

  boolVariation (key, context, defaultValue) {
    return FlagClient.#answer(this, 'boolVariationDetail', key, context, defaultValue, true)
  }

  boolVariationDetail (key, context, defaultValue) {
    return FlagClient.#answer(this, 'boolVariationDetail', key, context, defaultValue, false)
  }

  numberVariation (key, context, defaultValue) {
    return FlagClient.#answer(this, 'numberVariationDetail', key, context, defaultValue, true)
  }

  numberVariationDetail (key, context, defaultValue) {
    return FlagClient.#answer(this, 'numberVariationDetail', key, context, defaultValue, false)
  }

  stringVariation (key, context, defaultValue) {
    return FlagClient.#answer(this, 'stringVariationDetail', key, context, defaultValue, true)
  }

  stringVariationDetail (key, context, defaultValue) {
    return FlagClient.#answer(this, 'stringVariationDetail', key, context, defaultValue, false)
  }

  jsonVariation (key, context, defaultValue) {
    return FlagClient.#answer(this, 'jsonVariationDetail', key, context, defaultValue, true)
  }

  jsonVariationDetail (key, context, defaultValue) {
    return FlagClient.#answer(this, 'jsonVariationDetail', key, context, defaultValue, false)
  }

  // The detail (Snapshot's method `detailed`), or with `valueOnly` its
  // value, in one promise, which rejects when anything throws (a method
  // called on something other than a client among them).
  static #answer (client, detailed, key, context, defaultValue, valueOnly, metrics = client.#metrics) {
    try {
      const snapshot = client.#refreshing.current()
      if (snapshot !== undefined) {
        const detail = client.#counted(snapshot, detailed, key, context, defaultValue, metrics)
        return Promise.resolve(valueOnly ? detail.value : detail)
      }
    } catch (error) {
      return Promise.reject(error)
    }
    return client.snapshot().then((snapshot) => {
      const detail = client.#counted(snapshot, detailed, key, context, defaultValue, metrics)
      return valueOnly ? detail.value : detail
    })
  }

  #counted (held, detailed, key, context, defaultValue, metrics) {
    const snapshot = this.#answering(held, context)
    const detail = snapshot ? snapshot[detailed](key, context, defaultValue) : notReady(defaultValue)
    this.#record(key, detail, context, metrics)
    return detail
  }
}

// The variation methods a scope has, as the client's: [name, the
// Snapshot's method, whether it answers the value alone].
const ANSWERS = ['variation', 'boolVariation', 'numberVariation', 'stringVariation', 'jsonVariation'].flatMap((name) => {
  const detailed = name === 'variation' ? 'variationDetail' : `${name}Detail`
  return [[name, detailed, true], [`${name}Detail`, detailed, false]]
})

function invalidContextWarning (key) {
  return `flagcore: flag ${JSON.stringify(key)} answered its default (ERROR/USER_NOT_SPECIFIED): the context is invalid; ` +
    'give it a non-empty "key" (and a "kind" other than "multi", or a multi-context\'s own contexts). ' +
    'This warning is logged once per client.'
}

function notReady (defaultValue) {
  return { value: defaultValue, variationIndex: null, reason: NOT_READY }
}

/** The source `FlagClient`'s option `source` names. */
function makeSource (source) {
  const kinds = ['url', 'published', ...Object.keys(host.sources).filter((k) => k !== 'published')]
  const needs = `FlagClient needs a source: ${kinds.map((k) => `{ ${k} }`).join(', ')} or { load, describe }`
  if (!source || typeof source !== 'object') throw new TypeError(needs)
  if (typeof source.load === 'function') return source
  if (source.url) return urlSource(source)
  if (source.published) {
    const options = source.published
    const store = options.store ?? (options.url ? httpStore(options) : host.sources.published && host.sources.published(options, limits))
    if (!store) throw new TypeError(`FlagClient's published source needs { url }, { store }${host.sources.published ? `, ${host.sources.published.accepts}` : ''}`)
    return publishedSource(store, options)
  }
  for (const [name, make] of Object.entries(host.sources)) {
    if (name === 'published') continue
    if (source[name]) {
      const made = make(source[name], Snapshot, limits)
      if (!made) throw new TypeError(`FlagClient's { ${name} } source gave no source`)
      return made
    }
  }
  throw new TypeError(needs)
}
