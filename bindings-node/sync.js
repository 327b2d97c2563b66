'use strict'
// A ready Lambda handler for LaunchDarkly users: it reads the Relay Proxy's
// DynamoDB table (as the { dynamodb } source does) and publishes it in
// flagcore's layout when its content id changed, so that functions poll one
// small head instead of querying the whole table. Trigger it from a DynamoDB
// Streams event source on the Relay table, or a one-minute schedule: the
// event itself is not read, every invocation syncs the whole table.
//
//   // index.js of the sync function
//   module.exports = require('flagcore/sync')
//
// with FLAGCORE_RELAY_TABLE (and FLAGCORE_RELAY_PREFIX) naming the Relay
// table, and FLAGCORE_TABLE / FLAGCORE_PREFIX where to publish (by default
// the same table and prefix: the layout's items live under their own
// namespace, `[prefix:]flagcore`, beside the Relay's).

const flagcore = require('./index.js')
const sources = require('./sources.js')

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

let fromEnvironment = null

/** The Lambda handler, configured from the environment at its first invocation. */
async function handler () {
  if (!fromEnvironment) {
    const env = process.env
    if (!env.FLAGCORE_RELAY_TABLE) throw new Error('flagcore/sync: set FLAGCORE_RELAY_TABLE to the Relay Proxy\'s DynamoDB table')
    const relay = { table: env.FLAGCORE_RELAY_TABLE, prefix: env.FLAGCORE_RELAY_PREFIX || undefined }
    const to = {
      table: env.FLAGCORE_TABLE || relay.table,
      prefix: env.FLAGCORE_TABLE ? env.FLAGCORE_PREFIX || undefined : env.FLAGCORE_PREFIX || relay.prefix
    }
    const retention = env.FLAGCORE_RETENTION_SECONDS === undefined ? undefined : Number(env.FLAGCORE_RETENTION_SECONDS)
    if (retention !== undefined && !(retention > 0)) throw new Error('flagcore/sync: FLAGCORE_RETENTION_SECONDS must be a number of seconds above 0')
    fromEnvironment = createSyncHandler({ relay, to, retentionSeconds: retention })
  }
  return fromEnvironment()
}

module.exports = { handler, createSyncHandler }
