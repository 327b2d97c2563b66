'use strict'
// A local stand-in for S3, on 127.0.0.1 and a free port: path-style
// PutObject (with S3's conditional writes, If-None-Match: * and If-Match)
// and GetObject, as @aws-sdk/client-s3 sends them, and the same objects
// over plain HTTP with their ETag and Cache-Control, as CloudFront serves
// them to `{ published: { url } }` readers. AWS's own SDK writes through it
// and flagcore's URL reader reads it in published-s3.test.js: that is what
// proves it speaks both. It stops with `close()`.

const crypto = require('node:crypto')
const http = require('node:http')

function xmlError (res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`)
}

/** `objects` maps `bucket/key` to `{ body, etag, cacheControl, contentType }`; `puts` lists the keys written, in order. */
async function startS3 () {
  const objects = new Map()
  const puts = []
  const faults = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    const name = decodeURIComponent(url.pathname.slice(1))
    const parts = []
    req.on('data', (part) => parts.push(part))
    req.on('end', () => {
      const fault = faults.shift()
      if (fault) return xmlError(res, fault.status, fault.code ?? 'InternalError', 'failed on purpose')
      const stored = objects.get(name)
      if (req.method === 'PUT') {
        if (req.headers['if-none-match'] === '*' && stored) return xmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')
        if (req.headers['if-match'] !== undefined && (!stored || stored.etag !== req.headers['if-match'])) {
          return stored ? xmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold') : xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.')
        }
        const body = Buffer.concat(parts)
        const etag = `"${crypto.createHash('md5').update(body).digest('hex')}"`
        objects.set(name, { body, etag, cacheControl: req.headers['cache-control'], contentType: req.headers['content-type'] })
        puts.push(name)
        res.writeHead(200, { etag }).end()
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return xmlError(res, 405, 'MethodNotAllowed', req.method)
      if (!stored) return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.')
      const headers = { etag: stored.etag, 'content-length': stored.body.length, 'content-type': stored.contentType ?? 'binary/octet-stream' }
      if (stored.cacheControl) headers['cache-control'] = stored.cacheControl
      if (req.headers['if-none-match'] === stored.etag) return res.writeHead(304, { etag: stored.etag }).end()
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : stored.body)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const endpoint = `http://127.0.0.1:${server.address().port}`
  return {
    endpoint,
    objects,
    puts,
    fail: (...more) => faults.push(...more),
    close: () => new Promise((resolve) => server.close(resolve))
  }
}

module.exports = { startS3 }
