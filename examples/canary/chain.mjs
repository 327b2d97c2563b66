// make demo-canary's call chain: hello (Node, in this process) → world
// (Python, behind examples/chain/api_gateway.py) → edge (flagcore-wasm in
// workerd), all on 127.0.0.1, each reading the flags published in one
// directory; every process it starts is stopped by its id in close().

import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { edgeModules } from '../chain/edge-modules.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..', '..')
const fromNode = createRequire(path.join(root, 'bindings-node', 'package.json'))
const fromWasm = createRequire(path.join(root, 'bindings-wasm', 'package.json'))
const { freePort } = fromNode('./test/dynalite.js')
const PYTHON = process.env.PYTHON ?? path.join(root, '.venv', 'bin', 'python')
// The functions' time to live, in real seconds: well under a compressed minute.
const TTL_SECONDS = 0.5
const CONCURRENCY = 32
const FLAG = 'new-checkout'

/** A static server of `directory`, as S3 or a CDN would serve the published layout. */
function serveDirectory (directory) {
  const base = path.resolve(directory)
  const server = http.createServer((req, res) => {
    let file
    try {
      file = path.resolve(base, '.' + decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname))
    } catch {
      file = null
    }
    if (file === null || !file.startsWith(base + path.sep)) {
      res.writeHead(400)
      res.end()
      return
    }
    fs.readFile(file, (error, data) => {
      if (error) {
        res.writeHead(404)
        res.end()
        return
      }
      const etag = `"${createHash('sha256').update(data).digest('hex').slice(0, 16)}"`
      res.writeHead(req.headers['if-none-match'] === etag ? 304 : 200, { etag })
      res.end(req.headers['if-none-match'] === etag ? undefined : data)
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/** Starts world and waits for its port; its EMF lines go to `onLine`. */
function startWorld (env, onLine) {
  const child = spawn(PYTHON, [path.join(root, 'examples', 'chain', 'api_gateway.py'), path.join(here, 'chain', 'world.py')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`world exited with ${code}`)))
    let port = null
    let rest = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop()
      for (const line of lines) {
        const listening = port === null && line.match(/^listening (\d+)$/)
        if (listening) {
          port = Number(listening[1])
          resolve({ child, port })
        } else if (line.startsWith('{')) {
          onLine(line)
        }
      }
    })
  })
}

/**
 * The chain for one run: `serve(requests)` sends each `{ key, n }` through
 * it and answers what each function decided and what world measured;
 * `lines(served)` waits for the EMF lines of that many world invocations.
 */
export async function startChain ({ dir, at, namespace, functionName, broken, seed, signingKey }) {
  const lines = []
  let measured = 0
  const files = await serveDirectory(at)
  const { Miniflare } = fromWasm('miniflare')
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: await freePort(),
    modules: edgeModules(path.join(here, 'chain', 'edge.mjs')),
    compatibilityDate: '2026-04-01',
    bindings: { FLAG_KEY: FLAG, FLAGS_URL: `http://127.0.0.1:${files.address().port}/`, FLAGS_TTL_SECONDS: String(TTL_SECONDS), FLAGCORE_SIGNING_KEY: signingKey }
  })
  let world = null
  let stopWorld = () => {}
  let handler
  try {
    const edgeUrl = await mf.ready
    world = await startWorld({
      FLAGS_DIRECTORY: at, FLAGS_TTL_SECONDS: String(TTL_SECONDS), FLAGCORE_SIGNING_KEY: signingKey, EDGE_URL: edgeUrl.href,
      AWS_LAMBDA_FUNCTION_NAME: functionName, METRICS_NAMESPACE: namespace, DEMO_BROKEN: broken ? '1' : '0', DEMO_SEED: String(seed)
    }, (line) => {
      lines.push(line)
      if (line.includes('"Latency"')) measured++
    })
    const { child } = world
    child.removeAllListeners('exit')
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const onExit = () => child.kill()
    process.on('exit', onExit)
    stopWorld = async () => {
      process.off('exit', onExit)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill()
        await exited
      }
    }

    // hello beside node_modules/flagcore, as in a deployed function, with
    // its environment read when the module loads.
    const helloDir = path.join(dir, 'hello')
    fs.mkdirSync(path.join(helloDir, 'node_modules'), { recursive: true })
    fs.symlinkSync(path.join(root, 'bindings-node'), path.join(helloDir, 'node_modules', 'flagcore'), 'dir')
    fs.copyFileSync(path.join(here, 'chain', 'hello.mjs'), path.join(helloDir, 'hello.mjs'))
    Object.assign(process.env, { FLAG_KEY: FLAG, FLAGS_DIRECTORY: at, FLAGS_TTL_SECONDS: String(TTL_SECONDS), FLAGCORE_SIGNING_KEY: signingKey, WORLD_URL: `http://127.0.0.1:${world.port}/world` })
    ;({ handler } = await import(pathToFileURL(path.join(helloDir, 'hello.mjs')).href))
  } catch (error) {
    await stopWorld()
    await mf.dispose()
    files.close()
    throw error
  }

  return {
    async serve (requests) {
      const answers = new Array(requests.length)
      let next = 0
      async function worker () {
        while (next < requests.length) {
          const at = next++
          const { key, n } = requests[at]
          const answer = await handler({ userId: key, request: n })
          if (!answer.world) throw new Error(`the chain failed for ${key}: ${JSON.stringify(answer)}`)
          // One answer per chain, and world's and edge's decided by
          // hello's token, not by their own snapshots.
          answers[at] = {
            onCanary: answer.world.value,
            error: answer.world.error ? 1 : 0,
            latency: answer.world.latency,
            split: answer.hello !== answer.world.value || answer.world.value !== answer.edge.value ||
              answer.world.token?.applied !== true || answer.edge.token?.applied !== true
          }
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      return answers
    },
    async lines (served) {
      for (let waited = 0; measured < served; waited += 10) {
        if (waited > 10_000) throw new Error(`world wrote the metrics of ${measured} invocations, not ${served}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      measured -= served
      return lines.splice(0)
    },
    /** Waits out the functions' time to live, so that an edit reaches them all. */
    settle () {
      return new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 100))
    },
    async close () {
      await stopWorld()
      await mf.dispose()
      files.close()
    }
  }
}
