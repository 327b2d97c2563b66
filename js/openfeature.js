// OpenFeature: the provider over a FlagClient, how LaunchDarkly's reasons map
// to OpenFeature's (pinned by tests/vectors/openfeature), and the context id
// spans carry.

import { engine } from './engine.js'
import { contextJson } from './context.js'

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
  return engine.canonicalKey(contextJson(context)) ?? ''
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
    // Any FlagClient, of this copy of the API or another.
    if (!client || typeof client.status !== 'function' || typeof client.jsonVariationDetail !== 'function') {
      throw new TypeError('FlagcoreProvider takes a FlagClient')
    }
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

export { FlagcoreProvider, openFeatureReason, contextId, fromOpenFeature }
