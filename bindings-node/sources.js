'use strict'
// FlagClient sources that need Node: a JSON file, and the Relay Proxy's
// DynamoDB table through @aws-sdk/client-dynamodb (which the Lambda Node
// runtime ships). The URL source is the shared API's (js/sources.js), with the edge.

const fs = require('node:fs/promises')
const { withDeadline } = require('./dist/api.cjs')

/**
 * A JSON file: re-read when its modification time or size changed. A local
 * file needs no timeout; one larger than a snapshot may be is not read.
 */
function fileSource (path, Snapshot, limits) {
  let seen = null
  return {
    describe: () => `file ${path}`,
    /** Forgets the last read's stamp, so that the next load reads it again: the client refused what it loaded. */
    reset () {
      seen = null
    },
    async load (current) {
      const stat = await fs.stat(path)
      const stamp = `${stat.mtimeMs}:${stat.size}`
      if (current && stamp === seen) return current
      if (stat.size > limits.snapshotBytes) throw new Error(`${path}: ${stat.size} bytes, more than the ${limits.snapshotBytes} a snapshot holds`)
      const snapshot = Snapshot.fromJson(await fs.readFile(path))
      seen = stamp
      return snapshot
    }
  }
}

/**
 * The Relay Proxy's DynamoDB table: every page of `[prefix:]features` and
 * `[prefix:]segments`, and the `$inited` marker. Any failing page fails the
 * whole read, so a partial table never replaces a whole snapshot; a read
 * with no items at all (a wrong table or prefix) fails too (DYNAMODB_EMPTY).
 * Items equal to the last read's keep the snapshot in use without parsing
 * them again. Each request is abandoned after `timeoutMs`.
 */
function dynamoDbSource ({ table, prefix, client, consistentRead = true, timeoutMs = DEFAULT_TIMEOUT_MS }, Snapshot, limits) {
  const { sdk, send } = dynamoDb(client, table, timeoutMs)
  let lastItems = null
  const namespace = (kind) => (prefix ? `${prefix}:${kind}` : kind)
  // A page holds at most 1 MB: one read takes no more pages, over all its
  // namespaces, than a snapshot's bound.
  const maxPages = Math.ceil(limits.snapshotBytes / (1024 * 1024))
  async function query (name, budget) {
    const items = []
    let ExclusiveStartKey
    const { QueryCommand } = sdk()
    do {
      if (++budget.pages > maxPages) throw new Error(`dynamodb ${table}: more than ${maxPages} pages, more than a snapshot holds`)
      const page = await send(new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#namespace = :namespace',
        ExpressionAttributeNames: { '#namespace': 'namespace' },
        ExpressionAttributeValues: { ':namespace': { S: name } },
        ConsistentRead: consistentRead,
        ExclusiveStartKey
      }))
      items.push(...(page.Items || []))
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey)
    return items
  }
  return {
    describe: () => `dynamodb ${table}${prefix ? ` (prefix ${prefix})` : ''}`,
    async load (current) {
      // The $inited marker first: the Relay Proxy writes it after everything
      // else, so items read after it are a whole data set, and a table being
      // written anew (no marker yet) cannot pass for one.
      const budget = { pages: 0 }
      const inited = await query(namespace('$inited'), budget)
      const [features, segments] = await Promise.all([query(namespace('features'), budget), query(namespace('segments'), budget)])
      const items = [...features, ...segments, ...inited]
      if (current && lastItems && sameItems(items, lastItems)) return current
      const snapshot = Snapshot.fromDynamoDbItems(items, { prefix })
      lastItems = items
      return snapshot
    },
    /** Forgets the last read, so that the next load parses it again: the client refused what it loaded. */
    reset () {
      lastItems = null
    }
  }
}

const DEFAULT_TIMEOUT_MS = 5000

/**
 * DynamoDB for a source or store of `table`: `sdk()`, the AWS SDK's module,
 * loaded on first use (the Lambda Node runtime ships it), which also makes a
 * client from the environment when none was given; and `send(command)`
 * through that client, abandoned after `timeoutMs`.
 */
function dynamoDb (client, table, timeoutMs) {
  let aws = null
  let dynamodb = client
  return {
    sdk () {
      if (!aws) {
        aws = awsSdk('@aws-sdk/client-dynamodb')
        if (!dynamodb) dynamodb = new aws.DynamoDBClient({})
      }
      return aws
    },
    send (command) {
      return withDeadline(timeoutMs, `dynamodb ${table}: no answer within ${timeoutMs} ms`,
        (signal) => dynamodb.send(command, { abortSignal: signal }))
    }
  }
}

// One of the AWS SDK's modules, which the Lambda Node runtime ships; outside
// Lambda it is the application's to install, and its absence says so in one
// line rather than in a stack of the resolver's.
function awsSdk (name) {
  try {
    return require(name)
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(`'${name}'`)) {
      throw new Error(`${name} is not installed: the Lambda Node runtime ships it; elsewhere run \`npm install ${name}\``)
    }
    throw error
  }
}

// Whether two reads returned the same items, attribute by attribute. The
// SDK's typed values are objects like { S: '...' }; anything deeper than
// that counts as changed, which costs a parse and nothing else.
function sameItems (a, b) {
  const sameFlat = (x, y) => {
    if (x === y) return true
    if (!x || !y || typeof x !== 'object' || typeof y !== 'object') return false
    const keys = Object.keys(x)
    return keys.length === Object.keys(y).length && keys.every((k) => typeof x[k] !== 'object' && x[k] === y[k])
  }
  return a.length === b.length && a.every((item, i) => {
    const keys = Object.keys(item)
    return keys.length === Object.keys(b[i]).length && keys.every((k) => sameFlat(item[k], b[i][k]))
  })
}

module.exports = { file: fileSource, dynamodb: dynamoDbSource, dynamoDb, awsSdk, DEFAULT_TIMEOUT_MS }
