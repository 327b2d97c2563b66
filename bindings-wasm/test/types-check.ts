// Compiled by test/typings.test.js with `tsc --strict --noEmit` and no
// @types: flagcore-wasm's typings accept what its docs show, and refuse what
// only the flagcore package for Node has.
import { Context, FlagClient, Snapshot, SnapshotError, engine, limits, type LDEvaluationDetail } from 'flagcore-wasm'
// @ts-expect-error publish is the Node package's
import { publish } from 'flagcore-wasm'

let flags: FlagClient | undefined

export default {
  async fetch (request: Request, env: { FLAGS_URL: string }): Promise<Response> {
    flags ??= new FlagClient({ source: { url: env.FLAGS_URL }, ttlSeconds: 30 })
    const url = new URL(request.url)
    const user = new Context({ kind: 'user', key: url.searchParams.get('user') ?? 'anonymous' })
    const detail: LDEvaluationDetail<boolean> = await flags.boolVariationDetail('new-checkout', user, false)
    return Response.json({ newCheckout: detail, engine, headBytes: limits.headBytes })
  }
}

export function published (base: string): FlagClient {
  return new FlagClient({ source: { published: { url: base } }, ttlSeconds: 5 })
}

export function parse (text: string): Snapshot | null {
  try {
    return Snapshot.fromJson(text)
  } catch (error) {
    if (error instanceof SnapshotError) console.log(error.code, error.path)
    return null
  }
}

// @ts-expect-error a file source is the Node package's
export const fromFile = new FlagClient({ source: { file: 'flags.json' } })
// @ts-expect-error so is the published layout in a directory
export const fromDirectory = new FlagClient({ source: { published: { directory: '/var/flags' } } })
// @ts-expect-error and publishing
export const laidOut = (snapshot: Snapshot) => snapshot.publish()
export { publish }
