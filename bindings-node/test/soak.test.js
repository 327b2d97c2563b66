'use strict'
// The soak: one FlagClient answers a stream of requests while the Relay
// Proxy's table changes every second and dynalite is stopped and started
// again twice (the table then recreated and written anew). The native client
// reads DynamoDB; under FLAGCORE_IMPL=wasm the client reads a URL that serves
// the table's items, as an S3 export would. No request may throw, every
// snapshot served must be whole (every flag present, from at most two
// consecutive writes, never older than one served before), and memory must
// stay flat.
//
// FLAGCORE_SOAK_REQUESTS (default 10,000) and FLAGCORE_SOAK_SECONDS (default
// 8) set its size; `make soak` runs 100,000 requests over 40 seconds.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { DynamoDBClient, BatchWriteItemCommand, QueryCommand } = require('@aws-sdk/client-dynamodb')
const { FlagClient } = require('../../js/test/impl.js')
const { freePort, startDynalite, stop, createTable } = require('./dynalite.js')

const REQUESTS = Number(process.env.FLAGCORE_SOAK_REQUESTS || 10_000)
const SECONDS = Number(process.env.FLAGCORE_SOAK_SECONDS || 8)
const FLAGS = 30
// About 40 KB a flag: the table takes two pages (1 MB each) to read, so a
// server that stops mid-read is a failure between pages.
const PADDING = 'x'.repeat(40_000)
const wasm = process.env.FLAGCORE_IMPL === 'wasm'

function items (generation) {
  return Array.from({ length: FLAGS }, (_, i) => {
    const key = `gen-${String(i).padStart(2, '0')}`
    const flag = { key, version: generation, on: true, variations: [generation], fallthrough: { variation: 0 }, description: PADDING }
    return { namespace: { S: 'soak:features' }, key: { S: key }, version: { N: String(generation) }, item: { S: JSON.stringify(flag) } }
  }).concat([{ namespace: { S: 'soak:$inited' }, key: { S: 'soak:$inited' } }])
}

async function write (db, generation) {
  const all = items(generation)
  for (let i = 0; i < all.length; i += 25) {
    let RequestItems = { relay: all.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) }
    while (RequestItems && Object.keys(RequestItems).length) {
      RequestItems = (await db.send(new BatchWriteItemCommand({ RequestItems }))).UnprocessedItems
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const rssMb = () => process.memoryUsage().rss / 1048576

test(`soak: ${REQUESTS} requests over ${SECONDS} s, the table changing every second, dynalite restarted twice`, async () => {
  const port = await freePort()
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' }
  let server = await startDynalite(port)
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 })
  const reader = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 })
  await createTable(db, 'relay')
  let generation = 1
  await write(db, generation)

  // The edge's view: the table's items as JSON, 502 while dynalite is down.
  const exporter = http.createServer(async (request, response) => {
    try {
      const all = []
      // The marker first, as the DynamoDB source reads it.
      for (const namespace of ['soak:$inited', 'soak:features']) {
        let ExclusiveStartKey
        do {
          const page = await reader.send(new QueryCommand({
            TableName: 'relay', KeyConditionExpression: '#n = :n', ExpressionAttributeNames: { '#n': 'namespace' },
            ExpressionAttributeValues: { ':n': { S: namespace } }, ConsistentRead: true, ExclusiveStartKey
          }))
          all.push(...page.Items)
          ExclusiveStartKey = page.LastEvaluatedKey
        } while (ExclusiveStartKey)
      }
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ Items: all }))
    } catch (error) {
      response.writeHead(502)
      response.end(String(error && error.message))
    }
  })
  await new Promise((resolve) => exporter.listen(0, '127.0.0.1', resolve))
  const source = wasm
    ? { url: `http://127.0.0.1:${exporter.address().port}/flags.json`, prefix: 'soak', timeoutMs: 2000 }
    : { dynamodb: { table: 'relay', prefix: 'soak', client: reader, timeoutMs: 2000 } }
  const warnings = []
  const client = new FlagClient({ source, ttlSeconds: 0.5, retryMs: 250, logger: { warn: (m) => warnings.push(m) } })

  let writing = true
  let down = false
  const writer = (async () => {
    while (writing) {
      await sleep(1000)
      if (down) continue
      try {
        await write(db, generation + 1)
        generation++
      } catch {}
    }
  })()
  const restarts = (async () => {
    for (const at of [0.3, 0.6]) {
      await sleep(SECONDS * 1000 * at - (at === 0.3 ? 0 : SECONDS * 300))
      down = true
      stop(server)
      await new Promise((resolve) => server.child.once('exit', resolve))
      await sleep(1200)
      server = await startDynalite(port)
      await createTable(db, 'relay')
      await write(db, generation)
      down = false
    }
  })()

  const perTick = Math.max(1, Math.ceil(REQUESTS / (SECONDS * 100)))
  const served = new Set()
  let newest = 0
  let answered = 0
  let thrown = 0
  let startRss = 0
  const user = { kind: 'user', key: 'soak-user' }
  while (answered < REQUESTS) {
    for (let i = 0; i < perTick && answered < REQUESTS; i++) {
      try {
        const snapshot = await client.snapshot()
        const values = snapshot.flagKeys.map((key) => snapshot.variation(key, user, null))
        assert.equal(values.length, FLAGS, 'every flag present')
        const [low, high] = [Math.min(...values), Math.max(...values)]
        assert.ok(high - low <= 1, `generations ${low}..${high} in one snapshot`)
        assert.ok(high >= newest, `generation ${high} after ${newest}`)
        newest = high
        served.add(snapshot.id)
        assert.equal(typeof (await client.variation('gen-00', user, -1)), 'number')
      } catch (error) {
        thrown++
        if (thrown < 5) console.log(`request failed: ${error.stack}`)
      }
      answered++
      if (answered === Math.floor(REQUESTS / 5)) startRss = rssMb()
    }
    await sleep(10)
  }
  writing = false
  await writer
  await restarts
  const endRss = rssMb()
  const failures = warnings.filter((w) => w.includes('failed')).length
  console.log(`soak (${wasm ? 'wasm, URL source' : 'native, DynamoDB source'}): ${answered} requests, ${thrown} thrown, ` +
    `${served.size} snapshots served up to generation ${newest}, ${failures} failed refreshes; RSS ${startRss.toFixed(0)} MB → ${endRss.toFixed(0)} MB`)
  exporter.close()
  stop(server)
  db.destroy()
  reader.destroy()
  if (thrown) console.log(`first warning: ${warnings[0]}`)
  assert.equal(thrown, 0)
  assert.ok(served.size >= SECONDS / 2, `only ${served.size} snapshots: the table did not change under the client`)
  assert.ok(failures >= 2, 'the restarts made refreshes fail')
  assert.ok(endRss - startRss < 60, `RSS grew ${(endRss - startRss).toFixed(0)} MB`)
})
