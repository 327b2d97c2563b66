'use strict'
// flagcore's published layout in Node's stores: a directory, and a DynamoDB
// table through @aws-sdk/client-dynamodb (which the Lambda Node runtime
// ships). The layout itself (the head, the chunks, their checks) is the
// core's (core/src/published/); the reading rule is the shared API's
// js/published.js, with the edge. This file reads and writes the
// bytes, and publishes to DynamoDB.

const fs = require('node:fs/promises')
const path = require('node:path')
const zlib = require('node:zlib')
const { promisify } = require('node:util')
const { dynamoDb, DEFAULT_TIMEOUT_MS } = require('./sources.js')
const { s3Store } = require('./s3.js')

const gzip = promisify(zlib.gzip)

const HEAD = 'head.json'
// BatchGetItem takes at most 100 keys a request, BatchWriteItem 25 items.
const GET_BATCH = 100
const WRITE_BATCH = 25
// How often unprocessed keys are asked for again before a read fails.
const BATCH_RETRIES = 8
/** How long a replaced generation stays readable after it was replaced, by default: readers in the middle of reading it finish, and requests pinned to it (by a decision token issued from it) are answered from it. */
const DEFAULT_RETENTION_SECONDS = 24 * 60 * 60

/**
 * The layout in a directory (`flagcore publish --to DIR`). The head is read
 * whole at every refresh (it is small) and compared by its content: a head
 * replaced by one of the same size and modification time (what `aws s3
 * sync`, `cp -p` or `tar` leave) is not missed. Reads stop at the layout's
 * bounds (`limits`: `headBytes`, `storedChunkBytes`).
 */
function directoryStore (dir, limits) {
  return {
    describe: () => `directory ${dir}`,
    async head (tag) {
      const file = path.join(dir, HEAD)
      const bytes = await readUpTo(file, limits.headBytes)
      if (bytes === null) throw new Error(`${file}: nothing is published there`)
      if (bytes.length > limits.headBytes) throw new Error(`${file}: more than the ${limits.headBytes} bytes a head holds`)
      const text = bytes.toString('utf8')
      return text === tag ? null : { text, tag: text }
    },
    chunks (names) {
      return Promise.all(names.map((name) => readUpTo(path.join(dir, name), limits.storedChunkBytes)))
    },
    async generationHead (name) {
      const bytes = await readUpTo(path.join(dir, name), limits.headBytes)
      return bytes === null ? null : bytes.toString('utf8')
    }
  }
}

// The first `limit + 1` bytes of a file (one past the bound tells it was
// over), or null when it is not there.
async function readUpTo (file, limit) {
  let handle
  try {
    handle = await fs.open(file, 'r')
  } catch (error) {
    if (error.code === 'ENOENT') return null
    throw error
  }
  try {
    const buffer = Buffer.alloc(Math.min(limit + 1, (await handle.stat()).size))
    let at = 0
    while (at < buffer.length) {
      const { bytesRead } = await handle.read(buffer, at, buffer.length - at, at)
      if (bytesRead === 0) break
      at += bytesRead
    }
    return buffer.subarray(0, at)
  } finally {
    await handle.close()
  }
}

/**
 * The layout in a DynamoDB table of the Relay Proxy's key schema
 * (partition key `namespace`, sort key `key`): the head is the item
 * `[prefix:]flagcore` / `head.json`, each chunk an item beside it under its
 * name, its gzip bytes in `data`. A refresh is one eventually consistent
 * GetItem of the head; the chunks are read, all of them, with BatchGetItem.
 */
