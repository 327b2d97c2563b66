// Snapshots: flag data parsed once by the engine, and LaunchDarkly's
// evaluation methods over it. The engine answers packed numbers (see
// js-glue/src/answer.rs and core/src/packed.rs), from which this side builds LaunchDarkly's detail
// objects with values it fetched once per flag.

import { engine } from './engine.js'
import { Context, contextJson, keyText, plainContext, withContext } from './context.js'

// What only this module passes to Snapshot's constructor with a handle.
const OWN = Object.freeze({})

// Value types, as the engine numbers them.
const ANY = 0
const BOOL = 1
const NUMBER = 2
const STRING = 3

// The packed answer (see core/src/packed.rs).
const KINDS = ['OFF', 'FALLTHROUGH', 'TARGET_MATCH', 'RULE_MATCH', 'PREREQUISITE_FAILED', 'ERROR']
const ERROR_KINDS = ['CLIENT_NOT_READY', 'FLAG_NOT_FOUND', 'MALFORMED_FLAG', 'USER_NOT_SPECIFIED', 'WRONG_TYPE', 'EXCEPTION']
const BIG_SEGMENTS = [undefined, 'HEALTHY', 'STALE', 'STORE_ERROR', 'NOT_CONFIGURED']
const REASON_UNIT = 2 ** 16
const POSITION_UNIT = 2 ** 26
const PROPAGATED_UNIT = 2 ** 46
const NOT_PREPARED = -2
// How many (flag, type) pairs a snapshot evaluates at a context's first evaluation.
const WORKING_SET = 16
// What crosses for a working set: its codes go in, and the engine
// writes each one's answer in its place.
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

