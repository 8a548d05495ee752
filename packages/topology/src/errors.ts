/** One problem found in a topology: where it is (a JSON path such as `edges[3][1]`) and what is wrong. */
export interface TopologyIssue {
  /** JSON path of the offending value (`''` for the document itself), or `line N` for text formats. */
  path: string
  message: string
}

/**
 * Thrown when a topology (file, document or generator request) is invalid. `path` and the first
 * line of the message name the first problem; `issues` lists every problem found.
 */
export class TopologyError extends Error {
  readonly path: string
  readonly issues: readonly TopologyIssue[]
  /** 1-based position of a JSON syntax error, when that is the problem. */
  readonly line?: number
  readonly column?: number

  constructor (issues: TopologyIssue | readonly TopologyIssue[], position?: { line: number, column: number }) {
    const list = Array.isArray(issues) ? issues as readonly TopologyIssue[] : [issues as TopologyIssue]
    if (list.length === 0) throw new Error('TopologyError needs at least one issue')
    super(list.map(formatIssue).join('\n'))
    this.name = 'TopologyError'
    this.path = list[0].path
    this.issues = list
    if (position !== undefined) {
      this.line = position.line
      this.column = position.column
    }
  }
}

/** `path: message`, or just the message for the document root. */
export function formatIssue (issue: TopologyIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`
}
