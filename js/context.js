// Evaluation contexts, as the engine's context cache holds them (see
// js-glue/src/cache.rs): a Context registers its JSON text once and then crosses
// as a number. Plain objects are converted once per object (see plainContext).

import { engine } from './engine.js'

// Contexts of every copy of this API carry this mark, so that a copy given a
// Context of another (each package bundles its own copy, and both may load
// in one process) makes it its own instead of reading its fields as a
// context: the one protocol between copies.
const BRAND = Symbol.for('flagcore.context')

/** What a Context of another copy of the API says of itself, or null. */
function foreignContext (value) {
  if (value === null || typeof value !== 'object' || typeof value[BRAND] !== 'function') return null
  return value[BRAND]()
}

// A context that cannot be serialized (a cycle, a BigInt) is an invalid one:
// evaluation answers USER_NOT_SPECIFIED, it never throws.
function contextJson (context) {
  if (context instanceof Context) return context.json
  const foreign = foreignContext(context)
  if (foreign !== null) return foreign.json
  try {
    return JSON.stringify(context === undefined ? null : context) ?? 'null'
  } catch {
    return 'null'
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
// What FlagClient#decide pinned a Context's evaluations to (see client.js),
// read and set through these two, for client.js alone.
let pinOf, pinTo

class Context {
  // Private, with getters: nothing can change a Context after it is made.
  #json
  #tokenStatus = NO_TOKEN
  #decides = false
  #args
  #clock = Date.now
  // The number the engine files the parsed context under (it keeps
  // the last few per thread, and hands out the numbers), so that
  // evaluations pass the number, not the text: 0 until a first evaluation
  // registers it (together with its answers), or `id` or `error` is read.
  #id = 0
  #error = null
  // The answers of one snapshot's working set for this context (see
  // Snapshot#evaluate), and that snapshot.
  #answersOf = null
  #answers = null
  #pin = null
  constructor (context, options) {
    const foreign = foreignContext(context)
    this.#json = foreign !== null ? foreign.json : contextJson(context)
    if (options && options.token) {
      if (typeof options.now === 'function') this.#clock = options.now
      const now = typeof options.now === 'number' ? options.now : this.#clock()
      this.#withToken([this.#json, String(options.token), keyText(options.signingKey), Number(now), Number(options.maxTtlSeconds ?? 0)])
    } else if (foreign !== null && foreign.args) {
      // A Context of another copy of the API, with its decision token: verified
      // again here, at the time it was verified there, on the same clock.
      this.#clock = foreign.clock
      this.#withToken([this.#json, ...foreign.args.slice(1)])
    }
  }

  #withToken (args) {
    this.#args = args
    const answer = engine.prepareContextWithToken(0, ...args)
    this.#id = answer.id
    this.#error = answer.context ?? null
    this.#tokenStatus = Object.freeze(answer.token)
    // Evaluations pass the wall clock only for a token to expire by.
    this.#decides = answer.token.applied === true
  }

  /** The context as JSON text, as it crosses to the engine. */
  get json () {
    return this.#json
  }

  /** Whether a decision token was applied, and if not, why. */
  get tokenStatus () {
    return this.#tokenStatus
  }

  /** Whether a token it carries may decide flags (until it expires). */
  get decides () {
    return this.#decides
  }

  /**
   * @private What another copy of the API (the other package, another
   * module registry) needs to make this context its own: the JSON text,
   * and the decision token's arguments and clock.
   */
  [BRAND] () {
    return { json: this.#json, args: this.#args, clock: this.#clock }
  }

  /**
   * The id of the snapshot that `FlagClient#decide` pinned this context's
   * evaluations to (its decision token's, read from the published layout),
   * or null: a client then answers every flag for it from that snapshot,
   * under the kill switches of its own.
   */
  get pinnedSnapshotId () {
    return this.#pin === null ? null : this.#pin.id
  }

  static {
    pinOf = (context) => context.#pin
    // Pins it, once.
    pinTo = (context, pin) => {
      if (context.#pin === null) context.#pin = pin
    }
  }

  /** @private The engine's number for this context (registering it first). */
  get id () {
    if (this.#id === 0) this.registered(engine.prepareContext(0, this.json))
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

  /** @private Takes the number the engine registered this context under: negated when it is invalid. */
  registered (number) {
    this.#id = Math.abs(number)
    this.#error = number < 0 ? engine.contextError(this.#id) ?? 'invalid context' : null
  }

  /** LaunchDarkly's canonical key (`feature_flag.context.id` on a span), or null when the context is invalid. */
  get canonicalKey () {
    // The WASM build answers undefined where the native one answers null.
    return engine.canonicalKey(this.json) ?? null
  }

  /** @private The time a carried token's expiry is checked at; 0 when it carries none. */
  evaluationTime () {
    return this.#decides ? this.#clock() : 0
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

  /** @private Registers the context again, under its number, after the engine let it go. */
  prepareAgain () {
    // With the same verification time, so the answer cannot change mid-request.
    if (this.#args) engine.prepareContextWithToken(this.#id, ...this.#args)
    else this.registered(engine.prepareContext(this.#id, this.json))
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
      // A Context of another copy of the API cannot change.
      if (seen.rec === null || unchanged(object, seen.rec, 0) === seen.rec.length) return seen.context
      slot = i
      break
    }
  }
  const rec = foreignContext(object) === null ? [] : null
  if (rec !== null && !record(object, rec, 0)) {
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
// (registered again when the engine let it go, which the call says by
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

export { Context, contextJson, keyText, pinOf, pinTo, plainContext, withContext }
