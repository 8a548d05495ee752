// @murmur/bench: benchmark suites, the runner that resumes them and renders their reports
// (JSON, CSV, SVG/PNG plots, Markdown), and the older single-purpose benchmark scripts.
export * from './suite.ts'
export { suites } from './suites/index.ts'
export * from './runner.ts'
export * from './progress.ts'
export * from './plot.ts'
export * from './stats.ts'
export * from './template.ts'
