namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// Fixed OpenCL C kernels the rule executor needs besides each rule's own passes: the canonical
    /// block reduction (the same float64 order as Fused.Ir.Reduction, so device and CPU sums agree
    /// bit for bit on equal operands) and the element-wise pieces of Newton-Schulz.
    /// </summary>
    internal static class ClSupportKernels
    {
        public const string Source = @"
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

// One work-item per block of 1024 operands: lane j sums elements j, j+16, ... in float64, in order;
// the 16 lanes fold by halving. Fused.Ir.Reduction.ReduceBlock defines the same order. The lanes are one
// double16 over the block's whole rows of 16 (a vector add or select per row: the same operations lane by
// lane), then an array for the last block's partial row and the fold.
__kernel void fused_block_reduce(__global const float* values, const int n, const int take_max, __global double* partials)
{
    const int block = get_global_id(0);
    const int start = block * 1024;
    if (start >= n) return;
    const int end = min(n, start + 1024);
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
    partials[block] = lanes[0];
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
