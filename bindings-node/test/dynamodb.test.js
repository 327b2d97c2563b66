'use strict'
// FlagClient against the Relay Proxy's DynamoDB layout, in dynalite started
// here on 127.0.0.1 and a free port, and stopped by its process id.

const test = require('node:test')
const assert = require('node:assert/strict')
const {
  DynamoDBClient, BatchWriteItemCommand, PutItemCommand
} = require('@aws-sdk/client-dynamodb')
const { FlagClient } = require('..')

if (process.env.FLAGCORE_IMPL === 'wasm') {
  test('the DynamoDB source', { skip: 'the DynamoDB source is the flagcore package\'s, not flagcore-wasm\'s' }, () => {})
  return // a CommonJS module may end early
}
const { startDynalite, stop, createTable } = require('./dynalite.js')

const user = { kind: 'user', key: 'user-1' }
const quiet = { warn () {} }
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' }

function dynamo (endpoint) {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials })
}

// Items as the Relay Proxy writes them: the whole object as JSON in `item`.
function item (namespace, key, object) {
  return { namespace: { S: namespace }, key: { S: key }, version: { N: String(object.version || 1) }, item: { S: JSON.stringify(object) } }
}

function flag (key, value, version = 1, extra = {}) {
  return { key, version, on: true, variations: [value], fallthrough: { variation: 0 }, ...extra }
}

async function write (client, TableName, items) {
  for (let i = 0; i < items.length; i += 25) {
    let RequestItems = { [TableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) }
    while (RequestItems && Object.keys(RequestItems).length) {
      const result = await client.send(new BatchWriteItemCommand({ RequestItems }))
      RequestItems = result.UnprocessedItems
    }
  }
}

