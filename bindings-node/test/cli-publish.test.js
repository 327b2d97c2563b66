'use strict'
// `flagcore publish --to dynamodb:TABLE/PREFIX` against dynalite (started
// here on 127.0.0.1 and a free port, stopped by its process id), read back
// by this package's published source: one layout, written by the CLI and
// read by Node. The CLI is this checkout's (make test-node builds it).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

if (process.env.FLAGCORE_IMPL === 'wasm' || process.env.FLAGCORE_PACKAGE) {
  test('flagcore publish to DynamoDB', { skip: 'run once, with the flagcore package of this checkout' }, () => {})
  return // a CommonJS module may end early
}

const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb')
const { FlagClient, Snapshot } = require('..')
const { startDynalite, stop, createTable } = require('./dynalite.js')

const cli = process.env.FLAGCORE_CLI || path.join(__dirname, '..', '..', 'target', 'debug', 'flagcore')
const user = { kind: 'user', key: 'user-1' }

function document (banner) {
  return { flags: { banner: { key: 'banner', on: true, variations: [banner], fallthrough: { variation: 0 } } }, segments: {} }
}

test('flagcore publish --to dynamodb: writes the layout Node reads, and nothing when unchanged', async (t) => {
  assert.ok(fs.existsSync(cli), `no CLI at ${cli}: cargo build -p flagcore-cli`)
  const server = await startDynalite()
  t.after(() => stop(server))
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'flags')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-cli-publish-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test'
  }
  const run = (banner, ...args) => {
    const file = path.join(dir, `${banner}.json`)
    fs.writeFileSync(file, JSON.stringify(document(banner)))
    const result = spawnSync(cli, ['publish', '--snapshot', file, '--to', 'dynamodb:flags/prod', '--json', ...args], { env, encoding: 'utf8' })
    assert.equal(result.status, 0, result.stderr)
    return JSON.parse(result.stdout)
  }

  const first = run('first')
  assert.equal(first.id, Snapshot.fromJson(JSON.stringify(document('first'))).id)
  assert.equal(first.unchanged, false)
  const reader = new FlagClient({ source: { published: { table: 'flags', prefix: 'prod', client: db } }, ttlSeconds: 0, logger: { warn () {} } })
  assert.equal(await reader.variation('banner', user, 'default'), 'first')
  assert.deepEqual(run('first'), { id: first.id, unchanged: true, chunks: 0, bytes: 0 })

  const second = run('second', '--retention-seconds', '600')
  assert.equal(await reader.variation('banner', user, 'default'), 'second')
  assert.equal(reader.status().snapshotId, second.id)
  // The replaced generation (its own head and its chunks) expires; the new one does not.
  const item = (name) => db.send(new GetItemCommand({ TableName: 'flags', Key: { namespace: { S: 'prod:flagcore' }, key: { S: name } } })).then((a) => a.Item)
  for (const name of [`snapshots/${first.id}/head.json`, `snapshots/${first.id}/0.json.gz`]) {
    const ttl = Number((await item(name)).ttl.N)
    assert.ok(Math.abs(ttl - (Date.now() / 1000 + 600)) < 60, `${name}: ttl ${ttl}`)
  }
  assert.equal((await item(`snapshots/${second.id}/head.json`)).ttl, undefined)

  // A request pinned to the first generation reads it where the CLI left it.
  const signingKey = 'flagcore-test-signing-key-0123456789'
  const pinning = new FlagClient({ source: { published: { table: 'flags', prefix: 'prod', client: db } }, signingKey, logger: { warn () {} } })
  const token = Snapshot.fromJson(JSON.stringify(document('first'))).decisionToken(user, ['banner'], { signingKey })
  const decided = await pinning.decide(user, token)
  assert.equal(decided.pinnedSnapshotId, first.id)

  // No credentials: refused before anything is read or written.
  const bare = { ...env }
  delete bare.AWS_ACCESS_KEY_ID
  const file = path.join(dir, 'third.json')
  fs.writeFileSync(file, JSON.stringify(document('third')))
  const refused = spawnSync(cli, ['publish', '--snapshot', file, '--to', 'dynamodb:flags/prod'], { env: bare, encoding: 'utf8' })
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /needs AWS_ACCESS_KEY_ID/)
  // A table that is not there: DynamoDB's refusal, named.
  const missing = spawnSync(cli, ['publish', '--snapshot', file, '--to', 'dynamodb:missing-table'], { env, encoding: 'utf8' })
  assert.equal(missing.status, 1)
  assert.match(missing.stderr, /dynamodb missing-table \(flagcore\): GetItem: ResourceNotFoundException/)
  assert.equal(await reader.variation('banner', user, 'default'), 'second')
})
