'use strict'
// Requests pinned to their decision token's generation of the published
// layout (FlagClient.decide): served over HTTP (test/origin.js) and read
// from DynamoDB (dynalite, started here on 127.0.0.1 and a free port,
// stopped by its process id), with the held snapshot's kill switch still
// winning. The Python package's tests/test_pinned.py checks the same.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Snapshot, FlagClient } = require('../../js/test/impl.js')
const { serve } = require('./origin.js')
// The writer is the native engine's (the edge only reads).
const Publisher = require('..').Snapshot

const user = { kind: 'user', key: 'user-1' }
const quiet = { warn () {} }

const SIGNING_KEY = 'flagcore-test-signing-key-0123456789'

// Two generations of one environment: in `after`, the checkout moved on and
// the launch was switched off.
function generation (banner, checkout, launchOn) {
  return Publisher.fromJson(JSON.stringify({
    flags: {
      banner: { key: 'banner', on: true, variations: [banner], fallthrough: { variation: 0 } },
      checkout: { key: 'checkout', on: true, variations: [checkout], fallthrough: { variation: 0 } },
      launch: { key: 'launch', on: launchOn, variations: ['dark', 'live'], fallthrough: { variation: 1 }, offVariation: 0 }
    },
    segments: {}
  }))
}

function warnings () {
  const lines = []
  return { lines, warn: (line) => lines.push(line) }
}