function callEngine (call) {
  try {
    return call()
  } catch (error) {
    const text = error && error.message
    if (typeof text === 'string' && text.startsWith('flagcore-edit:')) {
      const detail = JSON.parse(text.slice('flagcore-edit:'.length))
      throw new EditError(detail.code, detail.message)
    }
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

/** A decision token that could not be issued. */
class TokenError extends Error {
  constructor (code, message) {
    super(`${code}: ${message}`)
    this.name = 'TokenError'
    this.code = code
  }
}

/** An edit that could not be made (`snapshot.edit`): `code` is stable. */
class EditError extends Error {
  constructor (code, message) {
    super(`${code}: ${message}`)
    this.name = 'EditError'
    this.code = code
  }
}

const DEFAULT_TOKEN_TTL_SECONDS = 60

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
  #handle
  #keys
  #index
  #flags
  // The working set: flag numbers times 8 plus value types, in the order
  // first asked for, and each one's position.
  #working = []
  #slots = new Map()

  /** @private Use Snapshot.fromJson or Snapshot.fromDynamoDbItems. */
  constructor (own, handle) {
    if (own !== OWN) throw new TypeError('use Snapshot.fromJson() or Snapshot.fromDynamoDbItems()')
    this.#handle = handle
    this.#keys = Object.freeze(engine.snapshotFlagKeys(this.#handle))
    this.#index = new Map(this.#keys.map((key, i) => [key, i]))
    this.#flags = new Array(this.#keys.length)
  }

  /** Reads a snapshot (polling payload, put event, file data, or DynamoDB items) from JSON text or a Buffer. */
  static fromJson (input, options = {}) {
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
      throw new TypeError('Snapshot.fromJson takes a string, a Buffer or a Uint8Array')
    }
    return new Snapshot(OWN, callEngine(() => engine.snapshotFromJson(input, options.prefix)))
  }

  /**
   * Reads DynamoDB items as the AWS SDK returns them, typed or unmarshalled.
   * They cross to the engine as JSON text, as a snapshot does, so they meet
   * the same bounds: items that are not JSON data (nested deeper than 127
   * levels, cyclic, or of values JSON has no form for) throw SnapshotError
   * SNAPSHOT_INVALID_JSON, and nothing walks them recursively where a deep
   * value could overflow a stack.
   */
  static fromDynamoDbItems (items, options = {}) {
    let text
    try {
      text = JSON.stringify(items)
    } catch (error) {
      throw new SnapshotError('SNAPSHOT_INVALID_JSON', '$', `DynamoDB items must be JSON data, at most 127 levels deep and not cyclic (${error && error.message})`)
    }
    if (!Array.isArray(items)) throw new SnapshotError('SNAPSHOT_INVALID_FIELD', '$', 'DynamoDB items must be an array')
    return new Snapshot(OWN, callEngine(() => engine.snapshotFromJson(text, options.prefix)))
  }

  /**
   * Reads a snapshot from flagcore's published layout: the head's JSON
   * text, and its chunks' plain (decompressed) bytes in the head's order.
   * Give the chunks before the first one that could not be found: the
   * SnapshotError then names it (PUBLISHED_CHUNK_MISSING). A chunk that does
   * not match the head is PUBLISHED_CHUNK_CORRUPT; nothing is half-loaded.
   */
  static fromPublished (head, chunks) {
    return new Snapshot(OWN, callEngine(() => engine.snapshotFromPublished(head, [...chunks])))
  }

  /** A published snapshot's head, checked: `{ format, id, size, hash, publishedAt, sequence, source?, chunks: [{ name, hash, size }] }`. */
  static publishedHead (text) {
    return JSON.parse(callEngine(() => engine.publishedHead(text)))
  }

  /** Where the generation of snapshot `id` keeps its own head (`snapshots/<id>/head.json`). */
  static publishedGenerationHead (id) {
    return callEngine(() => engine.publishedGenerationHead(String(id)))
  }

  /**
   * What a request pinned to `pinned` (a decision token's snapshot, whose
   * head's sequence is `pinnedSequence`) answers from in a function
   * holding `held` (whose latest head's sequence is `heldSequence`):
   * `pinned` itself when it is the newer, or else its flags under `held`'s
   * kill switches (a flag `held` switched off, itself or through a
   * prerequisite, answers as in `held`; one it lacks is not found),
   * keeping `pinned`'s id. `size` is the pinned snapshot's published size
   * in bytes.
   */
  static pinned (pinned, pinnedSequence, held, heldSequence, size = 0) {
    const composite = callEngine(() => engine.snapshotPinned(pinned.#handle, Number(pinnedSequence), held.#handle, Number(heldSequence), Number(size)))
    return composite == null ? pinned : new Snapshot(OWN, composite)
  }

  /**
   * This snapshot laid out for publishing: `{ head, chunks }`, the head's
   * JSON text and the chunks' plain bytes. Store each chunk (gzip) under
   * the name the head gives it, then the head.
   */
  publish ({ now = Date.now() } = {}) {
    // The edge reads the layout and never writes it: the WASM module leaves
    // the writer out, for its size budget.
    if (typeof engine.snapshotPublish !== 'function') throw new Error('publishing needs the native engine (the flagcore package on Linux x64 or arm64)')
    return callEngine(() => engine.snapshotPublish(this.#handle, Number(now)))
  }

  /**
   * A new snapshot: this one with `change` made, named as the `flagcore
   * flag` commands name it (`{ rollout: 'canary', shares: '10%' }`, ...:
   * see the typings). Throws EditError; this snapshot never changes.
   * Native engine only: the WASM module has no room for the edits.
   */
  edit (change) {
    if (typeof engine.editSnapshot !== 'function') throw new Error('editing flags needs the native engine (the flagcore package on Linux x64 or arm64)')
    if (change === null || typeof change !== 'object') throw new TypeError('snapshot.edit takes a change, an object like { on: \'canary\' }')
    return new Snapshot(OWN, callEngine(() => engine.editSnapshot(this.#handle, JSON.stringify(change))))
  }

  /**
   * @private What a publisher writes to replace the head it read
   * (`previous`, its text or null) with this snapshot: the core's plan
   * (see published.js, `flagcore publish`). Native engine only.
   */
  publishPlan (previous, { now = Date.now(), force = false } = {}) {
    if (typeof engine.snapshotPublishPlan !== 'function') throw new Error('publishing needs the native engine (the flagcore package on Linux x64 or arm64)')
    return callEngine(() => engine.snapshotPublishPlan(this.#handle, previous ?? null, Number(now), Boolean(force)))
  }

  /** The content id: the same flags give the same id from any source. */
  get id () {
    return engine.snapshotId(this.#handle)
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
    const json = withContext(context, (id, text, now) => engine.allFlagsState(
      this.#handle,
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
      engine.issueToken(this.#handle, id, text, keys, keyText(options.signingKey), now, ttl))
    if (answer.error) throw new TokenError(answer.error.code, answer.error.message)
    return answer.token
  }

  /** The problems of how the snapshot was stored (items without data, no `$inited` marker, other namespaces). */
  sourceProblems () {
    return engine.sourceProblems(this.#handle)
  }

  /** The problems `flagcore check` lists: [{severity, code, path, message}]. */
  check () {
    return engine.check(this.#handle)
  }

  // A handler asks for the same few flags on every request: the first
  // evaluation of a context evaluates all of this working set in one
  // crossing, and the context keeps the answers for the others. Answers
  // depend on the snapshot and the context alone, both immutable, except
  // for a context carrying a decision token, which can expire at any
  // call: it crosses every time.
  #evaluate (index, context, type) {
    const prepared = context instanceof Context ? context : plainContext(context)
    if (prepared === null) return engine.evaluate(this.#handle, index, contextJson(context), type)
    if (prepared.decides) return this.#evaluateOne(index, prepared, type)
    const code = index * 8 + type
    let slot = this.#slots.get(code)
    if (slot === undefined) {
      if (this.#working.length >= WORKING_SET) return this.#evaluateOne(index, prepared, type)
      slot = this.#working.length
      this.#slots.set(code, slot)
      this.#working.push(code)
    }
    let answers = prepared.answersFrom(this)
    if (answers === null || slot >= answers.length) {
      const working = this.#working
      const count = working.length
      const id = prepared.registeredId()
      for (let i = 0; i < count; i++) scratch[i] = working[i]
      // Not registered yet, or let go since (the codes are then left as
      // they were): register it in the same call.
      if (id === 0 || engine.evaluateMany(this.#handle, id, count, scratch) === NOT_PREPARED) {
        prepared.registered(engine.prepareAndEvaluate(this.#handle, id, prepared.json, count, scratch))
      }
      // A plain array costs less to make than a typed one.
      answers = new Array(count)
      for (let i = 0; i < count; i++) answers[i] = scratch[i]
      prepared.keepAnswers(this, answers)
    }
    return answers[slot]
  }

  #evaluateOne (index, prepared, type) {
    const now = prepared.evaluationTime()
    const packed = engine.evaluatePrepared(this.#handle, index, prepared.id, type, now)
    if (packed !== NOT_PREPARED) return packed
    prepared.prepareAgain()
    return engine.evaluatePrepared(this.#handle, index, prepared.id, type, now)
  }

  #info (index) {
    return this.#flags[index] ?? (this.#flags[index] = new FlagInfo(engine.flagInfo(this.#handle, index)))
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
    const detail = withContext(context, (id, text, now) => engine.detailJson(this.#handle, String(key), id, text, type, now))
    if (detail.variationIndex === null || detail.variationIndex === undefined) {
      return { value: defaultValue, variationIndex: null, reason: detail.reason }
    }
    return { value: deepFreeze(detail.value), variationIndex: detail.variationIndex, reason: detail.reason }
  }
}

export { Snapshot, SnapshotError, TokenError, EditError, FlagsState, deepFreeze }
