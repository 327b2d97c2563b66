// ES module entry for Node: the same objects as the CommonJS one.
import flagcore from './index.cjs'

export const { Snapshot, Context, SnapshotError, TokenError, EditError, FlagsState, FlagClient, FlagcoreProvider, limits, engine } = flagcore
export default flagcore
