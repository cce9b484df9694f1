/**
 * `Slice` and `SplitV` for the wasm backend without copying the whole input.
 *
 * tfjs-backend-wasm 4.22's `Slice` starts with `backend.readSync(x)`, which copies the entire
 * input out of the wasm heap, then takes the slice from the copy; its `SplitV` calls that once
 * per part. Cutting a 4.1M-element vector into 76 parts copied 1.2 GB (238 ms); cutting 512-row
 * chunks from the 10k test images copies all 31 MB per chunk. Here a contiguous slice (the common
 * case: leading-axis ranges, any 1-D range) is one `set` from a view of the heap. Other slices
 * and string tensors go to the package's own kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { runReplacedWasmKernel, WASM, type WasmBackend } from "./wasm_backend.ts";

/** Slice attributes as the kernel receives them. */
interface SliceAttrs {
  begin: number | number[];
  size: number | number[];
}

/** The slice of `x`, by a heap-to-heap copy where it is contiguous. */
function sliceWasm(x: tf.TensorInfo, attrs: SliceAttrs, backend: WasmBackend): tf.TensorInfo {
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  if (x.dtype === "string" || !tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    return runReplacedWasmKernel(tf.Slice, backend, { x }, { begin, size });
  }
  const out = backend.makeOutput(size, x.dtype);
  const count = tf.util.sizeFromShape(size);
  if (count > 0) {
    const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    // Views taken after makeOutput: allocating may grow the heap and detach older views.
    const source = backend.typedArrayFromHeap(x);
    const target = backend.typedArrayFromHeap(out);
    target.set(source.subarray(offset, offset + count));
  }
  return out;
}

/** `Slice` on wasm (see the module doc). */
export const sliceConfig: tf.KernelConfig = {
  kernelName: tf.Slice,
  backendName: WASM,
  kernelFunc: ({ inputs, attrs, backend }) =>
    sliceWasm(
      (inputs as { x: tf.TensorInfo }).x,
      attrs as unknown as SliceAttrs,
      backend as WasmBackend,
    ),
};

/** `SplitV` on wasm: consecutive slices along `axis` with {@link sliceConfig}'s copy. */
export const splitVConfig: tf.KernelConfig = {
  kernelName: tf.SplitV,
  backendName: WASM,
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { numOrSizeSplits, axis } = attrs as unknown as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
    const begin = new Array(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[$axis] = s;
      const part = sliceWasm(x, { begin: begin.slice(), size }, backend as WasmBackend);
      begin[$axis] += s;
      return part;
    });
  },
};
