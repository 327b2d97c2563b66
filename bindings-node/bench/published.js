'use strict'
// What a refresh costs from DynamoDB, for the Relay Proxy's layout and for
// flagcore's published layout, on the core benchmark's snapshot: the read
// units dynalite reports (ReturnConsumedCapacity), what that costs a day at
// 1,000 concurrent instances, and the time of a refresh in this process;
// then what a request pinned to a decision token's snapshot costs.
// `make bench-published` runs it; dynalite is started here on 127.0.0.1 and
// a free port, and stopped by its process id.

const fs = require('node:fs')
const { DynamoDBClient, BatchWriteItemCommand } = require('@aws-sdk/client-dynamodb')
const { Snapshot, FlagClient, publish, limits } = require('..')
const { dynamoDbStore } = require('../published.js')
const sources = require('../sources.js')
const { startDynalite, stop, createTable } = require('../test/dynalite.js')

// DynamoDB on demand, us-east-1: $0.125 per million read request units.
const DOLLARS_PER_READ_UNIT = 0.125 / 1e6
const INSTANCES = 1000
const ROUNDS = 15

const snapshotFile = process.argv[2]
if (!snapshotFile) throw new Error('usage: node bench/published.js SNAPSHOT.json')
const text = fs.readFileSync(snapshotFile, 'utf8')

async function writeAll (db, table, items) {
  for (let i = 0; i < items.length; i += 25) {
    let RequestItems = { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) }
    while (RequestItems && Object.keys(RequestItems).length) {
      RequestItems = (await db.send(new BatchWriteItemCommand({ RequestItems }))).UnprocessedItems
    }
  }
}

// The snapshot as the Relay Proxy stores it: one item per flag and segment, and $inited.
function relayItems (document) {
  const items = []
  for (const [kind, all] of [['features', document.flags], ['segments', document.segments]]) {
    for (const [key, object] of Object.entries(all || {})) {
      items.push({ namespace: { S: kind }, key: { S: key }, version: { N: String(object.version || 1) }, item: { S: JSON.stringify(object) } })
    }
  }
  items.push({ namespace: { S: '$inited' }, key: { S: '$inited' } })
  return items
}

// A client that asks DynamoDB what each request consumed, and adds it up:
// the sources' own requests, counted as the table bills them.
function counting (db) {
  const client = {
    units: 0,
    async send (command, options) {
      command.input.ReturnConsumedCapacity = 'TOTAL'
      const answer = await db.send(command, options)
      for (const used of [].concat(answer.ConsumedCapacity || [])) client.units += used.CapacityUnits || 0
      return answer
    }
  }
  return client
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function timed (fn) {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

function perDay (units, ttlSeconds) {
  const refreshesPerSecond = INSTANCES / ttlSeconds
  return { perSecond: units * refreshesPerSecond, dollars: units * refreshesPerSecond * 86400 * DOLLARS_PER_READ_UNIT }
}

async function main () {
  const server = await startDynalite()
  try {
    const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } })
    await createTable(db, 'relay')
    await createTable(db, 'flags')
    const document = JSON.parse(text)
    await writeAll(db, 'relay', relayItems(document))
    const snapshot = Snapshot.fromJson(text)
    const published = await publish(snapshot, { table: 'flags', client: db })

    // Read units of one refresh, by each source's own requests: the Relay
    // table's strongly consistent Queries of every page; the published head
    // alone; the head and every chunk.
    const relayCounter = counting(db)
    await sources.dynamodb({ table: 'relay', client: relayCounter }, Snapshot, limits).load(null)
    const relayUnits = relayCounter.units
    const headCounter = counting(db)
    const store = dynamoDbStore({ table: 'flags', client: headCounter })
    const head = Snapshot.publishedHead((await store.head(null)).text)
    const headUnits = headCounter.units
    await store.chunks(head.chunks.map((chunk) => chunk.name))
    const changedUnits = headCounter.units

    // Refresh times: each client holds the snapshot, and refreshes on every call.
    const relay = new FlagClient({ source: { dynamodb: { table: 'relay', client: db } }, ttlSeconds: 0, logger: { warn () {} } })
    const unchanged = new FlagClient({ source: { published: { table: 'flags', client: db } }, ttlSeconds: 0, logger: { warn () {} } })
    await relay.refresh()
    await unchanged.refresh()
    const times = { relay: [], unchanged: [], changed: [] }
    for (let round = 0; round < ROUNDS; round++) {
      times.relay.push(await timed(() => relay.refresh()))
      times.unchanged.push(await timed(() => unchanged.refresh()))
      // A client that has not seen the snapshot reads the head and every chunk.
      const fresh = new FlagClient({ source: { published: { table: 'flags', client: db } }, logger: { warn () {} } })
      times.changed.push(await timed(() => fresh.refresh()))
      if (fresh.status().snapshotId !== snapshot.id) throw new Error('the published snapshot did not read back')
    }

    console.log(`Snapshot ${(text.length / 1e6).toFixed(2)} MB, ${snapshot.flagKeys.length} flags; published as ${published.chunks} chunks, ${(published.bytes / 1e3).toFixed(0)} KB gzipped.`)
    console.log(`Read units from dynalite's ConsumedCapacity; cost at ${INSTANCES.toLocaleString('en')} concurrent instances, DynamoDB on demand at $0.125 per million read units.`)
    console.log('| refresh | read units | at a 15 s time to live | at a 5 s time to live | refresh time (median of 15, dynalite on this machine) |')
    console.log('|---|---|---|---|---|')
    const row = (label, units, ms) => {
      const at15 = perDay(units, 15)
      const at5 = perDay(units, 5)
      console.log(`| ${label} | ${units} | ${Math.round(at15.perSecond).toLocaleString('en')}/s, $${at15.dollars.toFixed(2)} a day | ${Math.round(at5.perSecond).toLocaleString('en')}/s, $${at5.dollars.toFixed(2)} a day | ${ms.toFixed(1)} ms |`)
    }
    row('Relay Proxy layout: strongly consistent Query of every item', relayUnits, median(times.relay))
    row('published layout, unchanged: one GetItem of the head', headUnits, median(times.unchanged))
    const once = changedUnits * INSTANCES
    console.log(`| published layout, changed: the head and every chunk (BatchGetItem) | ${changedUnits} | once per instance per published change: ${once.toLocaleString('en')} units, $${(once * DOLLARS_PER_READ_UNIT).toFixed(4)} a change | the same | ${median(times.changed).toFixed(1)} ms |`)
    await pinning(db, document, snapshot)
  } finally {
    stop(server)
  }
}

