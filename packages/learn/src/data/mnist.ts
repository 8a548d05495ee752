/**
 * MNIST (the `mnist` package: 10,000 real digits) and Fashion-MNIST (the optional
 * `fashion-mnist` package: 70,000 images) as seeded, deterministic train/test splits.
 * Both packages store one JSON file per class; decoding happens once per process.
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { createRng, permutation } from '@murmur/robust'
import { LearnInputError, checkInt } from '../errors.ts'
import type { ClassificationDataset } from './dataset.ts'

const side = 28
const pixels = side * side

/** All images of a source, grouped by class as the packages store them. */
interface DecodedImages {
  x: Float32Array
  labels: Uint8Array
  count: number
}

export interface ImageSplitOptions {
  /** Training samples (MNIST default 8,000). */
  trainSize?: number
  /** Test samples, disjoint from the training ones (MNIST default 2,000). */
  testSize?: number
  /** Seed of the shuffle that assigns samples to the two sets (default 0). */
  seed?: number
}

export interface ImageSplit {
  train: ClassificationDataset
  test: ClassificationDataset
}

/** One class of either package: `raw` holds its images flat (mnist) or one array per image (fashion-mnist). */
interface ClassEntry { raw: ArrayLike<number> | ArrayLike<ArrayLike<number>> }

const cache = new Map<string, Promise<DecodedImages>>()

/**
 * Copies the per-class arrays into one Float32Array in [0, 1]. mnist stores each class flat, as
 * floats already in [0, 1]; fashion-mnist stores one array of bytes 0..255 per image,
 * recognised by a value above 1.
 */
function decodeClasses (classes: ArrayLike<ClassEntry>, source: string): DecodedImages {
  const perClass: number[] = []
  for (let k = 0; k < 10; k++) {
    const raw = classes[k]?.raw
    if (raw === undefined) throw new LearnInputError('shape-mismatch', `${source}: class ${k} is missing`)
    if (raw.length > 0 && typeof raw[0] !== 'number') {
      // fashion-mnist 1.1.0 has two empty entries in class 0: not images, so skipped.
      let images = 0
      for (let i = 0; i < raw.length; i++) if ((raw[i] as ArrayLike<number>).length > 0) images++
      perClass.push(images)
    } else {
      if (raw.length % pixels !== 0) throw new LearnInputError('shape-mismatch', `${source}: class ${k} has ${raw.length} values, not a multiple of ${pixels}`)
      perClass.push(raw.length / pixels)
    }
  }
  const count = perClass.reduce((a, b) => a + b, 0)
  const x = new Float32Array(count * pixels)
  const labels = new Uint8Array(count)
  let offset = 0
  for (let k = 0; k < 10; k++) {
    const raw = classes[k].raw
    if (raw.length > 0 && typeof raw[0] !== 'number') {
      const images = raw as ArrayLike<ArrayLike<number>>
      let row = offset
      for (let i = 0; i < images.length; i++) {
        if (images[i].length === 0) continue
        if (images[i].length !== pixels) {
          throw new LearnInputError('shape-mismatch', `${source}: image ${i} of class ${k} has ${images[i].length} pixels, expected ${pixels}`)
        }
        x.set(images[i], row * pixels)
        row++
      }
    } else {
      x.set(raw as ArrayLike<number>, offset * pixels)
    }
    labels.fill(k, offset, offset + perClass[k])
    offset += perClass[k]
  }
  let max = 0
  for (let j = 0; j < x.length; j++) if (x[j] > max) max = x[j]
  if (max > 1) for (let j = 0; j < x.length; j++) x[j] /= 255
  return { x, labels, count }
}

async function importClasses (specifier: string, packageName: string): Promise<ArrayLike<ClassEntry>> {
  let mod: { default?: unknown }
  try {
    const target = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier
    mod = await import(target) as { default?: unknown }
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new LearnInputError('missing-dependency',
        `${packageName} is not installed: install it with \`npm install ${packageName}\` to use this dataset`)
    }
    throw err
  }
  const classes = (mod.default ?? mod) as ArrayLike<ClassEntry>
  if (classes === null || typeof classes !== 'object' || classes[0] === undefined) {
    throw new LearnInputError('shape-mismatch', `${packageName} (${specifier}) does not export the per-class image lists it should`)
  }
  return classes
}

function loadDecoded (specifier: string, packageName: string): Promise<DecodedImages> {
  let pending = cache.get(specifier)
  if (pending === undefined) {
    pending = importClasses(specifier, packageName).then((classes) => decodeClasses(classes, packageName))
    // A failed load is not cached, so installing the package and retrying works in-process.
    pending.catch(() => cache.delete(specifier))
    cache.set(specifier, pending)
  }
  return pending
}

function split (all: DecodedImages, options: ImageSplitOptions, defaults: { train: number, test: number }, where: string): ImageSplit {
  const trainSize = options.trainSize ?? defaults.train
  const testSize = options.testSize ?? defaults.test
  checkInt(where, 'trainSize', trainSize, 1)
  checkInt(where, 'testSize', testSize, 0)
  if (trainSize + testSize > all.count) {
    throw new LearnInputError('bad-parameter', `${where}: trainSize ${trainSize} + testSize ${testSize} exceeds the ${all.count} available images`)
  }
  const order = permutation(all.count, createRng(options.seed ?? 0))
  const take = (start: number, n: number): ClassificationDataset => {
    const x = new Float32Array(n * pixels)
    const labels = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const src = order[start + i]
      x.set(all.x.subarray(src * pixels, (src + 1) * pixels), i * pixels)
      labels[i] = all.labels[src]
    }
    return { kind: 'classification', x, labels, count: n, features: pixels, numClasses: 10, imageShape: [side, side, 1] }
  }
  return { train: take(0, trainSize), test: take(trainSize, testSize) }
}

/**
 * MNIST digits as a seeded train/test split (default 8,000/2,000): images are 784 floats in
 * [0, 1], labels 0..9. The decoded arrays are cached per process, so later calls only re-split.
 */
export async function loadMnist (options: ImageSplitOptions = {}): Promise<ImageSplit> {
  return split(await loadDecoded('mnist', 'mnist'), options, { train: 8000, test: 2000 }, 'loadMnist')
}

export interface FashionMnistOptions extends ImageSplitOptions {
  /** Module to import instead of the `fashion-mnist` package (a path or specifier; for tests and vendored copies). */
  module?: string
}

/**
 * Fashion-MNIST as a seeded train/test split (default 60,000/10,000). The `fashion-mnist`
 * package is optional and large: without it this rejects with a LearnInputError
 * ('missing-dependency') that says how to install it.
 */
export async function loadFashionMnist (options: FashionMnistOptions = {}): Promise<ImageSplit> {
  const all = await loadDecoded(options.module ?? 'fashion-mnist', 'fashion-mnist')
  return split(all, options, { train: 60000, test: 10000 }, 'loadFashionMnist')
}