function dynamoDbStore ({ table, prefix, client, timeoutMs = DEFAULT_TIMEOUT_MS }) {
  if (!table) throw new TypeError('the published layout in DynamoDB needs { table }')
  const namespace = prefix ? `${prefix}:flagcore` : 'flagcore'
  const { sdk, send } = dynamoDb(client, table, timeoutMs)
  const key = (name) => ({ namespace: { S: namespace }, key: { S: name } })
  async function readHead (consistent, name = HEAD) {
    const { GetItemCommand } = sdk()
    const answer = await send(new GetItemCommand({ TableName: table, Key: key(name), ConsistentRead: consistent }))
    const text = answer.Item && answer.Item.head && answer.Item.head.S
    return typeof text === 'string' ? text : null
  }
  return {
    describe: () => `dynamodb ${table} (${namespace})`,
    async head (tag) {
      const text = await readHead(false)
      if (text === null) throw new Error(`dynamodb ${table}: no ${HEAD} under ${namespace}: nothing is published there`)
      return text === tag ? null : { text, tag: text }
    },
    generationHead: (name) => readHead(false, name),
    async chunks (names) {
      const { BatchGetItemCommand } = sdk()
      const found = new Map()
      for (let start = 0; start < names.length; start += GET_BATCH) {
        let keys = names.slice(start, start + GET_BATCH).map(key)
        for (let attempt = 0; keys.length > 0; attempt++) {
          if (attempt > BATCH_RETRIES) throw new Error(`dynamodb ${table}: ${keys.length} chunks still unprocessed after ${BATCH_RETRIES} retries`)
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt))
          const answer = await send(new BatchGetItemCommand({
            RequestItems: { [table]: { Keys: keys, ConsistentRead: false } }
          }))
          for (const item of (answer.Responses && answer.Responses[table]) || []) {
            if (item.data && item.data.B) found.set(item.key.S, item.data.B)
          }
          const unprocessed = answer.UnprocessedKeys && answer.UnprocessedKeys[table]
          keys = (unprocessed && unprocessed.Keys) || []
        }
      }
      return names.map((name) => found.get(name) ?? null)
    },
    /** The head's text, read strongly consistent, or null: what a publisher replaces. */
    currentHead: () => readHead(true),
    async writeChunks (chunks) {
      const { BatchWriteItemCommand } = sdk()
      for (let start = 0; start < chunks.length; start += WRITE_BATCH) {
        let requests = chunks.slice(start, start + WRITE_BATCH).map(({ name, bytes }) => ({
          PutRequest: { Item: { ...key(name), data: { B: bytes } } }
        }))
        for (let attempt = 0; requests.length > 0; attempt++) {
          if (attempt > BATCH_RETRIES) throw new Error(`dynamodb ${table}: ${requests.length} chunks still unwritten after ${BATCH_RETRIES} retries`)
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt))
          const answer = await send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }))
          requests = (answer.UnprocessedItems && answer.UnprocessedItems[table]) || []
        }
      }
    },
    /** Writes a generation's own head, which no one replaces. */
    async writeGenerationHead (name, text) {
      const { PutItemCommand } = sdk()
      await send(new PutItemCommand({ TableName: table, Item: { ...key(name), head: { S: text } } }))
    },
    /** Writes the head only if the head is still `previous` (null: none yet). */
    async writeHead (text, previous) {
      const { PutItemCommand } = sdk()
      const condition = previous === null
        ? { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': 'key' } }
        : { ConditionExpression: '#head = :previous', ExpressionAttributeNames: { '#head': 'head' }, ExpressionAttributeValues: { ':previous': { S: previous } } }
      try {
        await send(new PutItemCommand({ TableName: table, Item: { ...key(HEAD), head: { S: text } }, ...condition }))
      } catch (error) {
        if (error.name === 'ConditionalCheckFailedException') throw new PublishRace(`dynamodb ${table}: another publisher replaced the head meanwhile; its snapshot stays`)
        throw error
      }
    },
    /** Writes a history record (`history/<sequence>.json`), which nothing replaces or expires. */
    async writeRecord (name, text) {
      const { PutItemCommand } = sdk()
      await send(new PutItemCommand({ TableName: table, Item: { ...key(name), record: { S: text } } }))
    },
    /** A text kept beside the layout (a canary's state), read strongly consistent, or null. */
    async readText (name) {
      const { GetItemCommand } = sdk()
      const answer = await send(new GetItemCommand({ TableName: table, Key: key(name), ConsistentRead: true }))
      const text = answer.Item && answer.Item.text && answer.Item.text.S
      return typeof text === 'string' ? text : null
    },
    /** Keeps `text` under `name` only if it is still `previous` (null: none yet); false when another writer changed it. */
    async writeText (name, text, previous) {
      const { PutItemCommand } = sdk()
      const condition = previous === null
        ? { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': 'key' } }
        : { ConditionExpression: '#text = :previous', ExpressionAttributeNames: { '#text': 'text' }, ExpressionAttributeValues: { ':previous': { S: previous } } }
      try {
        await send(new PutItemCommand({ TableName: table, Item: { ...key(name), text: { S: text } }, ...condition }))
        return true
      } catch (error) {
        if (error.name === 'ConditionalCheckFailedException') return false
        throw error
      }
    },
    /** Lets a replaced generation's items expire through the table's TTL attribute `ttl`. */
    async expire (names, atSeconds) {
      const { UpdateItemCommand } = sdk()
      for (const name of names) {
        await send(new UpdateItemCommand({
          TableName: table,
          Key: key(name),
          UpdateExpression: 'SET #ttl = :at',
          ConditionExpression: 'attribute_exists(#key)',
          ExpressionAttributeNames: { '#ttl': 'ttl', '#key': 'key' },
          ExpressionAttributeValues: { ':at': { N: String(Math.floor(atSeconds)) } }
        })).catch((error) => {
          if (error.name !== 'ConditionalCheckFailedException') throw error
        })
      }
    }
  }
}

/** Another publisher wrote the head between this one's read and write. */
class PublishRace extends Error {
  constructor (message) {
    super(message)
    this.name = 'PublishRace'
    this.code = 'PUBLISH_RACE'
  }
}

/** What FlagClient's `{ published: ... }` reads in Node, beyond `{ url }` and `{ store }`: `{ directory }` or `{ table, prefix, client }`, within the layout's `limits`. */
function publishedStore (options, limits) {
  if (options.directory) return directoryStore(options.directory, limits)
  if (options.dir) {
    // Its first name; `directory` is Python's too.
    process.emitWarning('flagcore: { published: { dir } } is deprecated; write { published: { directory } }', 'DeprecationWarning', 'FLAGCORE_PUBLISHED_DIR')
    return directoryStore(options.dir, limits)
  }
  if (options.table) return dynamoDbStore(options)
  return null
}
publishedStore.accepts = '{ directory } or { table, prefix, client }'