test('FlagClient reads the Relay Proxy table from DynamoDB', async (t) => {
  const server = await startDynalite()
  t.after(() => stop(server))
  const db = dynamo(server.endpoint)
  await createTable(db, 'flags')

  await t.test('under a prefix, with segments, tombstones and the $inited marker', async () => {
    await write(db, 'flags', [
      item('prod:features', 'banner', flag('banner', 'prod', 3, { rules: [{ id: 'beta', clauses: [{ attribute: '', op: 'segmentMatch', values: ['beta'] }], variation: 1 }], variations: ['prod', 'beta'] })),
      item('prod:segments', 'beta', { key: 'beta', version: 1, included: ['user-1'] }),
      // The Relay Proxy's tombstone: "$deleted" inside, the real key only in the sort key.
      item('prod:features', 'retired', { key: '$deleted', version: 9, deleted: true, on: false }),
      item('staging:features', 'banner', flag('banner', 'staging')),
      { namespace: { S: 'prod:$inited' }, key: { S: 'prod:$inited' } }
    ])
    const client = new FlagClient({ source: { dynamodb: { table: 'flags', prefix: 'prod', client: db } }, logger: quiet })
    assert.deepEqual(await client.variationDetail('banner', user, 'default'), {
      value: 'beta', variationIndex: 1, reason: { kind: 'RULE_MATCH', ruleIndex: 0, ruleId: 'beta' }
    })
    assert.equal((await client.variationDetail('retired', user, 'default')).reason.errorKind, 'FLAG_NOT_FOUND')
    assert.deepEqual([...(await client.snapshot()).flagKeys], ['banner'])
  })

  await t.test('over more than 1 MB, across pages', async () => {
    const big = 'x'.repeat(40_000)
    const items = Array.from({ length: 40 }, (_, i) => item('paged:features', `flag-${i}`, flag(`flag-${i}`, i, 1, { description: big })))
    await write(db, 'flags', items)
    let queries = 0
    const counting = { send: (command) => { queries++; return db.send(command) } }
    const client = new FlagClient({ source: { dynamodb: { table: 'flags', prefix: 'paged', client: counting } }, logger: quiet })
    const snapshot = await client.snapshot()
    assert.equal(snapshot.flagKeys.length, 40)
    assert.equal(await client.variation('flag-39', user, null), 39)
    assert.ok(queries >= 4, `expected several pages, saw ${queries} queries`)
  })

  await t.test('an error on a later page keeps the whole previous snapshot', async () => {
    let failLaterPages = false
    const flaky = {
      send: (command) => {
        if (failLaterPages && command.input.ExclusiveStartKey) return Promise.reject(new Error('connection reset'))
        return db.send(command)
      }
    }
    let time = 1_000_000
    const client = new FlagClient({ source: { dynamodb: { table: 'flags', prefix: 'paged', client: flaky } }, ttlSeconds: 1, now: () => time, logger: quiet })
    const first = await client.snapshot()
    await write(db, 'flags', [item('paged:features', 'flag-0', flag('flag-0', 'changed', 2))])
    failLaterPages = true
    time += 1_000
    assert.equal(await client.snapshot(), first)
    assert.equal(await client.variation('flag-0', user, null), 0)
    assert.match(client.status().lastError.message, /connection reset/)
  })

  await t.test('a time to live refresh picks up a changed flag', async () => {
    let time = 2_000_000
    const client = new FlagClient({ source: { dynamodb: { table: 'flags', prefix: 'prod', client: db } }, ttlSeconds: 30, now: () => time, logger: quiet })
    assert.equal(await client.variation('banner', { key: 'someone' }, null), 'prod')
    await db.send(new PutItemCommand({ TableName: 'flags', Item: item('prod:features', 'banner', flag('banner', 'prod-v4', 4)) }))
    time += 29_000
    assert.equal(await client.variation('banner', { key: 'someone' }, null), 'prod')
    time += 1_000
    assert.equal(await client.variation('banner', { key: 'someone' }, null), 'prod-v4')
  })

  await t.test('the default client follows the AWS environment variables', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: server.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1'
    })
    try {
      const client = new FlagClient({ source: { dynamodb: { table: 'flags', prefix: 'staging' } }, logger: quiet })
      assert.equal(await client.variation('banner', user, null), 'staging')
    } finally {
      process.env = saved
    }
  })

  await t.test('a missing table is a cold start without data', async () => {
    const client = new FlagClient({ source: { dynamodb: { table: 'no-such-table', client: db } }, logger: quiet })
    const detail = await client.variationDetail('banner', user, 'default')
    assert.equal(detail.reason.errorKind, 'CLIENT_NOT_READY')
    assert.match(client.status().lastError.name, /ResourceNotFound/)
  })

  await t.test('a server that goes away leaves the last good snapshot answering', async () => {
    let time = 3_000_000
    const own = await startDynalite()
    const ownDb = dynamo(own.endpoint)
    await createTable(ownDb, 'flags')
    await write(ownDb, 'flags', [item('features', 'banner', flag('banner', 'before'))])
    const client = new FlagClient({ source: { dynamodb: { table: 'flags', client: ownDb } }, ttlSeconds: 5, now: () => time, logger: quiet })
    assert.equal(await client.variation('banner', user, null), 'before')
    stop(own)
    await new Promise((resolve) => own.child.once('exit', resolve))
    time += 5_000
    assert.equal(await client.variation('banner', user, null), 'before')
    const status = client.status()
    assert.ok(status.lastError, 'the failure is reported')
    assert.equal(status.ageMs, 5_000)
    ownDb.destroy()
  })
  db.destroy()
})

test('without @aws-sdk/client-dynamodb installed, the warning says how to install it, in one line', () => {
  // The package resolved as where the SDK is missing: its resolver refuses it.
  const hide = `const Module = require('node:module'); const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === '@aws-sdk/client-dynamodb') throw Object.assign(new Error("Cannot find module '@aws-sdk/client-dynamodb'\\nRequire stack:\\n- sources.js"), { code: 'MODULE_NOT_FOUND' })
      return resolve.call(this, request, ...rest)
    }`
  const run = `${hide}
    const { FlagClient } = require(${JSON.stringify(require.resolve('..'))})
    const client = new FlagClient({ source: { dynamodb: { table: 'flags' } }, logger: { warn: (m) => console.log(m) } })
    client.variation('banner', { key: 'a' }, 'default').then((value) => console.log('answered', value))`
  const { spawnSync } = require('node:child_process')
  const result = spawnSync(process.execPath, ['-e', run], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  const lines = result.stdout.trim().split('\n')
  assert.equal(lines.length, 2, result.stdout)
  assert.match(lines[0], /@aws-sdk\/client-dynamodb is not installed: the Lambda Node runtime ships it; elsewhere run `npm install @aws-sdk\/client-dynamodb`/)
  assert.doesNotMatch(lines[0], /Require stack/)
  assert.equal(lines[1], 'answered default')
})
