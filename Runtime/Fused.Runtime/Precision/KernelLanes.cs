using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Fused.Runtime.Precision
{
    /// <summary>
    /// How a generated kernel reads the gradient: the kernels are generic over a struct implementing this, so the JIT
    /// compiles one specialised copy per gradient type (float32, or bfloat16 widened in registers) with no call left.
    /// </summary>
    /// <typeparam name="TElement">The gradient's element type in memory.</typeparam>
    public interface IGradientLanes<TElement> where TElement : unmanaged
    {
        /// <summary>16 gradient values at <paramref name="source"/>[i] as float32.</summary>
        static abstract Vector512<float> LoadVector512(ref TElement source, nuint i);

        /// <summary>8 gradient values at <paramref name="source"/>[i] as float32.</summary>
        static abstract Vector256<float> LoadVector256(ref TElement source, nuint i);

        /// <summary>4 gradient values at <paramref name="source"/>[i] as float32.</summary>
        static abstract Vector128<float> LoadVector128(ref TElement source, nuint i);

        /// <summary>One gradient value as float32.</summary>
        static abstract float Load(TElement value);
    }

    /// <summary>Float32 gradients: plain loads.</summary>
    public readonly struct Float32Gradients : IGradientLanes<float>
    {
        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> LoadVector512(ref float source, nuint i) => Vector512.LoadUnsafe(ref source, i);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> LoadVector256(ref float source, nuint i) => Vector256.LoadUnsafe(ref source, i);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> LoadVector128(ref float source, nuint i) => Vector128.LoadUnsafe(ref source, i);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Load(float value) => value;
    }

    /// <summary>bfloat16 gradients (<see cref="ushort"/> bits): widened exactly in registers, never copied to float32 memory.</summary>
    public readonly struct BFloat16Gradients : IGradientLanes<ushort>
    {
        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> LoadVector512(ref ushort source, nuint i) => BFloat16Lanes.LoadVector512(ref source, i);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> LoadVector256(ref ushort source, nuint i) => BFloat16Lanes.LoadVector256(ref source, i);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> LoadVector128(ref ushort source, nuint i) => BFloat16Lanes.LoadVector128(ref source, i);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Load(ushort value) => BFloat16.ToSingle(value);
    }

    /// <summary>
    /// What a generated kernel does beside each float32 parameter store: nothing, or write the parameter's bfloat16 copy
    /// (for the next forward pass) in the same loop. Generic struct argument, like <see cref="IGradientLanes{TElement}"/>.
    /// </summary>
    public interface IParameterCopyLanes
    {
        /// <summary>Whether the kernel writes a copy (false: the copy span is empty and never touched).</summary>
        static abstract bool Writes { get; }

        /// <summary>Writes the copy of 16 parameter values at <paramref name="destination"/>[i].</summary>
        static abstract void StoreVector512(Vector512<float> value, ref ushort destination, nuint i);

        /// <summary>Writes the copy of 8 parameter values at <paramref name="destination"/>[i].</summary>
        static abstract void StoreVector256(Vector256<float> value, ref ushort destination, nuint i);

        /// <summary>Writes the copy of 4 parameter values at <paramref name="destination"/>[i].</summary>
        static abstract void StoreVector128(Vector128<float> value, ref ushort destination, nuint i);

        /// <summary>Writes the copy of one parameter value at <paramref name="destination"/>[i].</summary>
        static abstract void Store(float value, Span<ushort> destination, int i);
    }

    /// <summary>No parameter copy: every store is a no-op the JIT removes.</summary>
    public readonly struct NoParameterCopy : IParameterCopyLanes
    {
        /// <inheritdoc/>
        public static bool Writes => false;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector512(Vector512<float> value, ref ushort destination, nuint i) { }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector256(Vector256<float> value, ref ushort destination, nuint i) { }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector128(Vector128<float> value, ref ushort destination, nuint i) { }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(float value, Span<ushort> destination, int i) { }
    }

    /// <summary>
    /// The bfloat16 copy of the parameters, rounded to nearest even (as PyTorch's <c>.to(torch.bfloat16)</c>; NaN stays a quiet
    /// NaN): bit for bit <see cref="BFloat16.FromSingleRoundToNearestEven"/> of the float32 value just stored.
    /// </summary>
    public readonly struct BFloat16ParameterCopy : IParameterCopyLanes
    {
        /// <inheritdoc/>
        public static bool Writes => true;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector512(Vector512<float> value, ref ushort destination, nuint i)
        {
            var rounded = BFloat16.RoundNearestEven(value.AsUInt32());
            (Avx512F.IsSupported ? Avx512F.ConvertToVector256UInt16(rounded) : Vector512.Narrow(rounded, rounded).GetLower()).StoreUnsafe(ref destination, i);
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector256(Vector256<float> value, ref ushort destination, nuint i)
        {
            var rounded = BFloat16.RoundNearestEven(value.AsUInt32());
            Vector256.Narrow(rounded, rounded).GetLower().StoreUnsafe(ref destination, i);
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreVector128(Vector128<float> value, ref ushort destination, nuint i)
        {
            var rounded = BFloat16.RoundNearestEven(value.AsUInt32());
            ulong packed = Vector128.Narrow(rounded, rounded).AsUInt64().ToScalar();
            Unsafe.WriteUnaligned(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref destination, i)), packed);
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(float value, Span<ushort> destination, int i) => destination[i] = BFloat16.FromSingleRoundToNearestEven(value);
    }
}

namespace Fused.Runtime.Precision
{
    /// <summary>Slicing of a kernel's parameter-copy span: an empty span (no copy) stays empty whatever the range.</summary>
    public static class ParameterCopies
    {
        /// <summary><paramref name="copy"/>[start .. start + length), or empty when <typeparamref name="TCopy"/> writes nothing.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Span<ushort> Slice<TCopy>(Span<ushort> copy, int start, int length) where TCopy : struct, IParameterCopyLanes
            => TCopy.Writes ? copy.Slice(start, length) : default;

        /// <summary><paramref name="copy"/>[start ..], or empty when <typeparamref name="TCopy"/> writes nothing.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Span<ushort> Slice<TCopy>(Span<ushort> copy, int start) where TCopy : struct, IParameterCopyLanes
            => TCopy.Writes ? copy.Slice(start) : default;
    }
}
