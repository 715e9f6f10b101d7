using System;
using Fused.Runtime.OpenCL;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Runtime.Tests.OpenCL
{
    [Collection(OpenClCollection.Name)]
    public sealed class OpenClKernelTests
    {
        private const string AxpySource = @"
__kernel void axpy(__global const float* x, __global float* y, __constant float* u, const int n)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    y[i] = u[0] * x[i] + y[i];
}";

        private const string AdamWSource = @"
// uniforms: lr, beta1, beta2, eps, weight decay, 1 - beta1^t, 1 - beta2^t
__kernel void adamw_step(__global float* p, __global const float* g, __global float* m, __global float* v,
                         __constant float* u, const int n)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float lr = u[0], beta1 = u[1], beta2 = u[2], eps = u[3], wd = u[4], bc1 = u[5], bc2 = u[6];
    const float gi = g[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    const float mhat = mi / bc1;
    const float vhat = vi / bc2;
    const float pi = p[i];
    p[i] = pi - lr * (mhat / (sqrt(vhat) + eps) + wd * pi);
    m[i] = mi;
    v[i] = vi;
}";

        private const string ScalarArgsSource = @"
__kernel void scalars(__global float* y, const float a, const int b, const uint c, const long d, const int n)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    y[i] = a * (float)i + (float)b + (float)c + (float)d;
}";

        private readonly OpenClFixture fixture;
        private readonly ITestOutputHelper output;

        public OpenClKernelTests(OpenClFixture fixture, ITestOutputHelper output)
        {
            this.fixture = fixture;
            this.output = output;
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(7)]
        [InlineData(1023)]
        [InlineData(100003)]
        public void AxpyMatchesFloat64Reference(int n)
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            ClContext context = fixture.Context;
            ClQueue queue = fixture.Queue;
            float[] x = Reference.RandomFloats(n, seed: 11);
            float[] y = Reference.RandomFloats(n, seed: 12);
            float[] uniforms = { -0.7f };

            using ClBuffer xBuffer = context.CreateBuffer<float>(x, ClMemoryAccess.ReadOnly);
            using ClBuffer yBuffer = context.CreateBuffer<float>(y);
            using ClBuffer uniformBuffer = context.CreateBuffer<float>(uniforms, ClMemoryAccess.ReadOnly);
            var launcher = new ClElementwise(context.Programs.Get(AxpySource).CreateKernel("axpy"), bufferCount: 2);
            try
            {
                launcher.Launch(queue, new[] { xBuffer, yBuffer }, uniformBuffer, n);
                var result = new float[n];
                queue.Read<float>(yBuffer, result);

                var expected = new double[n];
                var scale = new double[n];
                for (int i = 0; i < n; i++)
                {
                    expected[i] = (double)uniforms[0] * x[i] + y[i];
                    scale[i] = Math.Abs((double)uniforms[0] * x[i]) + Math.Abs(y[i]);
                }
                Reference.AssertClose("y", expected, result, scale, 1e-6);
            }
            finally
            {
                launcher.Kernel.Dispose();
            }
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(7)]
        [InlineData(1023)]
        [InlineData(100003)]
        public void AdamWStepMatchesFloat64Reference(int n)
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            ClContext context = fixture.Context;
            ClQueue queue = fixture.Queue;
            float[] p = Reference.RandomFloats(n, seed: 21);
            float[] g = Reference.RandomFloats(n, seed: 22, low: -3f, high: 3f);
            float[] m = Reference.RandomFloats(n, seed: 23, low: -0.5f, high: 0.5f);
            float[] v = Reference.RandomFloats(n, seed: 24, low: 1e-6f, high: 0.5f);
            const int step = 3;
            const double beta1 = 0.9, beta2 = 0.999;
            float[] uniforms =
            {
                1e-3f, (float)beta1, (float)beta2, 1e-8f, 0.01f,
                (float)(1 - Math.Pow(beta1, step)), (float)(1 - Math.Pow(beta2, step)),
            };

            using ClBuffer pBuffer = context.CreateBuffer<float>(p);
            using ClBuffer gBuffer = context.CreateBuffer<float>(g, ClMemoryAccess.ReadOnly);
            using ClBuffer mBuffer = context.CreateBuffer<float>(m);
            using ClBuffer vBuffer = context.CreateBuffer<float>(v);
            using ClBuffer uniformBuffer = context.CreateBuffer<float>(uniforms.Length, ClMemoryAccess.ReadOnly);
            queue.Write<float>(uniformBuffer, uniforms);
            var launcher = new ClElementwise(context.Programs.Get(AdamWSource).GetKernel("adamw_step"), bufferCount: 4);
            launcher.Launch(queue, new[] { pBuffer, gBuffer, mBuffer, vBuffer }, uniformBuffer, n);
            var pOut = new float[n];
            var mOut = new float[n];
            var vOut = new float[n];
            queue.Read<float>(pBuffer, pOut);
            queue.Read<float>(mBuffer, mOut);
            queue.Read<float>(vBuffer, vOut);

            // Float64 reference from the same float inputs and float uniforms.
            double lr = uniforms[0], b1 = uniforms[1], b2 = uniforms[2], eps = uniforms[3], wd = uniforms[4], bc1 = uniforms[5], bc2 = uniforms[6];
            var pRef = new double[n];
            var mRef = new double[n];
            var vRef = new double[n];
            var pScale = new double[n];
            var mScale = new double[n];
            var vScale = new double[n];
            for (int i = 0; i < n; i++)
            {
                mRef[i] = b1 * m[i] + (1 - b1) * g[i];
                vRef[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
                double direction = (mRef[i] / bc1) / (Math.Sqrt(vRef[i] / bc2) + eps);
                pRef[i] = p[i] - lr * (direction + wd * p[i]);
                mScale[i] = Math.Abs(b1 * m[i]) + Math.Abs((1 - b1) * g[i]);
                vScale[i] = Math.Abs(b2 * v[i]) + Math.Abs((1 - b2) * (double)g[i] * g[i]);
                pScale[i] = Math.Abs(p[i]) + lr * (Math.Abs(direction) + Math.Abs(wd * p[i]));
            }
            Reference.AssertClose("m", mRef, mOut, mScale, 1e-6);
            Reference.AssertClose("v", vRef, vOut, vScale, 1e-6);
            Reference.AssertClose("p", pRef, pOut, pScale, 1e-6);
            if (n > 0)
            {
                // Guard against a vacuous pass: the step really moved the parameters.
                Assert.NotEqual(p[0], pOut[0]);
            }
        }

        [Fact]
        public void ScalarArgumentsOfEveryTypeReachTheKernel()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            const int n = 37;
            using ClBuffer y = fixture.Context.CreateBuffer<float>(n);
            using ClKernel kernel = fixture.Context.Programs.Get(ScalarArgsSource).CreateKernel("scalars");
            kernel.SetArg(0, y);
            kernel.SetArg(1, 0.5f);
            kernel.SetArg(2, -3);
            kernel.SetArg(3, 7u);
            kernel.SetArg(4, 1L << 20);
            kernel.SetArg(5, n);
            fixture.Queue.Launch(kernel, 40, 8);
            var result = new float[n];
            fixture.Queue.Read<float>(y, result);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(0.5 * i - 3 + 7 + (1 << 20), (double)result[i]);
            }
        }

        [Fact]
        public void TransfersCopiesFillsAndEventsWork()
        {
            if (OpenClTestEnvironment.RequireDevice(output) == null)
            {
                return;
            }
            ClContext context = fixture.Context;
            ClQueue queue = fixture.Queue;
            float[] source = Reference.RandomFloats(1000, seed: 5);
            using ClBuffer a = context.CreateBuffer<float>(1000);
            using ClBuffer b = context.CreateBuffer<float>(1000);

            using (ClEvent written = queue.EnqueueWrite<float>(a, source))
            {
                written.Wait();
                Assert.True(written.IsComplete);
            }
            queue.Fill(b, 2.5f, 0, 1000);
            using (ClEvent copied = queue.EnqueueCopy(a, b, 100 * sizeof(float), 10 * sizeof(float), 500 * sizeof(float)))
            {
                copied.Wait();
                Assert.True(copied.EndNanoseconds >= copied.StartNanoseconds);
                Assert.True(copied.Duration >= TimeSpan.Zero);
            }
            var result = new float[1000];
            using (ClEvent read = queue.EnqueueRead<float>(b, result))
            {
                read.Wait();
            }
            for (int i = 0; i < 1000; i++)
            {
                float expected = i >= 500 && i < 600 ? source[i - 500 + 10] : 2.5f;
                Assert.Equal(expected, result[i]);
            }

            var tail = new float[3];
            queue.Read<float>(a, tail, sourceOffset: 997);
            Assert.Equal(source[997..], tail);
        }
    }
}
