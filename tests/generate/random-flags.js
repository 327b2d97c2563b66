'use strict'
// Random but valid flag data and contexts, seeded so that every run (and every
// runtime's differential test) sees the same cases: rollouts with and without
// seeds (0 included), experiments, every operator family, segments,
// prerequisites, targets and multi-kind contexts.
//
// As a command, it prints one JSON line per snapshot, {"seed", "snapshot",
// "contexts"}, for test runners in other languages:
//   node tests/generate/random-flags.js --seed 20261127 --snapshots 20 --contexts 10000

// mulberry32: small and seedable.
function rng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    below: (n) => Math.floor(next() * n),
    chance: (p) => next() * 100 < p,
    pick: (items) => items[Math.floor(next() * items.length)]
  }
}

const EMAILS = ['ana@example.com', 'li@example.com', 'sam@shop.test', 'kim@corp.example', 'jo@mail.test']
const COUNTRIES = ['SE', 'US', 'DE', 'BR', 'JP']
const VERSIONS = ['1.0.0', '1.2', '2.0.0-rc.1', '2.0.0', '2.10.1', '3', 'not-a-version']
const DATES = ['2017-12-06T07:00:00Z', '2021-01-01T00:00:00.000+02:00', '2030-06-30T12:00:00Z', 'nope']

function weights (r, count) {
  const cuts = Array.from({ length: count - 1 }, () => r.below(100001)).sort((a, b) => a - b)
  const out = []
  let last = 0
  for (const cut of [...cuts, 100000]) {
    out.push(cut - last)
    last = cut
  }
  return out
}

function rollout (r, variations) {
  const out = { variations: weights(r, 2 + r.below(2)).map((weight) => ({ variation: r.below(variations), weight, untracked: r.chance(15) })) }
  if (r.chance(35)) out.kind = 'experiment'
  const seed = r.below(4)
  if (seed === 0) out.seed = 0
  else if (seed === 1) out.seed = r.below(1000) - 500
  if (r.chance(30)) out.bucketBy = r.pick(['email', 'age', 'country'])
  if (r.chance(20)) out.contextKind = 'org'
  return out
}

function clause (r, segments) {
  switch (r.below(10)) {
    case 0: return { attribute: 'email', op: 'in', values: [r.pick(EMAILS), r.pick(EMAILS)] }
    case 1: return { attribute: 'email', op: r.pick(['startsWith', 'endsWith', 'contains']), values: [r.pick(['ana', '@example.com', 'shop', 'kim@'])] }
    case 2: return { attribute: 'email', op: 'matches', values: [r.pick(['^ana', 'example\\.com$', '^[a-z]+@', 'shop|corp'])] }
    case 3: return { attribute: 'country', op: 'in', values: [r.pick(COUNTRIES), r.pick(COUNTRIES)], negate: r.chance(20) }
    case 4: return { attribute: 'age', op: r.pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual']), values: [r.below(80)] }
    case 5: return { attribute: 'signup', op: r.pick(['before', 'after']), values: [r.chance(50) ? r.pick(DATES) : 1600000000000 + r.below(1000000) * 1000000] }
    case 6: return { attribute: 'version', op: r.pick(['semVerEqual', 'semVerLessThan', 'semVerGreaterThan']), values: [r.pick(VERSIONS)] }
    case 7: if (segments > 0) return { attribute: '', op: 'segmentMatch', values: [`s${r.below(segments)}`] }
    // falls through
    case 8: return { contextKind: 'user', attribute: '/nested/plan', op: 'in', values: [r.pick(['free', 'pro'])] }
    default: return { attribute: 'key', op: 'in', values: [`user-${r.below(40)}`, `user-${r.below(40)}`] }
  }
}

function snapshot (r) {
  const segments = {}
  const segmentCount = r.below(4)
  for (let s = 0; s < segmentCount; s++) {
    segments[`s${s}`] = {
      key: `s${s}`,
      version: 1,
      salt: `salt${s}`,
      included: Array.from({ length: r.below(6) }, () => `user-${r.below(40)}`),
      excluded: Array.from({ length: r.below(6) }, () => `user-${r.below(40)}`),
      rules: Array.from({ length: r.below(3) }, () => {
        const rule = { id: `sr${r.below(100)}`, clauses: [clause(r, s)] }
        if (r.chance(40)) {
          rule.weight = r.below(100001)
          if (r.chance(30)) rule.bucketBy = 'email'
        }
        return rule
      })
    }
  }
  const flags = {}
  const flagCount = 4 + r.below(10)
  for (let f = 0; f < flagCount; f++) {
    const variations = r.chance(50) ? [true, false] : ['v0', 'v1', 'v2']
    const choose = (into) => {
      if (r.chance(50)) into.variation = r.below(variations.length)
      else into.rollout = rollout(r, variations.length)
      return into
    }
    flags[`f${f}`] = {
      key: `f${f}`,
      version: 1 + r.below(9),
      on: r.chance(90),
      salt: `salt-${f}`,
      variations,
      offVariation: r.chance(70) ? r.below(variations.length) : null,
      prerequisites: f > 0 && r.chance(30) ? [{ key: `f${r.below(f)}`, variation: r.below(2) }] : [],
      targets: r.chance(40) ? [{ variation: r.below(variations.length), values: [`user-${r.below(40)}`, `user-${r.below(40)}`] }] : [],
      contextTargets: [],
      rules: Array.from({ length: r.below(4) }, (_, i) => choose({ id: `rule-${i}`, clauses: [clause(r, segmentCount)] })),
      fallthrough: choose({}),
      trackEvents: false,
      trackEventsFallthrough: false,
      clientSide: false,
      deleted: false
    }
  }
  return { flags, segments }
}

function context (r) {
  const user = { kind: 'user', key: `user-${r.below(r.chance(50) ? 40 : 10000)}` }
  if (r.chance(80)) user.email = r.pick(EMAILS)
  if (r.chance(70)) user.country = r.pick(COUNTRIES)
  if (r.chance(60)) user.age = r.below(90)
  if (r.chance(50)) user.version = r.pick(VERSIONS)
  if (r.chance(50)) user.signup = r.chance(50) ? r.pick(DATES) : 1600000000000 + r.below(1000000) * 1000000
  if (r.chance(40)) user.nested = { plan: r.pick(['free', 'pro']) }
  if (r.chance(30)) {
    const { kind, ...single } = user
    return { kind: 'multi', user: single, org: { key: `org-${r.below(10)}`, email: r.pick(EMAILS) } }
  }
  return user
}

/** Snapshot number `index` of a run seeded `seed`, and `contexts` contexts for it. */
function generate (seed, index, contexts) {
  const r = rng(seed + index)
  const data = snapshot(r)
  return { seed: seed + index, snapshot: data, contexts: Array.from({ length: contexts }, () => context(r)) }
}

module.exports = { rng, snapshot, context, generate }

if (require.main === module) {
  const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((a) => a.trim().split(/\s+/)))
  const seed = Number(args.seed ?? 20261127)
  const count = Number(args.snapshots ?? 20)
  const contexts = Number(args.contexts ?? 10000)
  for (let i = 0; i < count; i++) process.stdout.write(JSON.stringify(generate(seed, i, contexts)) + '\n')
}
