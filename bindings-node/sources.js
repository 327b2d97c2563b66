'use strict'
// FlagClient sources that need Node: a JSON file, and the Relay Proxy's
// DynamoDB table through @aws-sdk/client-dynamodb (which the Lambda Node
// runtime ships). The URL source is in api.js, shared with the edge.

const fs = require('node:fs/promises')

/** A JSON file: re-read when its modification time or size changed. */
function fileSource (path, Snapshot) {
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

/**
 * The Relay Proxy's DynamoDB table: every page of `[prefix:]features` and
 * `[prefix:]segments`, and the `$inited` marker. Any failing page fails the
 * whole read, so a partial table never replaces a whole snapshot.
 */
function dynamoDbSource ({ table, prefix, client, consistentRead = true }, Snapshot) {
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

module.exports = { file: fileSource, dynamodb: dynamoDbSource }
