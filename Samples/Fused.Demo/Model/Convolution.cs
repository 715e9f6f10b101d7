using System;

namespace Fused.Demo.Model
{
    /// <summary>
    /// The CNN's non-GEMM stages on channels-last (NHWC) images: im2col / col2im for a 3×3, stride-1, zero-padded
    /// convolution (so the convolution itself is one <see cref="Dense"/> matmul), and 2×2 max pooling.
    /// </summary>
    public static class Convolution
    {
        /// <summary>
        /// cols[(b·H + y)·W + x, (ky·3 + kx)·C + c] = input[b, y + ky − 1, x + kx − 1, c], zero outside the image:
        /// each row is the 3×3×C patch around one output pixel.
        /// </summary>
        public static void Im2Col(ReadOnlySpan<float> input, int batch, int side, int channels, Span<float> cols)
        {
            int patch = 9 * channels;
            for (int b = 0; b < batch; b++)
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                    {
                        var row = cols.Slice(((b * side + y) * side + x) * patch, patch);
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                var dst = row.Slice((ky * 3 + kx) * channels, channels);
                                int sy = y + ky - 1, sx = x + kx - 1;
                                if ((uint)sy < (uint)side && (uint)sx < (uint)side)
                                    input.Slice(((b * side + sy) * side + sx) * channels, channels).CopyTo(dst);
                                else
                                    dst.Clear();
                            }
                    }
        }

        /// <summary>The adjoint of <see cref="Im2Col"/>: sums each patch row's gradient back onto the input pixels.</summary>
        public static void Col2Im(ReadOnlySpan<float> cols, int batch, int side, int channels, Span<float> input)
        {
            int patch = 9 * channels;
            input.Slice(0, batch * side * side * channels).Clear();
            for (int b = 0; b < batch; b++)
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                    {
                        var row = cols.Slice(((b * side + y) * side + x) * patch, patch);
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int sy = y + ky - 1, sx = x + kx - 1;
                                if ((uint)sy >= (uint)side || (uint)sx >= (uint)side) continue;
                                var src = row.Slice((ky * 3 + kx) * channels, channels);
                                var dst = input.Slice(((b * side + sy) * side + sx) * channels, channels);
                                for (int c = 0; c < channels; c++) dst[c] += src[c];
                            }
                    }
        }

        /// <summary>2×2 max pooling (side even); <paramref name="argMax"/> keeps the input index each output came from.</summary>
        public static void MaxPool(ReadOnlySpan<float> input, int batch, int side, int channels, Span<float> output, Span<int> argMax)
        {
            int half = side / 2;
            for (int b = 0; b < batch; b++)
                for (int oy = 0; oy < half; oy++)
                    for (int ox = 0; ox < half; ox++)
                    {
                        int o = ((b * half + oy) * half + ox) * channels;
                        int i00 = ((b * side + 2 * oy) * side + 2 * ox) * channels;
                        for (int c = 0; c < channels; c++)
                        {
                            int best = i00 + c;
                            foreach (int offset in stackalloc[] { channels, side * channels, (side + 1) * channels })
                                if (input[i00 + c + offset] > input[best]) best = i00 + c + offset;
                            output[o + c] = input[best];
                            argMax[o + c] = best;
                        }
                    }
        }

        /// <summary>The gradient of <see cref="MaxPool"/>: each output's gradient goes to the input it came from.</summary>
        public static void MaxPoolBackward(ReadOnlySpan<float> dOutput, ReadOnlySpan<int> argMax, int outputCount, Span<float> dInput)
        {
            dInput.Clear();
            for (int o = 0; o < outputCount; o++) dInput[argMax[o]] += dOutput[o];
        }
    }
}
