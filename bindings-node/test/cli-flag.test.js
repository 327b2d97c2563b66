'use strict'
// The edit commands of this checkout's CLI (`flagcore flag ...`, `history`,
// `diff`, `rollback`), run as a person runs them, with what they publish
// read back by this package's published source: the article's flow on a
// directory, every refusal with its message, racing editors on a directory
// and on DynamoDB (dynalite, started here on 127.0.0.1 and stopped by its
// process id), fifty generations and a rollback to one of them.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

if (process.env.FLAGCORE_IMPL === 'wasm' || process.env.FLAGCORE_PACKAGE) {
  test('flagcore flag', { skip: 'run once, with the flagcore package of this checkout' }, () => {})
  return // a CommonJS module may end early
}

const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const { FlagClient, Snapshot } = require('..')
const { startDynalite, stop, createTable } = require('./dynalite.js')

const cli = process.env.FLAGCORE_CLI || path.join(__dirname, '..', '..', 'target', 'debug', 'flagcore')
const quiet = { warn () {} }
const me = { kind: 'user', key: 'me@example.com' }

function scratch (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-cli-flag-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs the CLI at `at` as `author`; answers { status, stdout, stderr }. */
/** This process's environment without the edit commands' own variables, which a developer may have set. */
function cleanEnv () {
  const env = { ...process.env }
  for (const name of ['FLAGCORE_AT', 'FLAGCORE_COMMENT', 'FLAGCORE_AUTHOR']) delete env[name]
  return env
}

function flagcore (at, args, env = {}) {
  const result = spawnSync(cli, args, { env: { ...cleanEnv(), FLAGCORE_AT: at, FLAGCORE_AUTHOR: 'alice', ...env }, encoding: 'utf8' })
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr }
}

function ok (at, ...args) {
  const result = flagcore(at, args)
  assert.equal(result.status, 0, `flagcore ${args.join(' ')}: ${result.stderr}`)
  return result
}

function refused (at, args, message) {
  const result = flagcore(at, args)
  assert.equal(result.status, 1, `flagcore ${args.join(' ')} should fail: ${result.stderr}`)
  assert.match(result.stderr, message)
  return result
}

const history = (at, ...args) => JSON.parse(ok(at, 'history', '--json', ...args).stdout).generations

test('the article\'s flow on a directory: create, 1%, target me, 10%, 100%, kill, roll back, with a history of every step', async (t) => {
  assert.ok(fs.existsSync(cli), `no CLI at ${cli}: cargo build -p flagcore-cli`)
  const at = path.join(scratch(t), 'flags')
  const reader = new FlagClient({ source: { published: { directory: at } }, ttlSeconds: 0, logger: quiet })
  const share = async () => {
    let on = 0
    for (let i = 0; i < 2000; i++) on += (await reader.boolVariation('canary', { kind: 'user', key: `u${i}` }, false)) ? 1 : 0
    return on / 2000
  }

  ok(at, 'flag', 'create', 'canary', '--comment', 'a canary for the new checkout')
  ok(at, 'flag', 'on', 'canary', '--comment', 'serve it (to nobody yet)')
  assert.equal(await share(), 0)
  ok(at, 'flag', 'rollout', 'canary', '1%', '--comment', 'start at 1%')
  assert.ok(Math.abs(await share() - 0.01) < 0.01)
  ok(at, 'flag', 'target', 'canary', 'true', '--add', me.key, '--comment', 'update my profile to return true')
  assert.equal(await reader.boolVariation('canary', me, false), true)
  const ten = ok(at, 'flag', 'rollout', 'canary', '10%', '--comment', 'raise to 10%').stdout
  assert.ok(Math.abs(await share() - 0.1) < 0.02)
  ok(at, 'flag', 'rollout', 'canary', '100%', '--comment', 'everyone')
  assert.equal(await share(), 1)
  const kill = ok(at, 'flag', 'off', 'canary', '--comment', 'errors up: kill it')
  assert.match(kill.stderr, /canary: off/)
  assert.equal(await reader.boolVariation('canary', me, true), false)
  ok(at, 'rollback', '--to', ten, '--comment', 'back to 10% once fixed')
  await reader.refresh()
  assert.equal(reader.status().snapshotId, ten, 'the rollback is what readers hold')
  assert.ok(Math.abs(await share() - 0.1) < 0.02)
  assert.equal(await reader.boolVariation('canary', me, false), true)

  const steps = history(at)
  assert.deepEqual(steps.map((s) => s.comment), [
    'back to 10% once fixed', 'errors up: kill it', 'everyone', 'raise to 10%',
    'update my profile to return true', 'start at 1%', 'serve it (to nobody yet)', 'a canary for the new checkout'
  ])
  assert.ok(steps.every((s) => s.author === 'alice'))
  assert.deepEqual(steps[3].changes, ['canary: rollout true 10%, false 90%'])
  assert.deepEqual(steps[4].changes, [`canary: target user +${me.key} → true`])
  assert.deepEqual(steps[0].changes, [`canary: changed (rollback to ${ten})`])
  assert.equal(steps[0].id, ten)
  assert.ok(steps.every((s, i) => i === steps.length - 1 || (s.sequence > steps[i + 1].sequence && s.previous === steps[i + 1].id)))
  const text = ok(at, 'history', '--flag', 'canary', '--limit', '2').stdout
  assert.match(text, /^[0-9a-f]{16} {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}alice {2}back to 10% once fixed\n/)
  assert.equal(history(at, '--flag', 'nothing').length, 0)
  assert.match(ok(at, 'flag', 'list').stdout, /^canary +on +true 10%, false 90%$/)
  assert.match(ok(at, 'flag', 'show', 'canary').stdout, /target: +user me@example.com → true/)
  // eval and rollout read what was published.
  assert.equal(JSON.parse(ok(at, 'eval', '-f', 'canary', '-c', JSON.stringify(me)).stdout).value, true)
  assert.match(ok(at, 'rollout', '-f', 'canary', '--synthetic', '1000').stdout, new RegExp(`snapshot ${ten}`))
})

