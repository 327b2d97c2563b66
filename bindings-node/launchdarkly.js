'use strict'
// LaunchDarkly's server-side polling API, read by one sync function instead
// of the Relay Proxy (sync.js): `GET {baseUri}/sdk/latest-all` with the SDK
// key, revalidated with the last ETag, so that an unchanged environment
// costs one small answer and nothing is written. What each answer means,
// how long to wait before asking again and whether a webhook's signature
// holds are the core's (core/src/launchdarkly.rs, pinned by
// tests/vectors/launchdarkly); this file sends the requests.

const { bodyUpTo } = require('./dist/api.cjs')
const { version } = require('./package.json')

const DEFAULT_BASE_URI = 'https://sdk.launchdarkly.com'
const DEFAULT_TIMEOUT_MS = 10000

// The rules are the native engine's: a sync publishes, which only it does.
function core () {
  try {
    return require('./native.js')
  } catch (error) {
    throw new Error(`flagcore/sync needs the native engine (the flagcore package on Linux x64 or arm64): ${String(error.message).split('\n')[0]}`, { cause: error })
  }
}

/** A poll that stopped: LaunchDarkly refused it, its payload does not read, or it kept failing. */
class LaunchDarklyError extends Error {
  constructor (code, message, options) {
    super(`${code}: ${message}`, options)
    this.name = 'LaunchDarklyError'
    this.code = code
  }
}

/**
 * A reader of the SDK key's environment, `{ describe, poll }`.
 * `poll(etag)` makes one conditional request (and its retries: `429`,
 * `5xx`, a timeout, a connection that failed or broke off mid-body, each
 * after a backoff with jitter, at most four requests in all) and answers
 * `{ unchanged: true }` or `{ snapshot, etag }`; it throws
 * LaunchDarklyError when LaunchDarkly refuses the key or the URL (no
 * retry), when the payload is over the snapshot bound or does not read as a
 * snapshot, and when it gives up. No message holds the SDK key.
 */
function launchDarklyReader ({ sdkKey, baseUri = DEFAULT_BASE_URI, filter, timeoutMs = DEFAULT_TIMEOUT_MS, Snapshot, limits, fetch = globalThis.fetch, random = Math.random, sleep = defaultSleep }) {
  if (!sdkKey) throw new TypeError('flagcore/sync needs LaunchDarkly\'s server-side SDK key: set LAUNCHDARKLY_SDK_KEY (or LAUNCHDARKLY_SDK_KEY_SECRET_ARN)')
  // A key with spaces or line breaks (a secret stored as JSON, a pasted
  // line) would fail in fetch, whose message shows the header's value.
  if (!/^[\x21-\x7e]+$/.test(String(sdkKey))) {
    throw new TypeError('flagcore/sync: the SDK key holds spaces, line breaks or other characters no SDK key has: store the key alone, as plain text')
  }
  const rules = core()
  const url = rules.launchDarklyPollUrl(baseUri, filter || null)
  const where = `LaunchDarkly at ${new URL(url).origin}`
  const headers = { authorization: String(sdkKey), 'user-agent': `flagcore/${version}`, accept: 'application/json' }

  async function request (etag) {
    // A redirect is not followed: the key goes to the URI given, and no other.
    const response = await fetch(url, { headers: etag ? { ...headers, 'if-none-match': etag } : headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
    const status = rules.launchDarklyPollStatus(response.status)
    if (status.kind !== 'changed') {
      if (response.body) await response.body.cancel().catch(() => {})
      if (status.kind === 'unchanged') return { unchanged: true }
      if (status.kind === 'retry') return { failed: `answered ${response.status}` }
      throw new LaunchDarklyError(status.code, `${where} answered ${response.status}: ${status.message}`)
    }
    const body = await bodyUpTo(response, limits.snapshotBytes)
    if (body === null) {
      throw new LaunchDarklyError('LAUNCHDARKLY_TOO_LARGE', `${where} answered more than the ${limits.snapshotBytes} bytes a snapshot holds; nothing was published`)
    }
    let snapshot
    try {
      snapshot = Snapshot.fromJson(body)
    } catch (error) {
      throw new LaunchDarklyError('LAUNCHDARKLY_PAYLOAD_INVALID', `${where} answered a payload that does not read as flags and segments (${error.message}); nothing was published`, { cause: error })
    }
    return { snapshot, etag: response.headers.get('etag') }
  }

  return {
    describe: () => where,
    async poll (etag = null) {
      for (let failures = 1; ; failures++) {
        let answer
        try {
          answer = await request(etag)
        } catch (error) {
          if (error instanceof LaunchDarklyError) throw error
          // Unreachable, too slow, or a body cut off before its end. Whatever
          // a message holds, the key is not shown.
          const text = error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(error.cause?.message ?? error.message)
          answer = { failed: text.split(String(sdkKey)).join('<the SDK key>') }
        }
        if (!answer.failed) return answer
        const delay = rules.launchDarklyRetryDelayMs(failures, random())
        if (delay === null) {
          throw new LaunchDarklyError('LAUNCHDARKLY_UNAVAILABLE', `${where} failed ${failures} times (last: ${answer.failed}); what was published stays`)
        }
        await sleep(delay)
      }
    }
  }
}

function defaultSleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * What a webhook request (a Lambda function URL's event) proves: `{ valid:
 * true }` when its `X-LD-Signature` is the hex HMAC-SHA256 of its raw body
 * (decoded first when the function URL delivered it base64-encoded) under
 * `secret`; otherwise `{ valid: false, status, message }`, 413 for a body
 * over the bound (not decoded) and 401 for a missing or wrong signature.
 */
function verifyWebhook (event, secret) {
  const rules = core()
  const [maxBytes] = rules.launchDarklyLimits()
  const text = typeof event.body === 'string' ? event.body : ''
  // Base64 holds 3 bytes in 4 characters: past this, the body is over the bound.
  if (event.isBase64Encoded ? text.length > Math.ceil(maxBytes / 3) * 4 : Buffer.byteLength(text) > maxBytes) {
    return { valid: false, status: 413, message: `a webhook's body holds at most ${maxBytes} bytes` }
  }
  const body = Buffer.from(text, event.isBase64Encoded ? 'base64' : 'utf8')
  if (body.length > maxBytes) return { valid: false, status: 413, message: `a webhook's body holds at most ${maxBytes} bytes` }
  const headers = event.headers ?? {}
  const signature = headers['x-ld-signature'] ?? Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-ld-signature')?.[1]
  if (typeof signature !== 'string' || signature === '') return { valid: false, status: 401, message: 'no X-LD-Signature header' }
  if (!secret || !rules.launchDarklyWebhookValid(String(secret), body, signature)) {
    return { valid: false, status: 401, message: 'X-LD-Signature does not hold for this body under the webhook secret' }
  }
  return { valid: true }
}

/** When a valid webhook's polls ask, in milliseconds after it arrived (the core's). */
function webhookPolls () {
  return core().launchDarklyLimits().slice(1)
}

module.exports = { launchDarklyReader, verifyWebhook, webhookPolls, LaunchDarklyError, DEFAULT_BASE_URI }
