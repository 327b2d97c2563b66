// The guarded canary's rule, its CloudWatch window and its controller's
// step, from the native engine (see canary.js and docs/canary.md).

/** A canary plan: the flag, the values under test and in control, the steps, the bake, the guards. */
export interface CanaryPlan {
  flag: string
  canary?: unknown
  control?: unknown
  steps?: number[]
  bakeSeconds?: number
  settleSeconds?: number
  minSample?: number
  alpha?: number
  guards: Array<{ metric: string, kind: 'rate' | 'mean', tolerance?: number, worse?: 'higher' | 'lower' }>
}

/** What the rule decides, in words and figures. */
export interface CanaryDecision {
  action: 'advance' | 'hold' | 'rollback' | 'halt' | 'complete'
  reason: string
  figures: Record<string, unknown>
}

/** What one run of the controller does. */
export interface CanaryOutcome {
  action: 'start' | 'advance' | 'hold' | 'rollback' | 'halt' | 'complete' | 'stop' | 'ended'
  reason: string
  figures: Record<string, unknown> | null
  /** The edit to publish, as `snapshot.edit` takes a change; null: none. */
  edit: Record<string, unknown> | null
  /** The history comment of that edit. */
  comment: string
  /** With an edit, the decisions its history record holds: those since the last edit, this one last, each with its figures. */
  decisions: Array<{ atMs: number, step: number, share: number, action: string, reason: string, figures?: Record<string, unknown> }>
  /** How many older decisions the state could not keep. */
  decisionsLeftOut: number
  /** The state's text to keep; null: keep nothing. */
  state: string | null
}

/** A plan, a state, a window or an answer refused. */
export class CanaryError extends Error {
  readonly code: 'PLAN_INVALID' | 'STATE_INVALID' | 'WINDOW_INVALID' | 'METRICS_INVALID'
  readonly path: string
}

export function decide (plan: CanaryPlan, step: number, startedMs: number, nowMs: number, window: unknown): CanaryDecision

/** One run on `flags`, a snapshot's JSON text or bytes. */
export function step (flags: string | Buffer, plan: CanaryPlan, options: { state?: string | null, window?: unknown, windowError?: string | null, nowMs: number }): CanaryOutcome

export function cloudwatchRequest (plan: CanaryPlan, options: { namespace?: string, functionName?: string | null, canary: number, control: number, startMs: number, endMs: number }): Record<string, unknown> | null

export function cloudwatchWindow (plan: CanaryPlan, pages: unknown[] | null): Record<string, unknown>

/** What one invocation of the canary's handler did. */
export interface CanaryRun {
  action: CanaryOutcome['action'] | 'none'
  reason: string
  figures: Record<string, unknown> | null
  /** The generation it published, if any. */
  generation: string | null
}

/**
 * A ready Lambda handler for an EventBridge schedule: one run of the
 * controller an invocation, for flags published in DynamoDB with their
 * metrics in CloudWatch. Options, else FLAGCORE_CANARY_PLAN, FLAGCORE_TABLE,
 * FLAGCORE_PREFIX, FLAGCORE_METRICS_NAMESPACE, FLAGCORE_CANARY_FUNCTION.
 */
export function createCanaryHandler (options?: {
  plan?: CanaryPlan
  table?: string
  prefix?: string
  namespace?: string
  functionName?: string
  dynamodb?: unknown
  cloudwatch?: unknown
  now?: () => number
  log?: (line: string) => void
}): (event?: unknown) => Promise<CanaryRun>
