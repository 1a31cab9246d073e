/**
 * Faster kernels for tfjs-backend-wasm 4.22, where its own fall off a fast path. Each replaces a
 * registered kernel under the same name, so tfjs's gradients (which are defined per kernel name,
 * and are themselves differentiable) keep working to every order: MAML's meta-gradient included.
 *
 * Measured on one core (Node 20, SIMD build, single thread; docs/benchmarks.md has the workloads):
 * - Slice (and SplitV, Unpack, which call it): copies the WHOLE input out of the wasm heap
 *   (`readSync`) before taking its part, so unstacking a [T, …] tensor costs O(T²): 1.7 s for
 *   tf.unstack of [200, 40, 256]. Here it reads through a view of the heap: ~20 ms.
 * - BatchMatMul with transposeA or transposeB (every matMul's backward pass): XNNPACK only serves
 *   the untransposed case; the rest runs a scalar triple loop, ~10× slower. Here an explicit
 *   transpose (~3 ns per element) feeds the XNNPACK path.
 * - Tanh: scalar std::tanh, ~35 ns per element, 20× XNNPACK's sigmoid. Here tanh(x) = 2σ(2x) − 1
 *   in four XNNPACK kernels, ~5× faster (absolute error ~1e-7).
 */
import { tf } from './tf.js';

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: tf.NamedAttrMap };

let installed = false;

/** Installs the kernels once per process (the registry is global); call once the wasm backend is active. */
export function installWasmKernels(): void {
  if (installed) return;
  installed = true;
  const original = (name: string) => {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`tfjs-backend-wasm has no ${name} kernel to replace`);
    return kernel.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo;
  };
  const batchMatMul = original('BatchMatMul');
  const transpose = original('Transpose');
  const sigmoid = original('Sigmoid');
  const sliceString = original('Slice');
  replace('Slice', ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return sliceString({ inputs, backend, attrs });
    const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
    return slice(backend, x, begin, size);
  });
  replace('SplitV', ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const part = slice(backend, x, [...begin], size);
      begin[axis] += s;
      return part;
    });
  });
  replace('Unpack', ({ inputs, backend, attrs }) => {
    const x = inputs.value as tf.TensorInfo;
    const rank = x.shape.length;
    const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + rank : (attrs.axis as number);
    const outShape = x.shape.filter((_, i) => i !== axis);
    const size = [...x.shape];
    size[axis] = 1;
    return Array.from({ length: x.shape[axis] }, (_, i) => {
      const begin = new Array<number>(rank).fill(0);
      begin[axis] = i;
      return { ...slice(backend, x, begin, size), shape: outShape };
    });
  });
  replace('BatchMatMul', ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const batch = (t: tf.TensorInfo) => t.shape.slice(0, -2).reduce((n, d) => n * d, 1);
    // XNNPACK serves only untransposed, unbatched products; the batched ones take the slow loop either way.
    if (!(attrs.transposeA || attrs.transposeB) || batch(a) !== 1 || batch(b) !== 1) return batchMatMul({ inputs, backend, attrs });
    const temps: tf.TensorInfo[] = [];
    const upright = (t: tf.TensorInfo, transposed: unknown) => {
      if (!transposed) return t;
      const perm = t.shape.map((_, i) => i);
      perm.splice(-2, 2, perm.length - 1, perm.length - 2);
      const out = transpose({ inputs: { x: t }, backend, attrs: { perm } });
      temps.push(out);
      return out;
    };
    const out = batchMatMul({ inputs: { a: upright(a, attrs.transposeA), b: upright(b, attrs.transposeB) }, backend, attrs: { transposeA: false, transposeB: false } });
    for (const t of temps) backend.disposeData(t.dataId);
    return out;
  });
  const multiply = original('Multiply');
  const sub = original('Sub');
  replace('Tanh', ({ inputs, backend }) => {
    // XNNPACK kernels throughout: a JS loop over the heap costs ~4× one of them per element.
    const one = scalar(backend, 1);
    const two = scalar(backend, 2);
    const doubled = multiply({ inputs: { a: inputs.x as tf.TensorInfo, b: two }, backend, attrs: {} });
    const s = sigmoid({ inputs: { x: doubled }, backend, attrs: {} });
    const s2 = multiply({ inputs: { a: s, b: two }, backend, attrs: {} });
    const out = sub({ inputs: { a: s2, b: one }, backend, attrs: {} });
    for (const t of [one, two, doubled, s, s2]) backend.disposeData(t.dataId);
    return out;
  });
}

function replace(name: string, kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): void {
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

function scalar(backend: WasmBackend, value: number): tf.TensorInfo {
  const t = backend.makeOutput([], 'float32');
  backend.typedArrayFromHeap(t)[0] = value;
  return t;
}

/** x[begin : begin + size], copied row by row through views of the heap. */
function slice(backend: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  // Views only after makeOutput: allocating can grow the wasm memory, which detaches older views.
  const from = backend.typedArrayFromHeap(x);
  const to = backend.typedArrayFromHeap(out);
  if (to.length === 0) return out;
  const strides = tf.util.computeStrides(x.shape);
  const rank = x.shape.length;
  if (rank === 0 || tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, strides);
    to.set(from.subarray(offset, offset + to.length));
    return out;
  }
  // Odometer over every index but the last; each step copies one contiguous row.
  const row = size[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  for (let at = 0; at < to.length; at += row) {
    let offset = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) offset += (begin[d] + index[d]) * strides[d];
    to.set(from.subarray(offset, offset + row), at);
    for (let d = rank - 2; d >= 0 && ++index[d] === size[d]; d--) index[d] = 0;
  }
  return out;
}