test('every refusal says what to do, and writes nothing', (t) => {
  const at = path.join(scratch(t), 'flags')
  refused(at, ['flag', 'create', 'canary'], /every change needs a comment: give --comment TEXT \(or FLAGCORE_COMMENT\)/)
  assert.equal(fs.existsSync(at), false, 'nothing was written')
  ok(at, 'flag', 'create', 'canary', '--comment', 'c')
  ok(at, 'flag', 'create', 'theme', '--variations', '["classic", "dark", "contrast"]', '--comment', 'c')
  const head = fs.readFileSync(path.join(at, 'head.json'), 'utf8')
  refused(at, ['flag', 'create', 'canary', '--comment', 'c'], /FLAG_EXISTS: flag "canary" exists already/)
  refused(at, ['flag', 'create', 'bad key', '--comment', 'c'], /FLAG_KEY_INVALID/)
  refused(at, ['flag', 'create', 'x', '--variations', '[1, 1]', '--comment', 'c'], /VARIATIONS_INVALID: a flag needs at least two variations, each different/)
  refused(at, ['flag', 'create', 'x', '--variations', '{"a": 1}', '--comment', 'c'], /VARIATIONS_INVALID: "variations" is an array of the flag's values/)
  refused(at, ['flag', 'create', 'x', '--variations', '[a, b]', '--comment', 'c'], /--variations is not JSON .*: give an array, like '\["v1", "v2"\]'/)
  refused(at, ['flag', 'on', 'nope', '--comment', 'c'], /FLAG_NOT_FOUND: there is no flag "nope": `flagcore flag list` lists them/)
  refused(at, ['flag', 'rollout', 'canary', '110%', '--comment', 'c'], /PERCENT_INVALID: "110%" is not a percentage from 0 to 100/)
  refused(at, ['flag', 'rollout', 'theme', '10%', '--comment', 'c'], /ROLLOUT_INVALID: flag "theme" is not boolean: give each share's value, like \{"classic": "10%"\} \(classic=10% on the command line\)/)
  refused(at, ['flag', 'rollout', 'theme', 'classic=10%', 'dark=10%', 'contrast=10%', '--comment', 'c'], /PERCENT_INVALID: the shares sum to 30%, not 100%/)
  refused(at, ['flag', 'rollout', 'theme', 'classic=10%', '--comment', 'c'], /PERCENT_INVALID: the shares sum to 10%, not 100%: give every variation its share, or leave out one, which takes the rest/)
  refused(at, ['flag', 'rollout', 'theme', 'sepia=10%', '--comment', 'c'], /VARIATION_NOT_FOUND: flag "theme" has no variation sepia: its variations are "classic", "dark", "contrast"/)
  refused(at, ['flag', 'target', 'canary', 'true', '--comment', 'c'], /name the keys: --add KEY\.\.\. and\/or --remove KEY\.\.\./)
  ok(at, 'flag', 'target', 'canary', 'true', '--add', 'alice', '--comment', 'c')
  const targeted = fs.readFileSync(path.join(at, 'head.json'), 'utf8')
  refused(at, ['flag', 'target', 'canary', 'false', '--add', 'alice', '--comment', 'c'], /KEY_TARGETED_TWICE/)
  refused(at, ['flag', 'target', 'canary', 'true', '--remove', 'bob', '--comment', 'c'], /KEY_NOT_TARGETED/)
  refused(at, ['flag', 'show', 'nope'], /FLAG_NOT_FOUND/)
  refused(at, ['rollback', '--to', '0123456789abcdef', '--comment', 'c'], /there is no generation 0123456789abcdef \(`flagcore history` lists them\)/)
  refused(at, ['rollback', '--to', 'latest', '--comment', 'c'], /"latest" is not a generation id/)
  assert.equal(fs.readFileSync(path.join(at, 'head.json'), 'utf8'), targeted)
  assert.notEqual(targeted, head)
  // Nothing to change: said, and nothing written.
  const again = ok(at, 'flag', 'off', 'canary', '--comment', 'c')
  assert.match(again.stderr, /nothing to change \(canary: off\); nothing was written/)
  assert.equal(fs.readFileSync(path.join(at, 'head.json'), 'utf8'), targeted)
  // A plain file keeps no history.
  const file = path.join(scratch(t), 'flags.json')
  const made = ok(file, 'flag', 'create', 'canary', '--comment', 'c').stdout
  assert.match(ok(file, 'flag', 'on', 'canary', '--comment', 'c').stderr, new RegExp(`flags\\.json: ${made} → [0-9a-f]{16}\n`))
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).flags.canary.on, true)
  refused(file, ['history'], /is a plain file: it keeps no history/)
  // The kill switch previews with --dry-run too, and writes nothing then.
  const text = fs.readFileSync(file, 'utf8')
  assert.match(ok(file, 'flag', 'off', 'canary', '--comment', 'c', '--dry-run').stderr, /canary: off\n(.|\n)*--dry-run: nothing was written/)
  assert.equal(fs.readFileSync(file, 'utf8'), text)
})

