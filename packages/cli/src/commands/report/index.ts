import { join } from 'node:path'
import { renderReport } from '@murmur/bench'
import { defineCommand } from '../../command.ts'

export const reportCommand = defineCommand({
  name: 'report',
  summary: 're-render a benchmark run\'s tables, plots and report.md from its cell files',
  description: 'Re-renders results.json, the CSV tables, plots/*.svg|png and report.md of a `murmur bench` run directory ' +
    'from its run.json and cells/*.json alone (after a change to a suite\'s summary or plots, or to check that the ' +
    'committed report matches its data). Every cell of the run must be finished.',
  positionals: [{ name: 'run-dir', description: 'a run directory written by `murmur bench`', required: true }],
  examples: [
    { command: 'murmur report docs/results/convergence', description: 'redo the convergence report from its cells' }
  ],
  run: async ({ positionals, io }) => {
    const dir = positionals[0]
    const summary = await renderReport(dir)
    const failed = summary.checks.filter((c) => !c.ok).length
    io.stdout(`wrote ${join(dir, 'report.md')}: ${summary.tables.length} tables, ${summary.plots.length} plots, ` +
      `${summary.checks.length - failed} of ${summary.checks.length} checks pass\n`)
  }
})
