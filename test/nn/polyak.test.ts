import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { variableFrom } from '../../src/nn/init.js';
import { softUpdate } from '../../src/nn/polyak.js';
import { tf } from '../../src/nn/tf.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

describe('Polyak averaging of target networks', () => {
  it('moves each target τ of the way to its source; τ = 1 copies', async () => {
    const target = [variableFrom(tf.tensor1d([0, 10])), variableFrom(tf.tensor2d([[4]]))];
    const source = [tf.tensor1d([1, 0]), tf.tensor2d([[0]])];
    softUpdate(target, source, 0.25);
    expect(Array.from(await target[0].data())).toEqual([0.25, 7.5]);
    expect(Array.from(await target[1].data())).toEqual([3]);
    softUpdate(target, source, 1);
    expect(Array.from(await target[0].data())).toEqual([1, 0]);
    tf.dispose([...target, ...source]);
  });
});
