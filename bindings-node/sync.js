'use strict'
// A ready Lambda handler for LaunchDarkly users, which publishes their flags
// in flagcore's layout when their content changed, so that functions poll
// one small head, from one of two places:
//
// - LaunchDarkly itself, with no Relay Proxy (createLaunchDarklySync): one
//   conditional poll of its polling API per trigger, whatever the number of
//   functions reading. Trigger it from a schedule (every minute) and from
//   LaunchDarkly's webhooks through a function URL: a signed webhook makes
//   it poll until the payload changed, then publish.
// - The Relay Proxy's DynamoDB table (createSyncHandler), from a DynamoDB
//   Streams event source on it or a schedule: the event itself is not read,
//   every invocation syncs the whole table.
//
//   // index.js of the sync function
//   module.exports = require('flagcore/sync')
//
// For LaunchDarkly: LAUNCHDARKLY_SDK_KEY (or LAUNCHDARKLY_SDK_KEY_SECRET_ARN,
// read once from Secrets Manager), LAUNCHDARKLY_BASE_URI and
// LAUNCHDARKLY_FILTER (optional), LAUNCHDARKLY_WEBHOOK_SECRET (for
// webhooks), and where to publish: FLAGCORE_TABLE / FLAGCORE_PREFIX (DynamoDB),
// or FLAGCORE_BUCKET / FLAGCORE_BUCKET_PREFIX (S3, to read through
// CloudFront). For the
// Relay table: FLAGCORE_RELAY_TABLE (and FLAGCORE_RELAY_PREFIX), and
// FLAGCORE_TABLE / FLAGCORE_PREFIX where to publish (by default the same
// table and prefix: the layout's items live under their own namespace,
// `[prefix:]flagcore`, beside the Relay's). FLAGCORE_RETENTION_SECONDS
// serves both.

const flagcore = require('./index.js')
const sources = require('./sources.js')
const { launchDarklyReader, verifyWebhook, webhookPolls } = require('./launchdarkly.js')

/**
 * A handler that syncs `relay` (`{ table, prefix, client }`) to `to` (the
 * same shape; by default the Relay table itself), keeping a replaced
 * generation readable for `retentionSeconds`. It answers
 * `{ id, unchanged, chunks, bytes, warnings }`, and throws when the Relay
 * table cannot be read whole (a partial table is never published), and when
 * the core's plan refuses what it read, as for every publisher: errors that
 * `flagcore check` lists (an item without data), or a table that lost its
 * `$inited` marker since the published snapshot was read (SnapshotError
 * `PUBLISH_REFUSED`); the published snapshot then stays. What the table's
 * read warned of (no `$inited` marker, items of other namespaces) is logged
 * and travels in the head to every reader's `status().warnings`.
 */
function createSyncHandler ({ relay, to = relay, retentionSeconds, now = Date.now, logger = console }) {
  if (!relay || !relay.table) throw new TypeError('createSyncHandler needs { relay: { table } }')
  const source = sources.dynamodb({ ...relay, consistentRead: true }, flagcore.Snapshot, flagcore.limits)
  return async function sync () {
    const snapshot = await source.load(null)
    const warnings = snapshot.sourceProblems()
    for (const problem of warnings) logger.warn(`flagcore/sync: ${source.describe()}: ${problem.code}: ${problem.message}`)
    const published = await flagcore.publish(snapshot, to, { now: now(), retentionSeconds })
    return { ...published, warnings: warnings.map((problem) => problem.code) }
  }
}