test('--dry-run previews and writes nothing; the preview and `diff` count the moves `flagcore rollout` shows', (t) => {
  const dir = scratch(t)
  const at = path.join(dir, 'flags')
  ok(at, 'flag', 'create', 'canary', '--comment', 'c')
  ok(at, 'flag', 'on', 'canary', '--comment', 'c')
  const one = ok(at, 'flag', 'rollout', 'canary', '1%', '--comment', 'c').stdout
  const head = fs.readFileSync(path.join(at, 'head.json'), 'utf8')
  const dry = ok(at, 'flag', 'rollout', 'canary', '10%', '--comment', 'c', '--dry-run')
  assert.equal(dry.stdout, '')
  assert.match(dry.stderr, /canary: rollout true 10%, false 90%\nof 10000 synthetic user contexts:\n {2}canary: changed\n +(\d+) \( *[\d.]+%\) {2}false → true\n/)
  assert.match(dry.stderr, /--dry-run: nothing was written/)
  assert.equal(fs.readFileSync(path.join(at, 'head.json'), 'utf8'), head)
  const ten = ok(at, 'flag', 'rollout', 'canary', '10%', '--comment', 'c').stdout

  const contexts = path.join(dir, 'contexts.jsonl')
  fs.writeFileSync(contexts, Array.from({ length: 5000 }, (_, i) => JSON.stringify({ kind: 'user', key: `c${i}` })).join('\n'))
  const diff = JSON.parse(ok(at, 'diff', one, ten, '--contexts', contexts, '--json').stdout)
  const moves = diff.flags.canary.moves
  assert.equal(diff.flags.canary.change, 'changed')
  assert.equal(moves.length, 1, 'raising a rollout moves nobody back')
  assert.deepEqual([moves[0].from, moves[0].to], [false, true])
  const trueShare = (generation) => {
    const report = JSON.parse(ok(at, 'rollout', '--snapshot', generationFile(dir, at, generation), '-f', 'canary', '--contexts', contexts, '--json').stdout)
    return report.variations.find((v) => v.value === true).contexts
  }
  assert.equal(moves[0].contexts, trueShare(ten) - trueShare(one))
  assert.equal(moves[0].share, moves[0].contexts / 5000)
  refused(at, ['diff', one, ten, '--synthetic', '1000001'], /--synthetic 1000001: a preview evaluates at most 1000000 contexts/)
  refused(at, ['flag', 'rollout', 'canary', '20%', '--comment', 'c', '--synthetic', '1000001'], /at most 1000000 contexts/)
  // Files work as well as generation ids.
  const byFile = JSON.parse(ok(at, 'diff', generationFile(dir, at, one), generationFile(dir, at, ten), '--contexts', contexts, '--json').stdout)
  assert.deepEqual(byFile.flags, diff.flags)
})