/**
 * Publishes `snapshot` in flagcore's layout to the DynamoDB table `to`
 * (`{ table, prefix, client }`), or to the S3 bucket `to` (`{ bucket,
 * prefix, client }`: see s3.js): the chunks (gzip) first, then the head, on
 * the condition that the head is still the one read before, so two
 * publishers never interleave; nothing when the head already names the
 * snapshot's content id, and what its source says of it. Each generation also keeps its own copy of its head
 * (`snapshots/<id>/head.json`, written once the head is), for readers
 * pinned to it. The replaced
 * generation's chunks and head then expire after `retentionSeconds`
 * (through the table's TTL attribute `ttl`), so that readers in the middle
 * of reading it can finish, and requests pinned to it are still answered
 * from it.
 * Answers `{ id, unchanged, chunks, bytes }`. (`flagcore publish --to DIR`
 * writes the same layout as files.)
 *
 * The core's plan refuses (SnapshotError `PUBLISH_REFUSED`) a snapshot with
 * errors that `check` lists, and a Relay table that lost its `$inited`
 * marker since the published snapshot was read, unless `force`; and a head a
 * newer flagcore wrote, always (`PUBLISHED_FORMAT_UNKNOWN`). What the
 * snapshot's source said of it (its source problems) travels in the head to
 * every reader's `status().warnings`.
 */
async function publish (snapshot, to, { now = Date.now(), retentionSeconds = DEFAULT_RETENTION_SECONDS, force = false, expect, record } = {}) {
  const store = to && to.bucket ? s3Store(to) : dynamoDbStore(to)
  if (record && !store.writeRecord) throw new TypeError(`${store.describe()}: history records are kept in DynamoDB only: publish an edit with a record to { table }`)
  const previous = await store.currentHead()
  // An edit of what was read: written only over that same head.
  if (expect !== undefined && previous !== expect) {
    throw new PublishRace(`${store.describe()}: another publisher replaced the head since it was read; nothing was written`)
  }
  // What to write, in which order, and what then expires are the core's
  // (flagcore::published::plan), as for `flagcore publish`.
  const plan = snapshot.publishPlan(previous, { now, force })
  if (plan.unchanged) return { id: snapshot.id, unchanged: true, chunks: 0, bytes: 0 }
  // The record made (and its comment checked) before anything is written.
  const history = record ? historyRecord(plan.head, previous, record) : null
  const compressed = await Promise.all(plan.chunks.map((chunk) => gzip(chunk, { level: 9 })))
  await store.writeChunks(plan.chunkNames.map((name, i) => ({ name, bytes: compressed[i] })))
  if (await store.writeHead(plan.head, previous) === false) {
    throw new PublishRace(`${store.describe()}: another publisher replaced the head meanwhile; its snapshot stays`)
  }
  // Only once the head is this publisher's: one that lost the race leaves
  // no sequence of its own on a generation.
  await store.writeGenerationHead(plan.generationHead, plan.head)
  if (history) {
    // An edit's history record beside its generation (flagcore history
    // reads it); edits keep every generation: they are the history. The
    // head is live: a record that cannot be written is a warning, as for
    // `flagcore flag`.
    for (let attempt = 1; ; attempt++) {
      try {
        await store.writeRecord(history.name, history.text)
        break
      } catch (error) {
        if (attempt === 3) {
          process.emitWarning(`flagcore: ${store.describe()}: generation ${snapshot.id} is published, but its history record ${history.name} could not be written: ${error.message}`)
          break
        }
        await sleep(100 * attempt)
      }
    }
  } else {
    await store.expire(plan.replaced, now / 1000 + retentionSeconds)
  }
  return { id: snapshot.id, unchanged: false, chunks: compressed.length, bytes: compressed.reduce((sum, chunk) => sum + chunk.length, 0) }
}

// The history record of the generation `head` (its text) publishes over
// `previous` (a head's text, or null), by the core: `{ name, text }`.
function historyRecord (head, previous, { author, comment, changes, decisions, decisionsLeftOut }) {
  const parsed = JSON.parse(head)
  let before = null
  try {
    before = previous === null ? null : JSON.parse(previous).id ?? null
  } catch {}
  try {
    const [name, text] = require('./native.js').historyRecord(JSON.stringify({ sequence: parsed.sequence, id: parsed.id, previous: before, publishedAt: parsed.publishedAt, author, comment, changes, decisions, decisionsLeftOut }))
    return { name, text }
  } catch (error) {
    const text = String(error.message)
    // The comment or author the edits refuse: nothing was written.
    if (text.startsWith('flagcore-edit:')) throw new TypeError(`the history record: ${JSON.parse(text.slice('flagcore-edit:'.length)).message}`)
    throw error
  }
}

function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

module.exports = { publishedStore, dynamoDbStore, directoryStore, publish, PublishRace, DEFAULT_RETENTION_SECONDS }
