import type { RawBehaviour } from '../byzantine.ts'
import { ABORTED, unlessAborted } from '../wait.ts'
import { meanOfHeard } from './mean-of-heard.ts'
import type { RoundStrategy } from './types.ts'

/** Sends its honest neighbours frames they must refuse, and hears their models as an honest node would. */
export function rawFramesStrategy (behaviour: RawBehaviour): RoundStrategy {
  return {
    byzantine: true,
    async exchange (host, { t, half, deadline }) {
      const { options, honestNeighbours } = host
      const { transport, signal, self, learner } = options
      const frames = honestNeighbours.map((id, receiverIndex) => [id, behaviour.frame({
        swarm: options.swarm ?? 'murmur',
        sender: self,
        round: t,
        dimension: learner.dimension,
        dtype: options.dtype ?? 'f32',
        params: half,
        receiverIndex,
        seed: options.seed ?? 0
      })] as const)
      const outcome = await unlessAborted(Promise.all([
        host.sendAll(t, frames, deadline),
        transport.collect(t, honestNeighbours, deadline, signal)
      ]), signal)
      if (outcome === ABORTED) return ABORTED
      return { received: outcome[1] }
    },
    expects: (host) => host.honestNeighbours,
    mix: meanOfHeard
  }
}
