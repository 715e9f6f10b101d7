using System;
using Fused.Ir;
using Fused.Runtime.Precision;

namespace Fused.Runtime.Engine
{
    /// <summary>
    /// The journal of a group whose step can fail after it began writing (its schedule has matrix stages: Newton–Schulz
    /// and Shampoo refuse NaN/∞, Shampoo's eigensolver can fail to converge). Before such a group steps, the engine
    /// copies everything the step may write — parameters, element states (float32, bf16 codes, 8-bit codes and scales),
    /// scalar and row/column states, and Shampoo's statistics (copied lazily, by <see cref="Fused.Runtime.Matrix.MatrixPasses"/>) — and puts
    /// it back if any group of the step fails. Device groups copy from the device and restore to it. The copies are
    /// allocated at the first journaled step and reused: a fallible group holds one more copy of its parameters and
    /// element states (<see cref="JournalBytes"/>, a column of the memory report).
    /// </summary>
    internal sealed unsafe partial class ParameterGroup
    {
        private float[][]? _savedParameters;   // per tensor
        private Array[]? _savedStates;         // per t·S + k: float[] (float32), ushort[] (bf16) or byte[] (8-bit codes)
        private float[][]? _savedScales;       // per t·S + k: 8-bit scales
        private float[]? _savedScalars;
        private float[][]? _savedVectors;      // per t·V + v
        private bool _journalOpen;

        private readonly bool _journalAlways;

        /// <summary>Whether a step of this group can fail after its first write (its schedule has matrix stages).</summary>
        public bool Fallible => _schedule.Matrices.Count > 0;

        /// <summary>Whether the engine journals this group's steps: fallible groups, or every group under <see cref="StepJournal.AllGroups"/>.</summary>
        public bool Journaled => Fallible || _journalAlways;

        /// <summary>Bytes of the journal's copies (0 until the first journaled step).</summary>
        public long JournalBytes
        {
            get
            {
                if (_savedParameters == null) return 0;
                long bytes = 0;
                foreach (var p in _savedParameters) bytes += 4L * p.Length;
                foreach (var a in _savedStates!) bytes += (long)Buffer.ByteLength(a);
                foreach (var a in _savedScales!) if (a != null) bytes += 4L * a.Length;
                bytes += 4L * _savedScalars!.Length;
                foreach (var v in _savedVectors!) bytes += 4L * v.Length;
                return bytes;
            }
        }

        /// <summary>Copies everything the next <see cref="Step"/> may write.</summary>
        public void BeginJournal()
        {
            int T = _shapes.Length, S = _states, V = _vectorBuffers.Length, C = ScalarStateCount;
            if (_savedParameters == null)
            {
                _savedParameters = new float[T][];
                _savedStates = new Array[T * S];
                _savedScales = new float[T * S][];
                _savedScalars = new float[T * C];
                _savedVectors = new float[T * V][];
                for (int t = 0; t < T; t++)
                {
                    int n = checked((int)_shapes[t].Numel);
                    _savedParameters[t] = new float[n];
                    for (int k = 0; k < S; k++)
                    {
                        int slot = t * S + k;
                        _savedStates[slot] = Precision switch
                        {
                            StatePrecision.Float32 => new float[n],
                            StatePrecision.BFloat16 => new ushort[n],
                            _ => new byte[n],
                        };
                        if (Precision != StatePrecision.Float32 && Precision != StatePrecision.BFloat16) _savedScales[slot] = new float[_scales[slot].Length];
                    }
                    for (int v = 0; v < V; v++) _savedVectors[t * V + v] = new float[VectorState(t, v).Length];
                }
            }
            for (int t = 0; t < T; t++)
            {
                if (_device != null) _device.Download(t, RuleProgram.ParamBuffer, _savedParameters[t].AsSpan());
                else HostBuffer(t, 0).CopyTo(_savedParameters[t]);
                for (int k = 0; k < S; k++)
                {
                    int slot = t * S + k;
                    switch (Precision)
                    {
                        case StatePrecision.Float32:
                            if (_device != null) _device.Download(t, _stateBufferIndex[k], ((float[])_savedStates![slot]).AsSpan());
                            else _f32[slot].Span.CopyTo((float[])_savedStates![slot]);
                            break;
                        case StatePrecision.BFloat16:
                            _bf16[slot].Span.CopyTo((ushort[])_savedStates![slot]);
                            break;
                        default:
                            _codes[slot].CopyTo((byte[])_savedStates![slot], 0);
                            _scales[slot].CopyTo(_savedScales![slot], 0);
                            break;
                    }
                }
                Scalars(t).CopyTo(_savedScalars.AsSpan(t * C, C));
                for (int v = 0; v < V; v++) VectorState(t, v).CopyTo(_savedVectors![t * V + v], 0);
            }
            _matrix?.BeginJournal();
            _journalOpen = true;
        }

        /// <summary>Keeps the step's writes.</summary>
        public void CommitJournal()
        {
            if (!_journalOpen) return;
            _journalOpen = false;
            _matrix?.Commit();
        }

        /// <summary>Puts back everything copied by <see cref="BeginJournal"/>.</summary>
        public void RollbackJournal()
        {
            if (!_journalOpen) return;
            _journalOpen = false;
            int T = _shapes.Length, S = _states, V = _vectorBuffers.Length, C = ScalarStateCount;
            for (int t = 0; t < T; t++)
            {
                // Device groups: the device copy, and the host copy too (a failed download after the step may have
                // overwritten part of it; before the step it matched the device, or was stale by request).
                if (_device != null) _device.Upload(t, RuleProgram.ParamBuffer, _savedParameters![t]);
                _savedParameters![t].CopyTo(HostBuffer(t, 0));
                for (int k = 0; k < S; k++)
                {
                    int slot = t * S + k;
                    switch (Precision)
                    {
                        case StatePrecision.Float32:
                            if (_device != null) _device.Upload(t, _stateBufferIndex[k], (float[])_savedStates![slot]);
                            else ((float[])_savedStates![slot]).CopyTo(_f32[slot].Span);
                            break;
                        case StatePrecision.BFloat16:
                            ((ushort[])_savedStates![slot]).CopyTo(_bf16[slot].Span);
                            break;
                        default:
                            ((byte[])_savedStates![slot]).CopyTo(_codes[slot], 0);
                            _savedScales![slot].CopyTo(_scales[slot], 0);
                            break;
                    }
                }
                _savedScalars.AsSpan(t * C, C).CopyTo(Scalars(t));
                for (int v = 0; v < V; v++) _savedVectors![t * V + v].CopyTo(VectorState(t, v), 0);
            }
            _matrix?.Rollback();
        }
    }
}