/**
 * A handler that publishes the environment of LaunchDarkly's server-side
 * `sdkKey` (at `baseUri`, through the payload filter `filter`) to `to`
 * (a DynamoDB table, `{ table, prefix, client }`, keeping a replaced
 * generation readable for `retentionSeconds`; or an S3 bucket, `{ bucket,
 * prefix, client }`, see s3.js). Given a Lambda function URL's request, it is a
 * webhook: without `X-LD-Signature` holding under `webhookSecret` it answers
 * 401 and reads nothing; a valid one polls until the payload's ETag changed
 * (five polls over ten seconds), publishes, and answers 200 with the
 * result as JSON. Given anything else (a schedule's event), it polls once,
 * with the ETag of what it last published, and publishes what changed,
 * answering `{ id, unchanged, chunks, bytes, warnings }` (`id` null when an
 * unchanged answer came before anything was published here). A payload
 * that does not read, or that the core's plan refuses (errors `flagcore
 * check` lists), is never published; the published snapshot stays, as it
 * does when LaunchDarkly or the table fails. Two syncs at once never both
 * write the head (its write is conditional): the one that lost asks
 * LaunchDarkly again and publishes what it answers then, which is the
 * winner's content (a no-op) unless LaunchDarkly changed meanwhile.
 */
function createLaunchDarklySync ({ sdkKey, baseUri, filter, to, retentionSeconds, webhookSecret, timeoutMs, fetch, now = Date.now, logger = console, random, sleep = defaultSleep }) {
  if (!to || !(to.table || to.bucket)) throw new TypeError('createLaunchDarklySync needs { to: { table } } or { to: { bucket } }: the DynamoDB table (FLAGCORE_TABLE) or S3 bucket (FLAGCORE_BUCKET) to publish to')
  const reader = launchDarklyReader({ sdkKey, baseUri, filter, timeoutMs, Snapshot: flagcore.Snapshot, limits: flagcore.limits, fetch, random, sleep })
  // What this instance last published, and its ETag at LaunchDarkly: an
  // ETag is kept only once its payload is published, so that a failed
  // publish is tried again at the next trigger.
  let etag = null
  let id = null

  async function publish (snapshot) {
    const warnings = snapshot.sourceProblems().map((problem) => problem.code)
    return { ...await flagcore.publish(snapshot, to, { now: now(), retentionSeconds }), warnings }
  }

  async function pollAndPublish () {
    const unchanged = { id, unchanged: true, chunks: 0, bytes: 0, warnings: [] }
    let polled = await reader.poll(etag)
    if (polled.unchanged) return unchanged
    let result
    try {
      result = await publish(polled.snapshot)
    } catch (error) {
      if (!(error instanceof flagcore.PublishRace)) throw error
      // Another sync wrote the head meanwhile, perhaps from a newer payload
      // than this one read: ask LaunchDarkly again, whole, and publish what
      // it answers now (the same content as the winner's is then unchanged).
      polled = await reader.poll(null)
      if (polled.unchanged) return unchanged
      result = await publish(polled.snapshot)
    }
    etag = polled.etag
    id = result.id
    return result
  }

  async function webhook (event) {
    const proof = verifyWebhook(event, webhookSecret)
    if (!proof.valid) {
      if (!webhookSecret) logger.error('flagcore/sync: a webhook arrived, and LAUNCHDARKLY_WEBHOOK_SECRET is not set: set it to the secret of the webhook in LaunchDarkly\'s integrations')
      else logger.warn(`flagcore/sync: refused a webhook (${proof.message})`)
      return answer(proof.status, { error: proof.message })
    }
    // A webhook says only that something changed: LaunchDarkly's CDN may
    // answer the old payload for a moment, so poll until it changed.
    const started = now()
    let result = null
    for (const at of webhookPolls()) {
      const wait = started + at - now()
      if (wait > 0) await sleep(wait)
      result = await pollAndPublish()
      if (!result.unchanged) break
    }
    return answer(200, result)
  }

  return async function sync (event) {
    // A function URL's request (or API Gateway's, or a load balancer's) is
    // a webhook, and proves itself; anything else is the schedule.
    const method = event && ((event.requestContext && event.requestContext.http && event.requestContext.http.method) || event.httpMethod)
    if (!method) return pollAndPublish()
    if (method !== 'POST') return answer(405, { error: 'LaunchDarkly\'s webhooks POST' })
    try {
      return await webhook(event)
    } catch (error) {
      logger.error(`flagcore/sync: ${error.message}`)
      return answer(502, { error: error.code ?? 'SYNC_FAILED' })
    }
  }
}

