namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Fixed OpenCL C kernels the rule executor needs besides each rule's own passes: the canonical
    /// block reduction, over a flat tensor or row by row, and the column sums of row-wise passes (the
    /// same float64 orders as Fused.Ir.Reduction, so device and CPU sums agree bit for bit on equal
    /// operands), and the element-wise pieces of Newton-Schulz.
    /// </summary>
    internal static class ClSupportKernels
    {
        public const string Source = @"
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

// The canonical reduction of values[start, end), at most 1024 operands (one block): lane j sums elements
// start + j, start + j + 16, ... in float64, in order; the 16 lanes fold by halving. Fused.Ir.Reduction.ReduceBlock
// defines the same order. The lanes are one double16 over the block's whole rows of 16 (a vector add or select per
// row: the same operations lane by lane), then an array for the block's last partial row and the fold.
inline double fused_reduce_block(__global const float* values, const int start, const int end, const int take_max)
{
    const int rows_end = start + (end - start) / 16 * 16;
    double16 acc = take_max ? (double16)(-INFINITY) : (double16)(0.0);
    if (take_max)
    {
        for (int i = start; i < rows_end; i += 16)
        {
            const double16 x = convert_double16(vload16(0, values + i));
            acc = select(x, acc, acc > x); // lane > x ? lane : x
        }
    }
    else
    {
        for (int i = start; i < rows_end; i += 16) acc += convert_double16(vload16(0, values + i));
    }
    double lanes[16];
    vstore16(acc, 0, lanes);
    for (int i = rows_end; i < end; i++)
    {
        const int j = i - rows_end;
        const double x = (double)values[i];
        lanes[j] = take_max ? (lanes[j] > x ? lanes[j] : x) : lanes[j] + x;
    }
    for (int w = 8; w >= 1; w >>= 1)
        for (int j = 0; j < w; j++)
            lanes[j] = take_max ? (lanes[j] > lanes[j + w] ? lanes[j] : lanes[j + w]) : lanes[j] + lanes[j + w];
    return lanes[0];
}

// One work-item per block of 1024 operands of values[0, n); the host folds the partials pairwise.
__kernel void fused_block_reduce(__global const float* values, const int n, const int take_max, __global double* partials)
{
    const int block = get_global_id(0);
    const int start = block * 1024;
    if (start >= n) return;
    partials[block] = fused_reduce_block(values, start, min(n, start + 1024), take_max);
}

// A row-wise pass's operands, n = rows * cols: every row is blocked on its own (its blocks start at its first
// column), so work-item w reduces block w % blocks_per_row of row w / blocks_per_row and the partials are the
// (row, block) pairs row-major. The host folds them: all of them for a whole-tensor reduction, one row's for RowSum.
__kernel void fused_row_block_reduce(__global const float* values, const int n, const int cols, const int take_max, __global double* partials)
{
    const int w = get_global_id(0);
    const int blocks_per_row = (cols + 1023) / 1024;
    if (w >= n / cols * blocks_per_row) return;
    const int row = w / blocks_per_row;
    const int start = row * cols + (w - row * blocks_per_row) * 1024;
    partials[w] = fused_reduce_block(values, start, min(row * cols + cols, start + 1024), take_max);
}

// ColSum of a rows x cols operand in the canonical order (Fused.Ir.Reduction): each column summed in float64
// over groups of group_size consecutive rows, rows in order, the groups' sums folded pairwise by halving like
// blocks. The fold runs as the groups complete, as a binary counter: a group's sum is pushed, and while the count
// of groups done is even the top two entries merge (lower + upper); at the end the stack merges from the top.
// That adds the same pairs in the same order as Reduction.FoldBlocks (an aligned power-of-two tree, a partial
// last node being its left child), with at most 7 entries for the at most 64 groups.
inline float fused_column_sum(__global const float* values, const int rows, const int cols, const int group_size, const int j)
{
    double stack[7];
    int depth = 0, done = 0;
    for (int first = 0; first < rows; first += group_size)
    {
        const int last = min(rows, first + group_size);
        double s = 0.0;
        for (int r = first; r < last; r++) s += (double)values[r * cols + j];
        stack[depth++] = s;
        for (int m = ++done; (m & 1) == 0; m >>= 1, depth--) stack[depth - 2] = stack[depth - 2] + stack[depth - 1];
    }
    for (; depth > 1; depth--) stack[depth - 2] = stack[depth - 2] + stack[depth - 1];
    return depth == 0 ? 0.0f : (float)stack[0];
}

// One column per work-item: neighbouring work-items read neighbouring floats of a row (what GPUs want).
__kernel void fused_column_sums(__global const float* values, const int rows, const int cols, const int group_size, __global float* sums)
{
    const int j = get_global_id(0);
    if (j < cols) sums[j] = fused_column_sum(values, rows, cols, group_size, j);
}

// 16 columns per work-item, the lanes of a double16 (what CPU devices want: a row's 16 floats are one load, every
// cache line is read once); the same additions lane by lane. The last work-item takes a partial 16 column by column.
__kernel void fused_column_sums16(__global const float* values, const int rows, const int cols, const int group_size, __global float* sums)
{
    const int j = get_global_id(0) * 16;
    if (j >= cols) return;
    if (j + 16 > cols)
    {
        for (int c = j; c < cols; c++) sums[c] = fused_column_sum(values, rows, cols, group_size, c);
        return;
    }
    double16 stack[7];
    int depth = 0, done = 0;
    for (int first = 0; first < rows; first += group_size)
    {
        const int last = min(rows, first + group_size);
        double16 s = (double16)(0.0);
        for (int r = first; r < last; r++) s += convert_double16(vload16(0, values + r * cols + j));
        stack[depth++] = s;
        for (int m = ++done; (m & 1) == 0; m >>= 1, depth--) stack[depth - 2] = stack[depth - 2] + stack[depth - 1];
    }
    for (; depth > 1; depth--) stack[depth - 2] = stack[depth - 2] + stack[depth - 1];
    vstore16(depth == 0 ? (float16)(0.0f) : convert_float16(stack[0]), 0, sums + j);
}

__kernel void fused_square(__global const float* x, __global float* y, const int n)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = x[i] * x[i];
}

__kernel void fused_scale(__global float* x, const float s, const int n)
{
    const int i = get_global_id(0);
    if (i < n) x[i] = x[i] * s;
}

// b = alpha * a + beta * b
__kernel void fused_axpby(__global const float* a, __global float* b, const float alpha, const float beta, const int n)
{
    const int i = get_global_id(0);
    if (i < n) b[i] = alpha * a[i] + beta * b[i];
}
";
    }
}
