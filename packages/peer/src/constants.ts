// Round engine

/** An engine given no `evalEvery` evaluates on the test set every round (and always at the last). */
export const ENGINE_EVAL_EVERY = 1

/**
 * How often a launched swarm evaluates unless told otherwise, in rounds: `murmur launch`'s
 * default and the benches'. Evaluation costs a pass over the test set, so not every round.
 */
export const DEFAULT_EVAL_EVERY = 5

/**
 * A model attacker's share of the round's wait spent collecting its honest neighbours' models,
 * and the share by which the colluders' pool must be gathered: the rest is left for the crafted
 * models to reach the honest peers within their own deadline.
 */
export const BYZANTINE_COLLECT_SHARE = 0.4
export const BYZANTINE_GATHER_SHARE = 0.6

/** The least a round waits for its neighbours' models (or the round timeout, if smaller), ms. */
export const DEADLINE_FLOOR_MS = 2000

/** The adaptive deadline is this multiple of the recent 90th-percentile arrival time. */
export const DEADLINE_FACTOR = 3

/** Rounds of arrival times the deadline learns from, and how many it needs before it adapts. */
export const DEADLINE_WINDOW = 20
export const DEADLINE_WARMUP = 3

/** Collected rounds whose timing the inbox keeps, so models arriving late still count towards their own round. */
export const TIMINGS_KEPT = 4

/** A round that ends this long (or a whole deadline, if longer) past its deadline was stalled, ms. */
export const STALL_MS = 2000

/** After a stalled round, the most the engine lets queued frames come in before it looks where the neighbours are, ms. */
export const STALL_SETTLE_MS = 1000

/** Rounds past the one being collected whose frames are buffered: a node further behind catches up. */
export const ROUNDS_AHEAD = 2

/** Rounds in a row a neighbour may miss before, if also silent, it is waited for only up to the deadline's floor. */
export const SILENT_AFTER_MISSES = 2

/** A loss gap standing in for a candidate whose held-out loss is not finite: large, so it gets no weight. */
export const NON_FINITE_GAP = 1e12
