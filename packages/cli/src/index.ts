// @murmur/cli: the `murmur` command line and its command framework.
export * from './command.ts'
export { commands } from './commands/index.ts'
export { main, murmur, version } from './main.ts'