test('decide() pins a request to its token\'s snapshot: every flag answers from it, and the kill switch still wins', async (t) => {
  const origin = await serve()
  t.after(() => origin.close())
  const before = generation('first', 'old', true)
  const after = generation('second', 'new', false)
  origin.publish(before, { now: 1_000 })
  origin.publish(after, { now: 2_000 })
  const logger = warnings()
  const client = new FlagClient({ source: { published: { url: origin.url } }, signingKey: SIGNING_KEY, logger })
  assert.equal(await client.variation('checkout', user, 'default'), 'new')

  // Upstream answered the banner from the earlier generation.
  const token = before.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY })
  origin.requests.length = 0
  const decided = await client.decide(user, token)
  assert.equal(decided.pinnedSnapshotId, before.id)
  assert.deepEqual(origin.requests.filter((name) => name.startsWith('snapshots/')), [`snapshots/${before.id}/head.json`, `snapshots/${before.id}/0.json.gz`])
  // Every flag, not only the token's; the launch is off, as the held snapshot has it.
  assert.equal(await client.variation('banner', decided, 'default'), 'first')
  assert.equal(await client.variation('checkout', decided, 'default'), 'old')
  assert.deepEqual(await client.variationDetail('launch', decided, 'default'), { value: 'dark', variationIndex: 0, reason: { kind: 'OFF' } })
  assert.equal((await client.allFlagsState(decided)).getFlagValue('checkout'), 'old')
  // A context without the token answers from the held snapshot.
  assert.equal(await client.variation('checkout', user, 'default'), 'new')
  assert.deepEqual(client.status().pinned, { snapshotIds: [before.id], bytes: Snapshot.publishedHead(before.publish().head).size, lastError: null })

  // Kept by id: another request pinned to it reads nothing.
  origin.requests.length = 0
  const again = await client.decide({ kind: 'user', key: 'user-2' }, before.decisionToken({ kind: 'user', key: 'user-2' }, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(again.pinnedSnapshotId, before.id)
  assert.deepEqual(origin.requests.filter((name) => name.startsWith('snapshots/')), [])

  // Tokens issued for a pinned request carry the pinned snapshot's id: the next function pins to it too.
  const onward = await client.decisionToken(decided, ['checkout'])
  const next = new FlagClient({ source: { published: { url: origin.url } }, signingKey: SIGNING_KEY, logger: quiet })
  const there = await next.decide(user, onward)
  assert.equal(there.tokenStatus.snapshotId, before.id)
  assert.equal(there.pinnedSnapshotId, before.id)
  assert.equal(await next.variation('checkout', there, 'default'), 'old')

  // Published after the head this function read (a head read that lagged):
  // the newest it knows, answered from as it is.
  const later = generation('third', 'newer', true)
  origin.publish(later, { now: 3_000, lag: true })
  const ahead = await client.decide(user, later.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(ahead.pinnedSnapshotId, later.id)
  assert.equal(await client.variation('launch', ahead, 'default'), 'live')
  assert.equal(client.status().snapshotId, after.id)

  // A snapshot that is not there (never published, or expired): the token's
  // own decisions still apply, status() says why, and it is not asked for
  // again within the retry interval.
  const gone = generation('gone', 'gone', true)
  origin.requests.length = 0
  const unpinned = await client.decide(user, gone.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(unpinned.pinnedSnapshotId, null)
  assert.equal(unpinned.tokenStatus.applied, true)
  assert.equal(await client.variation('checkout', unpinned, 'default'), 'new')
  assert.match(client.status().pinned.lastError.message, /was not published there, or has expired/)
  assert.ok(logger.lines.some((line) => line.includes(`cannot pin a request to snapshot ${gone.id}`)), logger.lines.join('\n'))
  const asked = origin.requests.filter((name) => name.startsWith('snapshots/')).length
  await client.decide(user, gone.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(origin.requests.filter((name) => name.startsWith('snapshots/')).length, asked)

  // The same snapshot as the one held pins nothing; nor does `maxSnapshots: 0`.
  assert.equal((await client.decide(user, after.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))).pinnedSnapshotId, null)
  const never = new FlagClient({ source: { published: { url: origin.url } }, signingKey: SIGNING_KEY, pinned: { maxSnapshots: 0 }, logger: quiet })
  assert.equal((await never.decide(user, token)).pinnedSnapshotId, null)
})

if (process.env.FLAGCORE_IMPL === 'wasm') {
  test('pinned requests from DynamoDB', { skip: 'DynamoDB is the flagcore package\'s, not flagcore-wasm\'s' }, () => {})
  return // a CommonJS module may end early
}
const { DynamoDBClient, GetItemCommand, DeleteItemCommand } = require('@aws-sdk/client-dynamodb')
const { publish } = require('..')
const { startDynalite, stop, createTable } = require('./dynalite.js')

test('pinned requests read their generation from DynamoDB by id, within the bounds given, until it expires', async (t) => {
  const server = await startDynalite()
  t.after(() => stop(server))
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'flags')
  const to = { table: 'flags', client: db }
  const first = generation('first', 'one', true)
  const second = generation('second', 'two', true)
  const held = generation('third', 'three', false)
  for (const [n, snapshot] of [first, second, held].entries()) await publish(snapshot, to, { now: Date.now() + n })
  const generationHead = (id) => ({ namespace: { S: 'flagcore' }, key: { S: `snapshots/${id}/head.json` } })

  // A replaced generation's own head expires with its chunks; the current one's never.
  const replaced = await db.send(new GetItemCommand({ TableName: 'flags', Key: generationHead(first.id) }))
  assert.ok(Number(replaced.Item.ttl.N) > Date.now() / 1000, 'the replaced generation head expires')
  const current = await db.send(new GetItemCommand({ TableName: 'flags', Key: generationHead(held.id) }))
  assert.equal(current.Item.ttl, undefined)

  const commands = []
  const counting = { send: (command, options) => { commands.push(command.constructor.name); return db.send(command, options) } }
  const client = new FlagClient({ source: { published: { table: 'flags', client: counting } }, signingKey: SIGNING_KEY, pinned: { maxSnapshots: 1 }, logger: quiet })
  assert.equal(await client.variation('checkout', user, 'default'), 'three')
  commands.length = 0
  const pinned = await client.decide(user, first.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(pinned.pinnedSnapshotId, first.id)
  // The generation's own head, then its chunks (the head itself was read
  // within the retry interval: a token is no reason to read it again yet).
  assert.deepEqual(commands, ['GetItemCommand', 'BatchGetItemCommand'])
  assert.equal(await client.variation('checkout', pinned, 'default'), 'one')
  assert.equal(await client.variation('launch', pinned, 'default'), 'dark')

  // One snapshot at most: the next replaces it; a request pinned before keeps its own.
  const other = await client.decide(user, second.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(other.pinnedSnapshotId, second.id)
  assert.deepEqual(client.status().pinned.snapshotIds, [second.id])
  assert.equal(await client.variation('checkout', pinned, 'default'), 'one')

  // Over the bytes allowed: not pinned, and status() says why.
  const small = new FlagClient({ source: { published: { table: 'flags', client: db } }, signingKey: SIGNING_KEY, pinned: { maxBytes: 100 }, logger: quiet })
  const refused = await small.decide(user, first.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(refused.pinnedSnapshotId, null)
  assert.equal(small.status().pinned.lastError.code, 'PINNED_TOO_LARGE')
  assert.match(small.status().pinned.lastError.message, /over the 100 bytes the pinned snapshots may hold: not read/)

  // Expired (DynamoDB's TTL deleted its items): the token's own decisions apply.
  await db.send(new DeleteItemCommand({ TableName: 'flags', Key: generationHead(first.id) }))
  const fresh = new FlagClient({ source: { published: { table: 'flags', client: db } }, signingKey: SIGNING_KEY, logger: quiet })
  const late = await fresh.decide(user, first.decisionToken(user, ['banner'], { signingKey: SIGNING_KEY }))
  assert.equal(late.pinnedSnapshotId, null)
  assert.equal(await fresh.variation('checkout', late, 'default'), 'three')
  assert.match(fresh.status().pinned.lastError.message, /snapshots\/[0-9a-f]{16}\/head\.json: snapshot [0-9a-f]{16} was not published there, or has expired/)
})

// A scratch directory for the layout, removed after the test, and a
// publisher of snapshots into it (as `flagcore publish --to DIR` writes
// them) that answers the head's text.
