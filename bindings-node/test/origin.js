'use strict'
// flagcore's published layout as files behind a URL, served by a server of
// the tests' own on 127.0.0.1 and a free port.

const http = require('node:http')
const zlib = require('node:zlib')
const { Snapshot } = require('../../js/test/impl.js')

// The layout as files behind a URL, laid out here as `flagcore publish --to DIR` writes it.
function serve () {
  const files = new Map()
  const requests = []
  const server = http.createServer((request, response) => {
    const name = decodeURIComponent(new URL(request.url, 'http://x').pathname.replace(/^\/flags\//, ''))
    requests.push(name)
    const file = files.get(name)
    if (!file) return response.writeHead(404).end()
    const etag = `"${file.etag}"`
    if (request.headers['if-none-match'] === etag) return response.writeHead(304, { etag }).end()
    response.writeHead(200, { etag }).end(file.bytes)
  })
  let version = 0
  // The chunks and the generation's own head; then the head, unless `lag`
  // (a head read that has not caught up with the publisher).
  const publish = (snapshot, { now = Date.now(), lag = false } = {}) => {
    const { head, chunks } = snapshot.publish({ now })
    const parsed = Snapshot.publishedHead(head)
    parsed.chunks.forEach((chunk, i) => files.set(chunk.name, { bytes: zlib.gzipSync(chunks[i]), etag: `c${version}` }))
    files.set(Snapshot.publishedGenerationHead(parsed.id), { bytes: Buffer.from(head), etag: `g${version}` })
    if (!lag) files.set('head.json', { bytes: Buffer.from(head), etag: `h${++version}` })
  }
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${server.address().port}/flags`, files, requests, publish, close: () => server.close() })
  }))
}

module.exports = { serve }