/** Generation `id` at the directory `at`, as a snapshot file: its chunks, gunzipped and joined. */
function generationFile (dir, at, id) {
  const zlib = require('node:zlib')
  const head = JSON.parse(fs.readFileSync(path.join(at, 'snapshots', id, 'head.json'), 'utf8'))
  const text = Buffer.concat(head.chunks.map((c) => zlib.gunzipSync(fs.readFileSync(path.join(at, c.name)))))
  const file = path.join(dir, `generation-${id}.json`)
  fs.writeFileSync(file, text)
  return file
}

/** Two editors, each adding `count` keys of its own to one flag's targets at once. */
async function race (at, env, count) {
  const editor = (name) => new Promise((resolve, reject) => {
    const script = Array.from({ length: count }, (_, i) =>
      `"${cli}" flag target canary true --add ${name}-${i} --comment "${name} ${i}" --author ${name} || exit 1`).join('\n')
    const child = spawn('sh', ['-c', script], { env: { ...cleanEnv(), FLAGCORE_AT: at, ...env } })
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += d })
    child.on('exit', (code) => code === 0 ? resolve(stderr) : reject(new Error(`${name}: ${stderr}`)))
  })
  const [a, b] = await Promise.all([editor('ana'), editor('ben')])
  return (a + b).split('\n').filter((l) => /making the change again/.test(l)).length
}

async function checkRace (at, env, reader, count) {
  const retried = await race(at, env, count)
  const records = JSON.parse(spawnSync(cli, ['history', '--json', '--limit', '1000'], { env: { ...cleanEnv(), FLAGCORE_AT: at, ...env }, encoding: 'utf8' }).stdout).generations
  const added = records.flatMap((r) => r.changes).filter((c) => c.startsWith('canary: target'))
  assert.equal(added.length, 2 * count, 'one record per edit')
  await reader.refresh()
  for (const name of ['ana', 'ben']) {
    for (let i = 0; i < count; i++) {
      assert.equal(await reader.boolVariation('canary', { kind: 'user', key: `${name}-${i}` }, false), true, `${name}-${i} was lost`)
    }
  }
  return retried
}

test('two editors racing on a directory lose no edit', async (t) => {
  const at = path.join(scratch(t), 'flags')
  ok(at, 'flag', 'create', 'canary', '--comment', 'c')
  ok(at, 'flag', 'on', 'canary', '--comment', 'c')
  const reader = new FlagClient({ source: { published: { directory: at } }, ttlSeconds: 0, logger: quiet })
  // How often they raced depends on the machine: cli/src/place.rs races
  // two editors step by step; this runs them for real, and loses nothing.
  const retried = await checkRace(at, {}, reader, 12)
  console.log(`racing editors (directory): 24 edits, none lost, ${retried} made again after losing a race`)
})

test('two editors racing on DynamoDB lose no edit, and the table keeps the history', async (t) => {
  const server = await startDynalite()
  t.after(() => stop(server))
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'flags')
  const env = { AWS_ENDPOINT_URL_DYNAMODB: server.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }
  const at = 'dynamodb:flags/prod'
  const first = flagcore(at, ['flag', 'create', 'canary', '--comment', 'c'], env)
  assert.equal(first.status, 0, first.stderr)
  assert.equal(flagcore(at, ['flag', 'on', 'canary', '--comment', 'c'], env).status, 0)
  const reader = new FlagClient({ source: { published: { table: 'flags', prefix: 'prod', client: db } }, ttlSeconds: 0, logger: quiet })
  const retried = await checkRace(at, env, reader, 8)
  console.log(`racing editors (DynamoDB): 16 edits, none lost, ${retried} made again after losing a race`)
  // A rollback on DynamoDB: the first generation's flags are newest again.
  const back = flagcore(at, ['rollback', '--to', first.stdout, '--comment', 'start again'], env)
  assert.equal(back.status, 0, back.stderr)
  assert.equal(await reader.boolVariation('canary', { kind: 'user', key: 'ana-0' }, true), false)
  assert.equal(reader.status().snapshotId, first.stdout)
})