// A function URL's answer.
function answer (statusCode, body) {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

function defaultSleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

let fromEnvironment = null

/**
 * The Lambda handler, configured from the environment at its first
 * invocation: LaunchDarkly's polling API when LAUNCHDARKLY_SDK_KEY or
 * LAUNCHDARKLY_SDK_KEY_SECRET_ARN is set, the Relay table when
 * FLAGCORE_RELAY_TABLE is.
 */
async function handler (event) {
  if (!fromEnvironment) fromEnvironment = await configure(process.env)
  return fromEnvironment(event)
}

async function configure (env) {
  const retention = env.FLAGCORE_RETENTION_SECONDS === undefined ? undefined : Number(env.FLAGCORE_RETENTION_SECONDS)
  if (retention !== undefined && !(retention > 0)) throw new Error('flagcore/sync: FLAGCORE_RETENTION_SECONDS must be a number of seconds above 0')
  if (env.LAUNCHDARKLY_SDK_KEY || env.LAUNCHDARKLY_SDK_KEY_SECRET_ARN) {
    if (Boolean(env.FLAGCORE_TABLE) === Boolean(env.FLAGCORE_BUCKET)) {
      throw new Error('flagcore/sync: set FLAGCORE_TABLE (a DynamoDB table) or FLAGCORE_BUCKET (an S3 bucket), one of them, to publish LaunchDarkly\'s flags to')
    }
    return createLaunchDarklySync({
      sdkKey: env.LAUNCHDARKLY_SDK_KEY || await secret(env.LAUNCHDARKLY_SDK_KEY_SECRET_ARN),
      baseUri: env.LAUNCHDARKLY_BASE_URI || undefined,
      filter: env.LAUNCHDARKLY_FILTER || undefined,
      webhookSecret: env.LAUNCHDARKLY_WEBHOOK_SECRET || undefined,
      to: env.FLAGCORE_BUCKET
        ? { bucket: env.FLAGCORE_BUCKET, prefix: env.FLAGCORE_BUCKET_PREFIX || undefined }
        : { table: env.FLAGCORE_TABLE, prefix: env.FLAGCORE_PREFIX || undefined },
      retentionSeconds: retention
    })
  }
  if (env.FLAGCORE_RELAY_TABLE) {
    const relay = { table: env.FLAGCORE_RELAY_TABLE, prefix: env.FLAGCORE_RELAY_PREFIX || undefined }
    const to = {
      table: env.FLAGCORE_TABLE || relay.table,
      prefix: env.FLAGCORE_TABLE ? env.FLAGCORE_PREFIX || undefined : env.FLAGCORE_PREFIX || relay.prefix
    }
    return createSyncHandler({ relay, to, retentionSeconds: retention })
  }
  throw new Error('flagcore/sync: set LAUNCHDARKLY_SDK_KEY (or LAUNCHDARKLY_SDK_KEY_SECRET_ARN) to sync from LaunchDarkly, or FLAGCORE_RELAY_TABLE to sync from the Relay Proxy\'s table')
}

// A secret's text from Secrets Manager, with the client the Lambda Node
// runtime ships (read once, at the first invocation).
async function secret (arn) {
  const { SecretsManagerClient, GetSecretValueCommand } = sources.awsSdk('@aws-sdk/client-secrets-manager')
  const answer = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: arn }))
  if (typeof answer.SecretString !== 'string' || answer.SecretString === '') {
    throw new Error(`flagcore/sync: the secret ${arn} holds no text: store the SDK key as its plain-text value`)
  }
  return answer.SecretString.trim()
}

module.exports = { handler, createSyncHandler, createLaunchDarklySync }
