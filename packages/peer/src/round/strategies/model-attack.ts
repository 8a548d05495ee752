import { logger } from '@libp2p/logger'
import { BYZANTINE_COLLECT_SHARE, BYZANTINE_GATHER_SHARE } from '../../constants.ts'
import { craftModels, type ModelAttackBehaviour } from '../byzantine.ts'
import { ABORTED, unlessAborted } from '../wait.ts'
import { meanOfHeard } from './mean-of-heard.ts'
import type { RoundStrategy } from './types.ts'

const log = logger('murmur:engine')

/**
 * A model-space attacker: collect the honest neighbours' models with part of the deadline, pool
 * them with the colluders, craft one message per receiver, send. The crafted models must reach
 * the honest peers within their deadline, so the attacker never waits past its share of it: a
 * receiver whose neighbourhood it has not heard from this round is aimed at with the last models
 * it pooled.
 */
export function modelAttackStrategy (behaviour: ModelAttackBehaviour): RoundStrategy {
  /** The last pool of honest models: used when this round's has nothing yet. */
  let lastPool = new Map<string, Float32Array>()
  return {
    byzantine: true,
    check (options) {
      if (behaviour.needsTarget && options.graph === undefined) {
        throw new RangeError(`round engine: behaviour ${behaviour.spec} aims at each receiver's neighbourhood and needs the topology (option graph)`)
      }
    },
    async exchange (host, { t, half, waitMs }) {
      const { options, colluders, honestNeighbours } = host
      const { transport, collusion, signal, self } = options
      const started = Date.now()
      const collectBy = started + waitMs * (options.byzantineCollectShare ?? BYZANTINE_COLLECT_SHARE)
      const received = behaviour.needsHonest
        ? await unlessAborted(transport.collect(t, honestNeighbours, collectBy, signal), signal)
        : new Map<string, Float32Array>()
      if (received === ABORTED) return ABORTED
      const pooled = new Map(received)
      if (collusion !== undefined && behaviour.needsHonest) {
        try {
          await collusion.share(t, received)
          const gathered = await unlessAborted(collusion.gather(t, started + waitMs * (options.byzantineGatherShare ?? BYZANTINE_GATHER_SHARE), signal), signal)
          if (gathered === ABORTED) return ABORTED
          for (const [id, model] of gathered) if (!pooled.has(id) && !colluders.has(id)) pooled.set(id, model)
        } catch (error) {
          log.error('%s: round %d: collusion failed, attacking with own observations: %s', self, t, (error as Error).message)
        }
      }
      for (const [id, model] of lastPool) if (!pooled.has(id)) pooled.set(id, model)
      lastPool = pooled
      const crafted = craftModels({
        behaviour,
        round: t,
        receivers: honestNeighbours,
        pooled,
        own: half,
        dimension: options.learner.dimension,
        colluders,
        ...(options.graph === undefined ? {} : { graph: options.graph }),
        seed: options.seed ?? 0
      })
      for (const [receiver, why] of crafted.failures) log('%s: round %d: nothing crafted for %s: %s', self, t, receiver, why)
      await host.sendAll(t, [...crafted.models], started + waitMs)
      return { received }
    },
    expects: (host) => host.honestNeighbours,
    mix: meanOfHeard
  }
}