test('fifty generations: history lists them newest first, and a rollback is newest for readers and pinned requests', async (t) => {
  const at = path.join(scratch(t), 'flags')
  ok(at, 'flag', 'create', 'canary', '--comment', 'generation 1')
  ok(at, 'flag', 'on', 'canary', '--comment', 'generation 2')
  const ids = []
  for (let n = 3; n <= 50; n++) ids.push(ok(at, 'flag', 'rollout', 'canary', `${n}%`, '--comment', `generation ${n}`, '--yes').stdout)
  const all = history(at, '--limit', '100')
  assert.equal(all.length, 50)
  assert.deepEqual(all.map((g) => g.comment), Array.from({ length: 50 }, (_, i) => `generation ${50 - i}`))
  assert.equal(history(at, '--limit', '7').length, 7)

  // A request pinned to generation 50 (canary on), after the flag was
  // killed and the place rolled back to a generation where it is off.
  const signingKey = 'flagcore-test-signing-key-0123456789'
  const pinning = new FlagClient({ source: { published: { directory: at } }, signingKey, ttlSeconds: 0, logger: quiet })
  const upstream = new FlagClient({ source: { published: { directory: at } }, signingKey, logger: quiet })
  const user = { kind: 'user', key: 'u7' }
  assert.equal(ids.length, 48)
  const held = await upstream.snapshot()
  const token = await upstream.decisionToken(user, ['canary'], { snapshot: held })
  const killed = ok(at, 'flag', 'off', 'canary', '--comment', 'kill').stdout
  ok(at, 'flag', 'on', 'canary', '--comment', 'on again')
  ok(at, 'rollback', '--to', killed, '--comment', 'back to the kill')
  const decided = await pinning.decide(user, token)
  assert.equal(pinning.status().snapshotId, killed)
  assert.equal(decided.pinnedSnapshotId, held.id)
  assert.equal((await pinning.variationDetail('canary', decided, true)).reason.kind, 'OFF', 'the rollback, newest, switched it off')
  assert.equal(history(at, '--limit', '1')[0].comment, 'back to the kill')
  assert.equal(history(at, '--limit', '100').length, 53)
  assert.equal(history(at).length, 50, 'the default limit is 50')
})

test('the kill switch: from `flagcore flag off` to a polling reader\'s answer', async (t) => {
  const at = path.join(scratch(t), 'flags')
  ok(at, 'flag', 'create', 'canary', '--comment', 'c')
  ok(at, 'flag', 'on', 'canary', '--comment', 'c')
  ok(at, 'flag', 'rollout', 'canary', '100%', '--comment', 'c')
  const reader = new FlagClient({ source: { published: { directory: at } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await reader.boolVariation('canary', me, false), true)
  const started = process.hrtime.bigint()
  const off = spawn(cli, ['flag', 'off', 'canary', '--comment', 'kill'], { env: { ...cleanEnv(), FLAGCORE_AT: at, FLAGCORE_AUTHOR: 'alice' } })
  const exited = new Promise((resolve) => off.on('exit', (code) => resolve([code, Number(process.hrtime.bigint() - started) / 1e6])))
  let seenMs
  let done
  exited.then((result) => { done = result })
  while (seenMs === undefined) {
    if (await reader.boolVariation('canary', me, true) === false) seenMs = Number(process.hrtime.bigint() - started) / 1e6
    else if (done && done[0] !== 0) assert.fail(`flagcore flag off exited ${done[0]}`)
    else if (Number(process.hrtime.bigint() - started) > 30e9) assert.fail('the reader never saw the kill in 30 s')
    else await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const [code, commandMs] = await exited
  assert.equal(code, 0)
  console.log(`kill switch (directory, debug build): the command took ${commandMs.toFixed(0)} ms; a reader polling every 5 ms answered off ${seenMs.toFixed(0)} ms after it started`)
})
