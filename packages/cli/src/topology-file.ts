import { readTopology, type Topology } from '@murmur/topology'

/** Reads a topology file named on the command line; errors start with the file name. */
export async function readTopologyFile (file: string): Promise<Topology> {
  try {
    return await readTopology(file)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ENOENT') throw new Error(`${file}: no such file`)
    if (code === 'EISDIR') throw new Error(`${file}: is a directory`)
    // Several validation problems come one per line: indent the ones after the first.
    throw new Error(`${file}: ${(error as Error).message.split('\n').join('\n  ')}`)
  }
}
