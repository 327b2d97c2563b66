'use strict'
// FlagClient: what a Lambda handler uses. It loads a snapshot from a file, a
// URL or the Relay Proxy's DynamoDB table, refreshes it when its time to live
// has passed on the wall clock (a frozen Lambda's monotonic clock can stand
// still), and holds no connection and no timer between invocations.

const fs = require('node:fs/promises')
const { Snapshot } = require('./index.js')

const DEFAULT_TTL_SECONDS = 15
const DEFAULT_TIMEOUT_MS = 5000
const NOT_READY = Object.freeze({ kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' })

/** A JSON file: re-read when its modification time or size changed. */
function fileSource (path) {
  let seen = null
  return {
    describe: () => `file ${path}`,
    async load (current) {
      const stat = await fs.stat(path)
      const stamp = `${stat.mtimeMs}:${stat.size}`
      if (current && stamp === seen) return current
      const snapshot = Snapshot.fromJson(await fs.readFile(path))
      seen = stamp
      return snapshot
    }
  }
}

/** A URL (a CDN or S3 object): revalidated with If-None-Match, so an unchanged snapshot costs no parse. */
function urlSource ({ url, headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS, fetch: fetchImpl = globalThis.fetch }) {
  let etag = null
  return {
    describe: () => `url ${url}`,
    async load (current) {
      const request = { ...headers }
      if (current && etag) request['if-none-match'] = etag
      const response = await fetchImpl(url, { headers: request, signal: AbortSignal.timeout(timeoutMs) })
      if (response.status === 304 && current) return current
      if (!response.ok) throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`)
      const snapshot = Snapshot.fromJson(Buffer.from(await response.arrayBuffer()))
      etag = response.headers.get('etag')
      return snapshot
    }
  }
}

/**
 * The Relay Proxy's DynamoDB table: every page of `[prefix:]features` and
 * `[prefix:]segments`, and the `$inited` marker. Any failing page fails the
 * whole read, so a partial table never replaces a whole snapshot.
 */
function dynamoDbSource ({ table, prefix, client, consistentRead = true }) {
  let dynamodb = client
  let QueryCommand
  function sdk () {
    if (!QueryCommand) {
      // The Lambda Node runtime ships the AWS SDK; load it only when used.
      const aws = require('@aws-sdk/client-dynamodb')
      QueryCommand = aws.QueryCommand
      if (!dynamodb) dynamodb = new aws.DynamoDBClient({})
    }
  }
  const namespace = (kind) => (prefix ? `${prefix}:${kind}` : kind)
  async function query (name) {
    const items = []
    let ExclusiveStartKey
    do {
      const page = await dynamodb.send(new QueryCommand({
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
    async load () {
      sdk()
      const [features, segments, inited] = await Promise.all([
        query(namespace('features')),
        query(namespace('segments')),
        query(namespace('$inited'))
      ])
      return Snapshot.fromDynamoDbItems([...features, ...segments, ...inited], { prefix })
    }
  }
}

function makeSource (source) {
  if (!source || typeof source !== 'object') throw new TypeError('FlagClient needs a source: { file }, { url } or { dynamodb }')
  if (typeof source.load === 'function') return source
  if (source.file) return fileSource(source.file)
  if (source.url) return urlSource(source)
  if (source.dynamodb) return dynamoDbSource(source.dynamodb)
  throw new TypeError('FlagClient needs a source: { file }, { url } or { dynamodb }')
}

class FlagClient {
  #source
  #ttlMs
  #retryMs
  #offline
  #logger
  #now
  #snapshot = null
  #loadedAt = 0
  #checkedAt = 0
  #failedAt = 0
  #lastError = null
  #refreshing = null

  /**
   * @param {object} options
   * @param {object} [options.source] `{ file }`, `{ url, headers, timeoutMs }` or `{ dynamodb: { table, prefix, client } }`
   * @param {number} [options.ttlSeconds=15] how long a snapshot is used before a call refreshes it; 0 refreshes on every call, a negative value never
   * @param {boolean} [options.offline=false] answer every flag with its default, and touch no source
   * @param {object} [options.logger=console] where refresh failures are reported (`warn`)
   */
  constructor (options = {}) {
    this.#offline = Boolean(options.offline)
    this.#source = this.#offline ? null : makeSource(options.source)
    const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS
    this.#ttlMs = ttl < 0 ? Infinity : ttl * 1000
    // After a failure, wait this long before trying the source again, so an
    // outage does not make every call wait for it.
    this.#retryMs = Math.min(Number.isFinite(this.#ttlMs) ? this.#ttlMs : Infinity, options.retryMs ?? 1000)
    this.#logger = options.logger ?? console
    this.#now = options.now ?? Date.now
  }

  /** The snapshot to answer from, refreshed first when its time to live has passed; null when none could be loaded. */
  async snapshot () {
    if (this.#offline) return null
    if (this.#due()) await this.refresh()
    return this.#snapshot
  }

  /** Loads the source now. Concurrent callers share one load; a failure keeps the last good snapshot. */
  refresh () {
    if (this.#offline) return Promise.resolve(null)
    if (!this.#refreshing) {
      this.#refreshing = this.#load().finally(() => {
        this.#refreshing = null
      })
    }
    return this.#refreshing
  }

  async #load () {
    try {
      const loaded = await this.#source.load(this.#snapshot)
      const now = this.#now()
      this.#checkedAt = now
      if (loaded !== this.#snapshot) {
        if (!this.#snapshot || loaded.id !== this.#snapshot.id) {
          this.#snapshot = loaded
          this.#loadedAt = now
        }
      }
      this.#lastError = null
      return this.#snapshot
    } catch (error) {
      this.#failedAt = this.#now()
      this.#lastError = error
      const age = this.#snapshot ? `serving the snapshot loaded ${Math.round((this.#now() - this.#loadedAt) / 1000)} s ago` : 'no snapshot yet: answering defaults'
      this.#logger.warn(`flagcore: refreshing from ${this.#source.describe()} failed (${error.message}); ${age}`)
      return this.#snapshot
    }
  }

  #due () {
    const now = this.#now()
    if (this.#failedAt > this.#checkedAt && now - this.#failedAt < this.#retryMs) return false
    if (!this.#snapshot) return true
    return now - this.#checkedAt >= this.#ttlMs
  }

  /** Where the client stands: the snapshot's id and age, and the last refresh error. */
  status () {
    const now = this.#now()
    return {
      ready: this.#snapshot !== null,
      offline: this.#offline,
      source: this.#source ? this.#source.describe() : null,
      snapshotId: this.#snapshot ? this.#snapshot.id : null,
      ageMs: this.#snapshot ? now - this.#loadedAt : null,
      checkedAgoMs: this.#snapshot ? now - this.#checkedAt : null,
      lastError: this.#lastError
    }
  }

  /** Every flag's value for a context; `valid` is false when no snapshot is loaded. */
  async allFlagsState (context, options) {
    const snapshot = await this.snapshot()
    if (snapshot) return snapshot.allFlagsState(context, options)
    const { FlagsState } = require('./index.js')
    return new FlagsState({ $flagsState: {}, $valid: false })
  }
}

function notReady (defaultValue) {
  return { value: defaultValue, variationIndex: null, reason: NOT_READY }
}

// The variation methods of Snapshot, each answering from the current snapshot
// once it is fresh, or the default (CLIENT_NOT_READY in details) without one.
for (const method of ['variation', 'boolVariation', 'numberVariation', 'stringVariation', 'jsonVariation']) {
  Object.defineProperty(FlagClient.prototype, method, {
    async value (key, context, defaultValue) {
      const snapshot = await this.snapshot()
      return snapshot ? snapshot[method](key, context, defaultValue) : defaultValue
    },
    writable: true,
    configurable: true
  })
  Object.defineProperty(FlagClient.prototype, `${method}Detail`, {
    async value (key, context, defaultValue) {
      const snapshot = await this.snapshot()
      return snapshot ? snapshot[`${method}Detail`](key, context, defaultValue) : notReady(defaultValue)
    },
    writable: true,
    configurable: true
  })
}

module.exports = { FlagClient }
