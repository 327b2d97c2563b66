'use strict'
// A local stand-in for LaunchDarkly, on 127.0.0.1 and a free port: its
// server-side polling API (`GET /sdk/latest-all` with the SDK key as
// Authorization, an ETag and `304` for If-None-Match), and its webhooks as a
// Lambda function URL delivers them (signed with X-LD-Signature).
// LaunchDarkly's own Node SDK reads it in launchdarkly.test.js: that is what
// proves it speaks the protocol. It stops with `close()`.

const crypto = require('node:crypto')
const http = require('node:http')

/**
 * Serves `payload` (`{ flags, segments }`) to `sdkKey`. `change(payload)`
 * replaces it; `fail(...faults)` makes the next requests fail, one fault
 * each: `{ status }`, `{ delayMs }` (answer late), `{ truncate: true }` (cut
 * the body off halfway), `{ stallMs }` (send half the body, the rest that
 * much later), `{ text }` (answer this body); a 3xx status redirects
 * elsewhere. `requests` lists
 * what was asked.
 */
async function startLaunchDarkly ({ sdkKey, payload }) {
  let body = ''
  let etag = ''
  const faults = []
  const requests = []
  const change = (next) => {
    body = JSON.stringify(next)
    etag = `"${crypto.createHash('sha256').update(body).digest('hex').slice(0, 32)}"`
  }
  change(payload)
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    requests.push({ method: req.method, path: url.pathname, filter: url.searchParams.get('filter'), authorization: req.headers.authorization, ifNoneMatch: req.headers['if-none-match'] ?? null, userAgent: req.headers['user-agent'] })
    const fault = faults.shift()
    const answer = () => {
      if (req.method !== 'GET' || url.pathname !== '/sdk/latest-all') return res.writeHead(404).end()
      if (req.headers.authorization !== sdkKey) return res.writeHead(401).end()
      if (fault && fault.status) return res.writeHead(fault.status, fault.status >= 300 && fault.status < 400 ? { location: '/elsewhere/sdk/latest-all' } : {}).end('failed on purpose')
      if (fault && fault.text !== undefined) return res.writeHead(200, { 'content-type': 'application/json', etag: '"broken"' }).end(fault.text)
      if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end()
      const bytes = Buffer.from(body)
      res.writeHead(200, { 'content-type': 'application/json', etag, 'content-length': bytes.length })
      if (fault && fault.truncate) {
        res.write(bytes.subarray(0, bytes.length >> 1))
        return setTimeout(() => res.socket.destroy(), 20)
      }
      if (fault && fault.stallMs) {
        res.write(bytes.subarray(0, bytes.length >> 1))
        return setTimeout(() => res.end(bytes.subarray(bytes.length >> 1)), fault.stallMs)
      }
      res.end(bytes)
    }
    if (fault && fault.delayMs) setTimeout(answer, fault.delayMs)
    else answer()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sockets = new Set()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return {
    baseUri: `http://127.0.0.1:${server.address().port}`,
    requests,
    change,
    fail: (...more) => faults.push(...more),
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(resolve))
    }
  }
}

/** A LaunchDarkly webhook as a Lambda function URL delivers it, signed with `secret` (none: unsigned). */
function webhookEvent (body, { secret, signature, base64 = false, method = 'POST' } = {}) {
  const headers = { 'content-type': 'application/json', 'user-agent': 'LaunchDarkly' }
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  if (signature !== undefined) headers['x-ld-signature'] = signature
  else if (secret !== undefined) headers['x-ld-signature'] = crypto.createHmac('sha256', secret).update(text).digest('hex')
  return {
    version: '2.0',
    requestContext: { http: { method, path: '/' } },
    headers,
    body: base64 ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: base64
  }
}

module.exports = { startLaunchDarkly, webhookEvent }
