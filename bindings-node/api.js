'use strict'
// The flagcore API that the Node and the WASM packages share: Snapshot,
// Context, SnapshotError, FlagsState and FlagClient, built on a `native`
// module that evaluates in the Rust core and answers packed numbers (see
// core/src/host.rs). A context crosses the boundary once per snapshot,
// for the flags a handler asks for (see Snapshot#evaluate); this side builds
// LaunchDarkly's detail objects from values it fetched once per flag. The WASM package's build turns this file into an
// ES module by replacing its last line.

/**
 * @param native the evaluation functions (the N-API module or the WASM one)
 * @param hostSources FlagClient sources beyond `{ url }` that the host offers,
 *   by option name: `make(options, Snapshot)` answers `{ load, describe }`
 * @param hostDefaults what a client falls back on, as functions: `signingKey()`
 *   (Node: FLAGCORE_SIGNING_KEY), `functionName()` for metrics (Node:
 *   AWS_LAMBDA_FUNCTION_NAME), `trace()` for span events (Node:
 *   @opentelemetry/api's `trace`, or null without it)
 */
function createApi (native, hostSources = {}, hostDefaults = {}) {
  // Marks handles made here, so that only they become snapshots.
  const HANDLE = Symbol('flagcore.handle')

  // Value types, as the native module numbers them.
  const ANY = 0
  const BOOL = 1
  const NUMBER = 2
  const STRING = 3

  // The packed answer (see core/src/host.rs).
  const KINDS = ['OFF', 'FALLTHROUGH', 'TARGET_MATCH', 'RULE_MATCH', 'PREREQUISITE_FAILED', 'ERROR']
  const ERROR_KINDS = ['CLIENT_NOT_READY', 'FLAG_NOT_FOUND', 'MALFORMED_FLAG', 'USER_NOT_SPECIFIED', 'WRONG_TYPE', 'EXCEPTION']
  const BIG_SEGMENTS = [undefined, 'HEALTHY', 'STALE', 'STORE_ERROR', 'NOT_CONFIGURED']
  const REASON_UNIT = 2 ** 16
  const POSITION_UNIT = 2 ** 26
  const PROPAGATED_UNIT = 2 ** 46
  const NOT_PREPARED = -2
  // How many (flag, type) pairs a snapshot evaluates at a context's first evaluation.
  const WORKING_SET = 16
  // Where the native side writes a working set's answers.
  const scratch = new Float64Array(WORKING_SET)

  /** A snapshot that could not be read: `code` is stable, `path` points into the input. */
  class SnapshotError extends Error {
    constructor (code, path, message) {
      super(`${code} at ${path}: ${message}`)
      this.name = 'SnapshotError'
      this.code = code
      this.path = path
    }
  }

  function callNative (call) {
    try {
      return call()
    } catch (error) {
      const text = error && error.message
      if (typeof text === 'string' && text.startsWith('flagcore:')) {
        const detail = JSON.parse(text.slice('flagcore:'.length))
        throw new SnapshotError(detail.code, detail.path, detail.message)
      }
      throw error
    }
  }

  function deepFreeze (value) {
    if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
      Object.freeze(value)
      for (const inner of Object.values(value)) deepFreeze(inner)
    }
    return value
  }

  // A context that cannot be serialized (a cycle, a BigInt) is an invalid one:
  // evaluation answers USER_NOT_SPECIFIED, it never throws.
  function contextJson (context) {
    if (context instanceof Context) return context.json
    try {
      return JSON.stringify(context === undefined ? null : context) ?? 'null'
    } catch {
      return 'null'
    }
  }

  /** A decision token that could not be issued. */
  class TokenError extends Error {
    constructor (code, message) {
      super(`${code}: ${message}`)
      this.name = 'TokenError'
      this.code = code
    }
  }

  function keyText (signingKey) {
    return signingKey === undefined || signingKey === null ? undefined : String(signingKey)
  }

  /**
   * A context converted once. Pass it instead of a plain object when a handler
   * evaluates several flags for the same user: it skips serializing the object
   * on every call. Changing the object afterwards does not change the Context.
   *
   * With `{ token, signingKey }` (a decision token from upstream, or a
   * `baggage` header holding one), the flags the token decides answer as
   * upstream did, with `propagated: true` in the reason, until the token
   * expires (checked at every evaluation) and never for a flag this
   * function's snapshot has switched off. `tokenStatus` says whether it was
   * applied, and if not, why (`code`, `message`); a token that fails never
   * throws and never decides anything. `now` is the clock, in milliseconds
   * since the epoch: a function (default `Date.now`), or a number to verify
   * at while evaluations use `Date.now`. `maxTtlSeconds` is the longest
   * lifetime accepted (default 300).
   */
  const NO_TOKEN = Object.freeze({ applied: false })

  class Context {
    #args
    #clock = Date.now
    // The number the native side files the parsed context under (it keeps
    // the last few per thread, and hands out the numbers), so that
    // evaluations pass the number, not the text: 0 until a first evaluation
    // registers it (together with its answers), or `id` or `error` is read.
    #id = 0
    #error = null
    // The answers of one snapshot's working set for this context (see
    // Snapshot#evaluate), and that snapshot.
    #answersOf = null
    #answers = null
    constructor (context, options) {
      this.json = contextJson(context)
      if (options && options.token) {
        if (typeof options.now === 'function') this.#clock = options.now
        const now = typeof options.now === 'number' ? options.now : this.#clock()
        this.#args = [this.json, String(options.token), keyText(options.signingKey), Number(now), Number(options.maxTtlSeconds ?? 0)]
        const answer = native.prepareContextWithToken(0, ...this.#args)
        this.#id = answer.id
        this.#error = answer.context ?? null
        this.tokenStatus = Object.freeze(answer.token)
        // Evaluations pass the wall clock only for a token to expire by.
        this.decides = answer.token.applied === true
      } else {
        this.tokenStatus = NO_TOKEN
        this.decides = false
      }
      Object.freeze(this)
    }

    /** @private The native side's number for this context (registering it first). */
    get id () {
      if (this.#id === 0) this.registered(native.prepareContext(0, this.json))
      return this.#id
    }

    /** Why the context is invalid (evaluations answer defaults with USER_NOT_SPECIFIED), or null. */
    get error () {
      return this.id === 0 ? null : this.#error
    }

    /** @private The number, 0 while the context is not registered. */
    registeredId () {
      return this.#id
    }

    /** @private Takes the number the native side registered this context under: negated when it is invalid. */
    registered (number) {
      this.#id = Math.abs(number)
      this.#error = number < 0 ? native.contextError(this.#id) ?? 'invalid context' : null
    }

    /** LaunchDarkly's canonical key (`feature_flag.context.id` on a span), or null when the context is invalid. */
    get canonicalKey () {
      // The WASM build answers undefined where the native one answers null.
      return native.canonicalKey(this.json) ?? null
    }

    /** @private The time a carried token's expiry is checked at; 0 when it carries none. */
    evaluationTime () {
      return this.decides ? this.#clock() : 0
    }

    /** @private The packed answers `snapshot` computed for this context, or null. */
    answersFrom (snapshot) {
      return this.#answersOf === snapshot ? this.#answers : null
    }

    /** @private Keeps the packed answers `snapshot` computed for this context. */
    keepAnswers (snapshot, answers) {
      this.#answersOf = snapshot
      this.#answers = answers
    }

    /** @private Registers the context again, under its number, after the native side let it go. */
    prepareAgain () {
      // With the same verification time, so the answer cannot change mid-request.
      if (this.#args) native.prepareContextWithToken(this.#id, ...this.#args)
      else this.registered(native.prepareContext(this.#id, this.json))
    }
  }

  // Plain objects, converted once per object: a handler passing one user
  // object to several evaluations pays for one conversion. The last few
  // objects are kept (a WeakMap would cost the garbage collector more than a
  // conversion). Each use first checks that the object still holds, property
  // by property, what was converted (what JSON.stringify reads), so an object
  // changed since converts afresh and never gets a stale answer. Objects that
  // are not plain data (class instances, functions, toJSON, deep or cyclic
  // nesting) convert on every use.
  const RECENT = 4
  const recent = []
  let nextRecent = 0
  const RECORD_DEPTH = 16

  // Appends what `value` holds to `out`; false when it is not plain data.
  function record (value, out, depth) {
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'function' || typeof value === 'bigint' || typeof value === 'symbol') return false
      out.push(value)
      return true
    }
    if (depth > RECORD_DEPTH || value.toJSON !== undefined) return false
    const proto = Object.getPrototypeOf(value)
    if (Array.isArray(value)) {
      if (proto !== Array.prototype) return false
      out.push(value, value.length)
      for (let i = 0; i < value.length; i++) if (!record(value[i], out, depth + 1)) return false
      return true
    }
    if (proto !== Object.prototype && proto !== null) return false
    const keys = Object.keys(value)
    out.push(value, keys.length)
    for (const key of keys) {
      out.push(key)
      if (!record(value[key], out, depth + 1)) return false
    }
    return true
  }

  // Where the record of `value` at `at` ends, or -1 when `value` changed.
  function unchanged (value, rec, at) {
    if (rec[at] !== value) return -1
    if (value === null || typeof value !== 'object') return at + 1
    if (value.toJSON !== undefined) return -1
    if (Array.isArray(value)) {
      if (rec[at + 1] !== value.length) return -1
      at += 2
      for (let i = 0; i < value.length && at >= 0; i++) at = unchanged(value[i], rec, at)
      return at
    }
    const keys = Object.keys(value)
    if (rec[at + 1] !== keys.length) return -1
    at += 2
    for (let i = 0; i < keys.length && at >= 0; i++) {
      const key = keys[i]
      at = rec[at] === key ? unchanged(value[key], rec, at + 1) : -1
    }
    return at
  }

  // The Context a plain object converts to, or null when it is not plain data.
  function plainContext (object) {
    if (object === null || typeof object !== 'object') return null
    // A toJSON on the prototypes changes what every object converts to.
    if (Object.prototype.toJSON !== undefined || Array.prototype.toJSON !== undefined) return null
    let slot = -1
    for (let i = 0; i < recent.length; i++) {
      if (recent[i].object === object) {
        const seen = recent[i]
        if (unchanged(object, seen.rec, 0) === seen.rec.length) return seen.context
        slot = i
        break
      }
    }
    const rec = []
    if (!record(object, rec, 0)) {
      if (slot >= 0) recent[slot] = { object: null, rec: [], context: null }
      return null
    }
    const entry = { object, rec, context: new Context(object) }
    if (slot < 0 && recent.length < RECENT) recent.push(entry)
    else {
      if (slot < 0) slot = nextRecent++ % RECENT
      recent[slot] = entry
    }
    return entry.context
  }

  // Calls `call(id, json, now)` for a context: a prepared one by its number
  // (registered again when the native side let it go, which the call says by
  // answering null), a plain object as JSON text with the number 0.
  function withContext (context, call) {
    if (!(context instanceof Context)) {
      const prepared = plainContext(context)
      if (prepared === null) return call(0, contextJson(context), 0)
      context = prepared
    }
    const answer = call(context.id, context.json, context.evaluationTime())
    if (answer !== null && answer !== undefined) return answer
    context.prepareAgain()
    return call(context.id, context.json, context.evaluationTime())
  }

  /** Per flag, fetched once: values (frozen, shared by every answer) and reason parts. */
  class FlagInfo {
    constructor (info) {
      this.variations = info.variations.map(deepFreeze)
      this.ruleIds = info.ruleIds
      this.prerequisiteKeys = info.prerequisiteKeys
      this.reasons = new Map()
    }

    reason (upper) {
      let reason = this.reasons.get(upper)
      if (reason === undefined) {
        reason = this.#buildReason(upper)
        this.reasons.set(upper, reason)
      }
      return reason
    }

    #buildReason (upper) {
      const propagated = upper >= PROPAGATED_UNIT / REASON_UNIT
      if (propagated) upper -= PROPAGATED_UNIT / REASON_UNIT
      const low = upper % (POSITION_UNIT / REASON_UNIT)
      const position = Math.floor(upper / (POSITION_UNIT / REASON_UNIT))
      const kind = KINDS[low & 7]
      const reason = { kind }
      if (kind === 'RULE_MATCH') {
        reason.ruleIndex = position
        const id = this.ruleIds[position]
        if (id) reason.ruleId = id
      } else if (kind === 'PREREQUISITE_FAILED') {
        reason.prerequisiteKey = this.prerequisiteKeys[position]
      } else if (kind === 'ERROR') {
        reason.errorKind = ERROR_KINDS[(low >> 3) & 7]
      }
      if ((low >> 6) & 1) reason.inExperiment = true
      const big = BIG_SEGMENTS[(low >> 7) & 7]
      if (big) reason.bigSegmentsStatus = big
      if (propagated) reason.propagated = true
      return Object.freeze(reason)
    }
  }

  /** What allFlagsState answers, with the methods of LaunchDarkly's LDFlagsState. */
  class FlagsState {
    #json
    constructor (json) {
      this.#json = json
    }

    get valid () {
      return this.#json.$valid === true
    }

    getFlagValue (key) {
      return this.#json[key]
    }

    getFlagReason (key) {
      const state = this.#json.$flagsState[key]
      return state && state.reason ? state.reason : null
    }

    allValues () {
      const values = {}
      for (const key of Object.keys(this.#json.$flagsState)) values[key] = this.#json[key]
      return values
    }

    toJSON () {
      return this.#json
    }
  }

  /** Flag data parsed once, immutable; evaluate against it as often as you like. */
  class Snapshot {
    #native
    #keys
    #index
    #flags
    // The working set: flag numbers times 8 plus value types, in the order
    // first asked for, and each one's position.
    #working = new Uint32Array(0)
    #slots = new Map()

    /** @private Use Snapshot.fromJson or Snapshot.fromDynamoDbItems. */
    constructor (handle) {
      if (handle === null || typeof handle !== 'object' || handle[HANDLE] === undefined) {
        throw new TypeError('use Snapshot.fromJson() or Snapshot.fromDynamoDbItems()')
      }
      this.#native = handle[HANDLE]
      this.#keys = Object.freeze(native.snapshotFlagKeys(this.#native))
      this.#index = new Map(this.#keys.map((key, i) => [key, i]))
      this.#flags = new Array(this.#keys.length)
    }

    /** Reads a snapshot (polling payload, put event, file data, or DynamoDB items) from JSON text or a Buffer. */
    static fromJson (input, options = {}) {
      if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
        throw new TypeError('Snapshot.fromJson takes a string, a Buffer or a Uint8Array')
      }
      return new Snapshot({ [HANDLE]: callNative(() => native.snapshotFromJson(input, options.prefix)) })
    }

    /** Reads DynamoDB items as the AWS SDK returns them, typed or unmarshalled. */
    static fromDynamoDbItems (items, options = {}) {
      return new Snapshot({ [HANDLE]: callNative(() => native.snapshotFromDynamodbItems(items, options.prefix)) })
    }

    /** The content id: the same flags give the same id from any source. */
    get id () {
      return native.snapshotId(this.#native)
    }

    /** Every flag key, sorted. */
    get flagKeys () {
      return this.#keys
    }

    variation (key, context, defaultValue) {
      return this.#value(key, context, defaultValue, ANY)
    }

    variationDetail (key, context, defaultValue) {
      return this.#detail(key, context, defaultValue, ANY)
    }

    boolVariation (key, context, defaultValue) {
      return this.#value(key, context, defaultValue, BOOL)
    }

    boolVariationDetail (key, context, defaultValue) {
      return this.#detail(key, context, defaultValue, BOOL)
    }

    numberVariation (key, context, defaultValue) {
      return this.#value(key, context, defaultValue, NUMBER)
    }

    numberVariationDetail (key, context, defaultValue) {
      return this.#detail(key, context, defaultValue, NUMBER)
    }

    stringVariation (key, context, defaultValue) {
      return this.#value(key, context, defaultValue, STRING)
    }

    stringVariationDetail (key, context, defaultValue) {
      return this.#detail(key, context, defaultValue, STRING)
    }

    jsonVariation (key, context, defaultValue) {
      return this.#value(key, context, defaultValue, ANY)
    }

    jsonVariationDetail (key, context, defaultValue) {
      return this.#detail(key, context, defaultValue, ANY)
    }

    /** Every flag's value for a context, for bootstrapping client-side SDKs. */
    allFlagsState (context, options = {}) {
      const json = withContext(context, (id, text, now) => native.allFlagsState(
        this.#native,
        id,
        text,
        Boolean(options.clientSideOnly),
        Boolean(options.withReasons),
        Boolean(options.detailsOnlyForTrackedFlags),
        now
      ))
      return new FlagsState(json)
    }

    /**
     * A decision token holding this snapshot's answers for `flagKeys` (at
     * most 128) and `context`, signed with `signingKey` (at least 16 bytes),
     * valid for `ttlSeconds` (more than 0, at most 3600; default 60). Pass it
     * downstream, e.g. as the `flagcore` member of a `baggage` header. A
     * Context carrying a token passes its decisions on, and the new token
     * expires no later than that one. Throws TokenError without a usable key,
     * with an invalid context or time to live, or for too many flags.
     */
    decisionToken (context, flagKeys, options = {}) {
      const keys = [...flagKeys].map(String)
      const now = Number(options.now ?? Date.now())
      const ttl = Number(options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS)
      const answer = withContext(context, (id, text) =>
        native.issueToken(this.#native, id, text, keys, keyText(options.signingKey), now, ttl))
      if (answer.error) throw new TokenError(answer.error.code, answer.error.message)
      return answer.token
    }

    /** The problems of how the snapshot was stored (items without data, no `$inited` marker, other namespaces). */
    sourceProblems () {
      return native.sourceProblems(this.#native)
    }

    /** The problems `flagcore check` lists: [{severity, code, path, message}]. */
    check () {
      return native.check(this.#native)
    }

    // A handler asks for the same few flags on every request: the first
    // evaluation of a context evaluates all of this working set in one
    // crossing, and the context keeps the answers for the others. Answers
    // depend on the snapshot and the context alone, both immutable, except
    // for a context carrying a decision token, which can expire at any
    // call: it crosses every time.
    #evaluate (index, context, type) {
      const prepared = context instanceof Context ? context : plainContext(context)
      if (prepared === null) return native.evaluate(this.#native, index, contextJson(context), type)
      if (prepared.decides) return this.#evaluateOne(index, prepared, type)
      const code = index * 8 + type
      let slot = this.#slots.get(code)
      if (slot === undefined) {
        if (this.#working.length >= WORKING_SET) return this.#evaluateOne(index, prepared, type)
        slot = this.#working.length
        this.#slots.set(code, slot)
        this.#working = Uint32Array.from([...this.#working, code])
      }
      let answers = prepared.answersFrom(this)
      if (answers === null || slot >= answers.length) {
        const working = this.#working
        const id = prepared.registeredId()
        // Not registered yet, or let go since: register it in the same call.
        if (id === 0 || native.evaluateMany(this.#native, id, working, scratch) === NOT_PREPARED) {
          prepared.registered(native.prepareAndEvaluate(this.#native, id, prepared.json, working, scratch))
        }
        // A plain array costs less to make than a typed one.
        answers = new Array(working.length)
        for (let i = 0; i < working.length; i++) answers[i] = scratch[i]
        prepared.keepAnswers(this, answers)
      }
      return answers[slot]
    }

    #evaluateOne (index, prepared, type) {
      const now = prepared.evaluationTime()
      const packed = native.evaluatePrepared(this.#native, index, prepared.id, type, now)
      if (packed !== NOT_PREPARED) return packed
      prepared.prepareAgain()
      return native.evaluatePrepared(this.#native, index, prepared.id, type, now)
    }

    #info (index) {
      return this.#flags[index] ?? (this.#flags[index] = new FlagInfo(native.flagInfo(this.#native, index)))
    }

    #value (key, context, defaultValue, type) {
      const index = this.#index.get(key)
      if (index !== undefined) {
        const packed = this.#evaluate(index, context, type)
        if (packed >= 0) {
          const variation = (packed % REASON_UNIT) - 1
          return variation >= 0 ? this.#info(index).variations[variation] : defaultValue
        }
      }
      return this.#slow(key, context, defaultValue, type).value
    }

    #detail (key, context, defaultValue, type) {
      const index = this.#index.get(key)
      if (index !== undefined) {
        const packed = this.#evaluate(index, context, type)
        if (packed >= 0) {
          const variation = (packed % REASON_UNIT) - 1
          const info = this.#info(index)
          const reason = info.reason(Math.floor(packed / REASON_UNIT))
          return variation >= 0
            ? { value: info.variations[variation], variationIndex: variation, reason }
            : { value: defaultValue, variationIndex: null, reason }
        }
      }
      return this.#slow(key, context, defaultValue, type)
    }

    // Unknown keys, and details too large to pack, come back whole as JSON.
    #slow (key, context, defaultValue, type) {
      const detail = withContext(context, (id, text, now) => native.detailJson(this.#native, String(key), id, text, type, now))
      if (detail.variationIndex === null || detail.variationIndex === undefined) {
        return { value: defaultValue, variationIndex: null, reason: detail.reason }
      }
      return { value: deepFreeze(detail.value), variationIndex: detail.variationIndex, reason: detail.reason }
    }
  }

  const DEFAULT_TTL_SECONDS = 15
  // Counts an evaluation in a client's metrics; a symbol, so that the
  // variation methods defined below the class can reach it.
  const RECORD = Symbol('flagcore.record')
  const CURRENT = Symbol('flagcore.current')
  const DEFAULT_TOKEN_TTL_SECONDS = 60
  const DEFAULT_TIMEOUT_MS = 5000
  // How many snapshot ids a client remembers for `decide`.
  const SEEN_IDS = 16
  const NOT_READY = Object.freeze({ kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' })

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

  function uninitialized (problems) {
    return problems.some((problem) => problem.code === 'STORE_NOT_INITIALIZED')
  }

  function yieldToEventLoop () {
    return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)))
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

  class FlagClient {
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
    #lastError = null
    #warnings = []
    // Snapshot ids this client has replaced, or looked for at a token's
    // request and not found: a token naming one is no reason to reload.
    #seenIds = []
    #refreshing = null
    #maxTokenTtlSeconds
    #signingKey
    #namespace
    #functionName
    #write
    #evaluations = new Map()
    #measurements = []
    #trace

    /**
     * @param {object} options
     * @param {object} [options.source] `{ file }`, `{ url, headers, timeoutMs }` or `{ dynamodb: { table, prefix, client } }`
     * @param {number} [options.ttlSeconds=15] how long a snapshot is used before a call refreshes it; 0 refreshes on every call, a negative value never
     * @param {boolean} [options.offline=false] answer every flag with its default, and touch no source
     * @param {object} [options.logger=console] where refresh failures are reported (`warn`)
     * @param {string} [options.signingKey] the decision tokens' signing key (Node: FLAGCORE_SIGNING_KEY by default)
     * @param {number} [options.maxTokenTtlSeconds=300] the longest lifetime of a decision token `decide` accepts
     * @param {object} [options.metrics] `{ namespace = 'flagcore', functionName, write }` for `flush()`:
     *   the function name defaults to AWS_LAMBDA_FUNCTION_NAME in Node, `write` to console.log
     */
    constructor (options = {}) {
      const metrics = options.metrics ?? {}
      this.#namespace = metrics.namespace ?? 'flagcore'
      this.#functionName = metrics.functionName ?? (hostDefaults.functionName && hostDefaults.functionName()) ?? null
      this.#write = metrics.write ?? ((line) => console.log(line))
      // OpenTelemetry: span events for evaluations, when asked for and when
      // the host has @opentelemetry/api (Node loads it only then).
      this.#trace = options.tracing && hostDefaults.trace ? hostDefaults.trace() : null
      this.#offline = Boolean(options.offline)
      this.#signingKey = keyText(options.signingKey ?? (hostDefaults.signingKey && hostDefaults.signingKey()))
      this.#source = this.#offline ? null : makeSource(options.source)
      const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS
      this.#ttlMs = ttl * 1000
      // After a failure, wait this long before trying the source again, so an
      // outage does not make every call wait for it.
      this.#retryMs = options.retryMs ?? 1000
      this.#schedule()
      this.#logger = options.logger ?? console
      this.#now = options.now ?? Date.now
      this.#maxTokenTtlSeconds = Number(options.maxTokenTtlSeconds ?? 0)
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
    [CURRENT] () {
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
        // A reload with the same content keeps the snapshot in use, and its age.
        if (loaded !== this.#snapshot && (!this.#snapshot || loaded.id !== this.#snapshot.id)) {
          const problems = loaded.sourceProblems()
          // A table that had its $inited marker and lost it is being written
          // anew (recreated, or re-initialized): what it holds now may be a
          // part, so it replaces nothing until the marker is back.
          if (this.#snapshot && uninitialized(problems) && !uninitialized(this.#warnings)) {
            throw new Error('STORE_NOT_INITIALIZED: the table lost its $inited marker; keeping the snapshot read while it had one')
          }
          if (this.#snapshot) this.#remember(this.#snapshot.id)
          this.#snapshot = loaded
          this.#loadedAt = now
          this.#warnings = problems
          for (const problem of this.#warnings) {
            this.#logger.warn(`flagcore: ${this.#source.describe()}: ${problem.code}: ${problem.message}`)
          }
          // Node runs the finalizers that free replaced snapshots (native or
          // WASM memory) only when its event loop turns: let it turn once.
          await yieldToEventLoop()
        }
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
      const [call, token] = native.refreshDeadlines(this.#ttlMs, this.#retryMs, this.#snapshot !== null, this.#checkedAt, this.#failedAt)
      this.#dueAt = call
      this.#tokenDueAt = token
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
        warnings: this.#warnings
      }
    }

    /**
     * A decision token for `flagKeys` and `context` from the current snapshot,
     * to pass downstream; null (with a warning) when there is no snapshot, no
     * signing key, or the context is invalid.
     */
    async decisionToken (context, flagKeys, options = {}) {
      const snapshot = await this.snapshot()
      if (!snapshot) return null
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
     * backing off. A token that fails verification is ignored with a warning;
     * this never throws.
     */
    async decide (context, token) {
      await this.snapshot()
      const decided = new Context(context, { token, signingKey: this.#signingKey, now: this.#now, maxTtlSeconds: this.#maxTokenTtlSeconds })
      const status = decided.tokenStatus
      if (status.code) {
        this.#logger.warn(`flagcore: ignoring a decision token (${status.code}: ${status.message})`)
      } else if (this.#dueForToken(status)) {
        await this.refresh()
        // Looked for and not there: the source has not caught up, or the token's snapshot is gone.
        if (this.#lastError === null && this.#snapshot.id !== status.snapshotId) this.#remember(status.snapshotId)
      }
      return decided
    }

    [RECORD] (key, detail, context) {
      const variationIndex = detail.variationIndex
      if (this.#trace) this.#traceEvent(key, detail, context)
      let perFlag = this.#evaluations.get(key)
      if (!perFlag) this.#evaluations.set(key, (perFlag = new Map()))
      const variation = variationIndex === null || variationIndex === undefined ? 'default' : String(variationIndex)
      perFlag.set(variation, (perFlag.get(variation) ?? 0) + 1)
    }

    #traceEvent (key, detail, context) {
      const span = this.#trace.getActiveSpan()
      if (!span) return
      const attributes = {
        'feature_flag.key': key,
        'feature_flag.provider.name': 'flagcore',
        'feature_flag.result.reason': openFeatureReason(detail.reason).toLowerCase(),
        'feature_flag.context.id': contextId(context)
      }
      if (detail.variationIndex !== null) attributes['feature_flag.result.variant'] = String(detail.variationIndex)
      if (detail.reason.errorKind) attributes['error.type'] = detail.reason.errorKind
      if (this.#snapshot) attributes['feature_flag.version'] = this.#snapshot.id
      span.addEvent('feature_flag.evaluation', attributes)
    }

    /**
     * Records a measurement of the handler's own (latency, errors, a business
     * counter) for `flush()`, which writes it with the variation of every flag
     * evaluated in this invocation as a dimension. `unit` is one of
     * CloudWatch's: `Milliseconds`, `Count`, ... (default `None`).
     */
    measure (name, value, unit = 'None') {
      this.#measurements.push({ name: String(name), value: Number(value), unit: String(unit) })
    }

    /**
     * Call at the end of a handler: writes this invocation's evaluation counts
     * per flag and variation, and its measurements, as CloudWatch Embedded
     * Metric Format lines (to stdout by default, where Lambda turns them into
     * metrics), then starts counting afresh. Answers the lines.
     */
    flush () {
      const evaluations = {}
      for (const [key, perFlag] of this.#evaluations) evaluations[key] = Object.fromEntries(perFlag)
      const lines = native.renderMetrics({ evaluations, measurements: this.#measurements }, this.#namespace, this.#functionName ?? undefined, this.#now())
      this.#evaluations = new Map()
      this.#measurements = []
      for (const line of lines) this.#write(line)
      return lines
    }

    /** Every flag's value for a context; `valid` is false when no snapshot is loaded. */
    async allFlagsState (context, options) {
      const snapshot = await this.snapshot()
      if (snapshot) return snapshot.allFlagsState(context, options)
      return new FlagsState({ $flagsState: {}, $valid: false })
    }
  }

  // OpenFeature's reasons and error codes for flagcore's.
  const OPENFEATURE_ERRORS = {
    CLIENT_NOT_READY: 'PROVIDER_NOT_READY',
    FLAG_NOT_FOUND: 'FLAG_NOT_FOUND',
    MALFORMED_FLAG: 'PARSE_ERROR',
    USER_NOT_SPECIFIED: 'TARGETING_KEY_MISSING',
    WRONG_TYPE: 'TYPE_MISMATCH',
    EXCEPTION: 'GENERAL'
  }

  function openFeatureReason (reason) {
    switch (reason.kind) {
      case 'OFF': return 'DISABLED'
      case 'TARGET_MATCH':
      case 'RULE_MATCH': return reason.inExperiment ? 'SPLIT' : 'TARGETING_MATCH'
      case 'FALLTHROUGH': return reason.inExperiment ? 'SPLIT' : 'DEFAULT'
      case 'ERROR': return 'ERROR'
      default: return 'UNKNOWN'
    }
  }

  /** `feature_flag.context.id`: the core's canonical key, empty for an invalid context. */
  function contextId (context) {
    return native.canonicalKey(context instanceof Context ? context.json : contextJson(context)) ?? ''
  }

  /**
   * An OpenFeature evaluation context as a LaunchDarkly context:
   * `targetingKey` is the key, `kind` the kind (default `user`), every other
   * attribute an attribute; with `kind: 'multi'`, each other attribute is one
   * kind's context, itself with `targetingKey` or `key`.
   */
  function fromOpenFeature (context = {}) {
    const single = ({ targetingKey, ...rest }, kind) => {
      const out = { ...rest, kind: rest.kind ?? kind }
      if (targetingKey !== undefined) out.key = targetingKey
      return out
    }
    if (context.kind === 'multi') {
      const out = { kind: 'multi' }
      for (const [kind, part] of Object.entries(context)) {
        if (kind !== 'kind' && kind !== 'targetingKey' && part && typeof part === 'object') out[kind] = single(part, kind)
      }
      return out
    }
    return single(context, 'user')
  }

  /**
   * An OpenFeature provider (for @openfeature/server-sdk) answering from a
   * FlagClient: `OpenFeature.setProvider(new FlagcoreProvider(client))`.
   * Evaluations count in the client's metrics like any other.
   */
  class FlagcoreProvider {
    constructor (client) {
      if (!(client instanceof FlagClient)) throw new TypeError('FlagcoreProvider takes a FlagClient')
      this.client = client
      this.metadata = Object.freeze({ name: 'flagcore' })
      this.runsOn = 'server'
      this.hooks = []
    }

    async initialize () {
      await this.client.snapshot()
    }

    resolveBooleanEvaluation (flagKey, defaultValue, context) {
      return this.#resolve('boolVariationDetail', flagKey, defaultValue, context)
    }

    resolveStringEvaluation (flagKey, defaultValue, context) {
      return this.#resolve('stringVariationDetail', flagKey, defaultValue, context)
    }

    resolveNumberEvaluation (flagKey, defaultValue, context) {
      return this.#resolve('numberVariationDetail', flagKey, defaultValue, context)
    }

    async resolveObjectEvaluation (flagKey, defaultValue, context) {
      const resolution = await this.#resolve('jsonVariationDetail', flagKey, defaultValue, context)
      if (!resolution.errorCode && (resolution.value === null || typeof resolution.value !== 'object')) {
        return { value: defaultValue, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: `${flagKey} is not a JSON object or array`, flagMetadata: resolution.flagMetadata }
      }
      return resolution
    }

    async #resolve (method, flagKey, defaultValue, context) {
      const detail = await this.client[method](flagKey, fromOpenFeature(context), defaultValue)
      const flagMetadata = {}
      const snapshotId = this.client.status().snapshotId
      if (snapshotId) flagMetadata.snapshotId = snapshotId
      if (detail.variationIndex !== null) flagMetadata.variationIndex = detail.variationIndex
      const resolution = { value: detail.value, reason: openFeatureReason(detail.reason), flagMetadata }
      if (detail.variationIndex !== null) resolution.variant = String(detail.variationIndex)
      if (detail.reason.kind === 'ERROR') {
        resolution.errorCode = OPENFEATURE_ERRORS[detail.reason.errorKind] ?? 'GENERAL'
        resolution.errorMessage = `flagcore: ${detail.reason.errorKind}`
      }
      return resolution
    }
  }

  function notReady (defaultValue) {
    return { value: defaultValue, variationIndex: null, reason: NOT_READY }
  }

  // The variation methods of Snapshot, each answering from the current snapshot
  // once it is fresh, or the default (CLIENT_NOT_READY in details) without one,
  // and each counted for the client's metrics. With no refresh due, the answer
  // is computed at once and the promise is already settled.
  function counted (client, snapshot, detailed, key, context, defaultValue) {
    const detail = snapshot ? snapshot[detailed](key, context, defaultValue) : notReady(defaultValue)
    client[RECORD](key, detail, context)
    return detail
  }
  function answer (client, detailed, key, context, defaultValue) {
    try {
      const snapshot = client[CURRENT]()
      if (snapshot !== undefined) return Promise.resolve(counted(client, snapshot, detailed, key, context, defaultValue))
    } catch (error) {
      return Promise.reject(error)
    }
    return client.snapshot().then((snapshot) => counted(client, snapshot, detailed, key, context, defaultValue))
  }
  for (const method of ['variation', 'boolVariation', 'numberVariation', 'stringVariation', 'jsonVariation']) {
    const detailed = `${method}Detail`
    Object.defineProperty(FlagClient.prototype, method, {
      value (key, context, defaultValue) {
        try {
          const snapshot = this[CURRENT]()
          if (snapshot !== undefined) return Promise.resolve(counted(this, snapshot, detailed, key, context, defaultValue).value)
        } catch (error) {
          return Promise.reject(error)
        }
        return this.snapshot().then((snapshot) => counted(this, snapshot, detailed, key, context, defaultValue).value)
      },
      writable: true,
      configurable: true
    })
    Object.defineProperty(FlagClient.prototype, detailed, {
      value (key, context, defaultValue) {
        return answer(this, detailed, key, context, defaultValue)
      },
      writable: true,
      configurable: true
    })
  }

  return { Snapshot, Context, SnapshotError, TokenError, FlagsState, FlagClient, FlagcoreProvider }
}

module.exports = { createApi }
