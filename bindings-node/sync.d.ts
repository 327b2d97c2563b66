// A ready Lambda handler that publishes the Relay Proxy's DynamoDB table in
// flagcore's layout when its content changed (see sync.js).
import type { DynamoDbSender } from './dist/index'

export interface SyncTable {
  table: string
  prefix?: string
  client?: DynamoDbSender
}

export interface SyncResult {
  id: string
  unchanged: boolean
  chunks: number
  bytes: number
  /** The codes of what the table's read warned of (STORE_NOT_INITIALIZED, OTHER_NAMESPACES), which travel to every reader's status().warnings. */
  warnings: string[]
}

/** The handler, configured by FLAGCORE_RELAY_TABLE, FLAGCORE_RELAY_PREFIX, FLAGCORE_TABLE, FLAGCORE_PREFIX and FLAGCORE_RETENTION_SECONDS. */
export declare function handler(event?: unknown): Promise<SyncResult>

/** A handler syncing `relay` to `to` (default: the Relay table itself, under `[prefix:]flagcore`). */
export declare function createSyncHandler(options: { relay: SyncTable, to?: SyncTable, retentionSeconds?: number, now?: () => number, logger?: { warn(message: string): void } }): () => Promise<SyncResult>
