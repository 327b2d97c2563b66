'use strict'
// flagcore's published layout in an S3 bucket, written through
// @aws-sdk/client-s3 (which the Lambda Node runtime ships), for functions
// and edge workers to read through CloudFront or S3's own URL with
// `{ published: { url } }`. The chunks and each generation's own head are
// immutable and cached for a year; the head is written last, with
// `no-cache`, and only if it is still the head read before (S3's
// conditional writes: If-None-Match when there was none, If-Match with its
// ETag otherwise), so two publishers never both replace it. S3 has no
// per-object expiry: a lifecycle rule on `snapshots/` lets replaced
// generations go (docs/launchdarkly.md).

// The shared API's bundle: its deadline helper, and the core's bounds once
// the package installed its engine (read at call time).
const api = require('./dist/api.cjs')
const { awsSdk, DEFAULT_TIMEOUT_MS } = require('./sources.js')

// The layout's head, as published.js names it.
const HEAD = 'head.json'
const IMMUTABLE = 'public, max-age=31536000, immutable'
const NO_CACHE = 'no-cache'

/**
 * A publisher's store in `bucket` under `prefix` (the keys `PREFIX/head.json`,
 * `PREFIX/snapshots/...`), through `client` (an S3Client; by default one of
 * the runtime's). The head it replaces is read within the core's bound.
 */
function s3Store ({ bucket, prefix, client, timeoutMs = DEFAULT_TIMEOUT_MS }) {
  if (!bucket) throw new TypeError('the published layout in S3 needs { bucket }')
  const base = prefix ? `${String(prefix).replace(/\/+$/, '')}/` : ''
  let aws = null
  let s3 = client
  function sdk () {
    if (!aws) {
      aws = awsSdk('@aws-sdk/client-s3')
      if (!s3) s3 = new aws.S3Client({})
    }
    return aws
  }
  const send = (command) => api.withDeadline(timeoutMs, `s3 ${bucket}: no answer within ${timeoutMs} ms`, (signal) => s3.send(command, { abortSignal: signal }))
  const put = (name, body, CacheControl, ContentType, condition = {}) => {
    const { PutObjectCommand } = sdk()
    return send(new PutObjectCommand({ Bucket: bucket, Key: base + name, Body: body, CacheControl, ContentType, ...condition }))
  }
  // The ETag of the head `currentHead` read: what `writeHead` requires.
  let headTag = null
  return {
    describe: () => `s3://${bucket}/${base}`,
    /** The head's text, or null when there is none: what a publisher replaces. */
    currentHead () {
      const { GetObjectCommand } = sdk()
      // The answer and its body, within one deadline.
      return api.withDeadline(timeoutMs, `s3 ${bucket}: no answer within ${timeoutMs} ms`, async (signal) => {
        let answer
        try {
          answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: base + HEAD }), { abortSignal: signal })
        } catch (error) {
          // 404 needs s3:ListBucket; without it S3 answers 403 for a key that is not there.
          if (error.name === 'NoSuchKey' || (error.$metadata && error.$metadata.httpStatusCode === 404)) {
            headTag = null
            return null
          }
          throw error
        }
        const { headBytes } = api.limits
        if (!(answer.ContentLength <= headBytes)) {
          if (answer.Body && answer.Body.destroy) answer.Body.destroy()
          throw new Error(`s3://${bucket}/${base}${HEAD} is ${answer.ContentLength} bytes, past the ${headBytes} a head holds: not replaced`)
        }
        // Without it the head's write could not be conditional.
        if (!answer.ETag) throw new Error(`s3://${bucket}/${base}${HEAD} came with no ETag: not replaced`)
        headTag = answer.ETag
        return answer.Body.transformToString()
      })
    },
    async writeChunks (chunks) {
      await Promise.all(chunks.map(({ name, bytes }) => put(name, bytes, IMMUTABLE, 'application/gzip')))
    },
    /** Writes a generation's own head, which no one replaces. */
    writeGenerationHead: (name, text) => put(name, text, IMMUTABLE, 'application/json'),
    /** Writes the head only if it is still the one `currentHead` read (none: that there is none); false when another publisher replaced it. */
    async writeHead (text, previous) {
      const condition = previous === null ? { IfNoneMatch: '*' } : { IfMatch: headTag }
      try {
        await put(HEAD, text, NO_CACHE, 'application/json', condition)
        return true
      } catch (error) {
        const status = error.$metadata && error.$metadata.httpStatusCode
        // 412: the head changed; 409: another conditional write to it was in flight.
        if (error.name === 'PreconditionFailed' || status === 412 || status === 409) return false
        throw error
      }
    },
    /** S3 expires nothing by itself: a lifecycle rule on `snapshots/` does. */
    async expire () {}
  }
}

module.exports = { s3Store }
