import type { AnyCommand } from '../command.ts'
import { benchCommand } from './bench/index.ts'
import { joinCommand } from './join/index.ts'
import { launchCommand } from './launch/index.ts'
import { reportCommand } from './report/index.ts'
import { topologyCommand } from './topology/index.ts'

/**
 * The `murmur` command table. A new command is one folder under commands/ exporting its
 * command (or command group) and one line here.
 */
export const commands: AnyCommand[] = [
  launchCommand,
  joinCommand,
  topologyCommand,
  benchCommand,
  reportCommand
]
