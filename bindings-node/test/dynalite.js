'use strict'
// dynalite (DynamoDB) for the tests that need it: started on 127.0.0.1 and a
// free port, stopped by its process id.

const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { CreateTableCommand, DescribeTableCommand } = require('@aws-sdk/client-dynamodb')

function freePort () {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// On `port`, or a free one: a test that restarts the server keeps its port.
async function startDynalite (port) {
  port = port || await freePort()
  const cli = path.join(path.dirname(require.resolve('dynalite/package.json')), 'cli.js')
  const child = spawn(process.execPath, [cli, '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0', '--deleteTableMs', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)))
    child.stdout.on('data', (chunk) => { if (String(chunk).includes('listening')) resolve() })
  })
  return { endpoint: `http://127.0.0.1:${port}`, pid: child.pid, child }
}

function stop (server) {
  try {
    process.kill(server.pid)
  } catch {}
}

// The Relay Proxy's table layout: `namespace` and `key`.
async function createTable (client, TableName) {
  await client.send(new CreateTableCommand({
    TableName,
    KeySchema: [{ AttributeName: 'namespace', KeyType: 'HASH' }, { AttributeName: 'key', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'namespace', AttributeType: 'S' }, { AttributeName: 'key', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST'
  }))
  // dynalite answers CREATING first, even with --createTableMs 0, and a read
  // in that window fails: a busy machine widens it.
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName }))
    if (Table.TableStatus === 'ACTIVE') return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`table ${TableName} is not ACTIVE after 10 s`)
}

module.exports = { freePort, startDynalite, stop, createTable }
