// A ready Lambda handler that publishes LaunchDarkly's flags in flagcore's
// layout when their content changed, read from LaunchDarkly's polling API
// (with webhooks) or from the Relay Proxy's DynamoDB table (see sync.js).
import type { DynamoDbSender, S3Target } from './dist/index'

export interface SyncTable {
  table: string
  prefix?: string
  client?: DynamoDbSender
}

export interface SyncResult {
  id: string | null
  unchanged: boolean
  chunks: number
  bytes: number
  /** The codes of what the table's read warned of (STORE_NOT_INITIALIZED, OTHER_NAMESPACES), which travel to every reader's status().warnings. */
  warnings: string[]
}

/** A Lambda function URL's request (payload format 2.0), as a LaunchDarkly webhook arrives. */
export interface FunctionUrlRequest {
  requestContext: { http: { method: string } }
  headers?: Record<string, string | undefined>
  body?: string
  isBase64Encoded?: boolean
}

/** The same request through API Gateway's REST API or a load balancer. */
export interface ProxyRequest {
  httpMethod: string
  headers?: Record<string, string | undefined>
  body?: string | null
  isBase64Encoded?: boolean
}

/** A Lambda function URL's answer: 200 with the SyncResult, 401 for a webhook whose signature does not hold, 413, 405, or 502 when the sync failed. */
export interface FunctionUrlResponse {
  statusCode: number
  headers: Record<string, string>
  body: string
}

/**
 * The handler, configured from the environment: LAUNCHDARKLY_SDK_KEY (or LAUNCHDARKLY_SDK_KEY_SECRET_ARN),
 * LAUNCHDARKLY_BASE_URI, LAUNCHDARKLY_FILTER, LAUNCHDARKLY_WEBHOOK_SECRET, and FLAGCORE_TABLE and FLAGCORE_PREFIX (or
 * FLAGCORE_BUCKET and FLAGCORE_BUCKET_PREFIX) to sync from LaunchDarkly; FLAGCORE_RELAY_TABLE, FLAGCORE_RELAY_PREFIX, FLAGCORE_TABLE and FLAGCORE_PREFIX to sync from the
 * Relay Proxy's table; FLAGCORE_RETENTION_SECONDS for both.
 */
export declare function handler(event: FunctionUrlRequest | ProxyRequest): Promise<FunctionUrlResponse>
export declare function handler(event?: unknown): Promise<SyncResult>

/**
 * A handler publishing the environment of LaunchDarkly's server-side `sdkKey` to `to`: a schedule's event polls once
 * (conditionally) and publishes what changed; a function URL's request is a webhook, verified with `webhookSecret`.
 * `id` is null when an unchanged answer came before anything was published by this instance.
 */
export declare function createLaunchDarklySync(options: {
  sdkKey: string
  baseUri?: string
  filter?: string
  /** A DynamoDB table, or an S3 bucket (`{ bucket, prefix, client }`) to read through CloudFront. */
  to: SyncTable | S3Target
  retentionSeconds?: number
  webhookSecret?: string
  timeoutMs?: number
  fetch?: typeof fetch
  now?: () => number
  logger?: { warn(message: string): void, error(message: string): void }
}): {
  (event: FunctionUrlRequest | ProxyRequest): Promise<FunctionUrlResponse>
  (event?: unknown): Promise<SyncResult>
}

/** A handler syncing `relay` to `to` (default: the Relay table itself, under `[prefix:]flagcore`). */
export declare function createSyncHandler(options: { relay: SyncTable, to?: SyncTable, retentionSeconds?: number, now?: () => number, logger?: { warn(message: string): void } }): () => Promise<SyncResult>