// Requests pinned to the benchmark snapshot by a decision token, in
// functions that hold a later generation (one flag changed): the first
// request for it reads its generation (head and chunks); later ones find it
// kept; and an evaluation of a pinned context beside an unpinned one.
async function pinning (db, document, pinned) {
  const signingKey = 'bench-signing-key-0123456789abcdef'
  const keys = pinned.flagKeys
  const later = structuredClone(document)
  later.flags[keys[0]].version = (later.flags[keys[0]].version || 1) + 1
  await publish(Snapshot.fromJson(JSON.stringify(later)), { table: 'flags', client: db })
  const user = { kind: 'user', key: 'user-1' }
  const token = pinned.decisionToken(user, [keys[0]], { signingKey })
  const quiet = { warn () {} }
  const first = []
  let units = 0
  for (let round = 0; round < ROUNDS; round++) {
    const counter = counting(db)
    const client = new FlagClient({ source: { published: { table: 'flags', client: counter } }, signingKey, logger: quiet })
    await client.refresh()
    const before = counter.units
    let decided
    first.push(await timed(async () => {
      decided = await client.decide(user, token)
      await client.variation(keys[1], decided, null)
    }))
    if (decided.pinnedSnapshotId !== pinned.id) throw new Error('the request was not pinned')
    units = counter.units - before
  }
  const client = new FlagClient({ source: { published: { table: 'flags', client: db } }, signingKey, logger: quiet })
  await client.decide(user, token)
  const kept = []
  for (let round = 0; round < ROUNDS; round++) kept.push(await timed(() => client.decide(user, token)))
  // Per evaluation: distinct users, every flag evaluated, each user with a
  // token from the pinned snapshot or from the held one (which pins nothing).
  const users = Array.from({ length: 200 }, (_, n) => ({ kind: 'user', key: `user-${n}` }))
  const held = await client.snapshot()
  const contexts = {
    pinned: await Promise.all(users.map((u) => client.decide(u, pinned.decisionToken(u, [keys[0]], { signingKey })))),
    held: await Promise.all(users.map((u) => client.decide(u, held.decisionToken(u, [keys[0]], { signingKey }))))
  }
  if (contexts.held.some((c) => c.pinnedSnapshotId !== null)) throw new Error('a token from the held snapshot pinned a request')
  const perEvaluation = {}
  for (const round of [0, 1]) {
    for (const [name, list] of Object.entries(contexts)) {
      const start = process.hrtime.bigint()
      for (const context of list) for (const key of keys) await client.variation(key, context, null)
      const ns = Number(process.hrtime.bigint() - start) / (list.length * keys.length)
      if (round === 1) perEvaluation[name] = ns
    }
  }
  console.log('')
  console.log(`Requests pinned to a decision token's snapshot, in functions holding a later generation (medians of ${ROUNDS}):`)
  console.log('| pinned request | read units | time |')
  console.log('|---|---|---|')
  console.log(`| first for its snapshot: the generation's head and every chunk, then one evaluation | ${units} | ${median(first).toFixed(1)} ms |`)
  console.log(`| its snapshot kept: decide() | 0 | ${(median(kept) * 1000).toFixed(0)} µs |`)
  console.log(`Per evaluation, ${users.length} users with a token × ${keys.length} flags: pinned ${perEvaluation.pinned.toFixed(0)} ns, unpinned (a token from the held snapshot) ${perEvaluation.held.toFixed(0)} ns (${(perEvaluation.pinned / perEvaluation.held).toFixed(2)}×).`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
