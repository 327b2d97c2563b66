// ES module entry: the same objects as the CommonJS one.
import flagcore from './index.js'

export const { Snapshot, Context, SnapshotError, TokenError, EditError, FlagsState, FlagClient, FlagcoreProvider, limits, engine, publish, PublishRace } = flagcore
export default flagcore
