using System;
using System.Collections.Generic;
using Fused.Demo.Data;

namespace Fused.Demo.Model
{
    /// <summary>
    /// The <see cref="Transformer"/> as a character-level language model on a <see cref="TextCorpus"/>. A training
    /// example is a window of <c>Context</c> characters (windows tile the training text) whose targets are the same
    /// text shifted by one; the test loss is the mean next-character cross-entropy (nats) on the first test windows.
    /// </summary>
    public sealed class LanguageModeling : IModelTask
    {
        /// <summary>Test windows per evaluation: 256 × 64 = 16,384 predicted characters, a fraction of a second to score.</summary>
        public const int EvaluationWindows = 256;

        private readonly TextCorpus _corpus;
        private readonly TransformerShape _shape;
        private readonly int _testWindows;

        /// <param name="trainingWindows">Use only the first this many training windows (--subset); null for all.</param>
        public LanguageModeling(TextCorpus corpus, TransformerShape shape, int? trainingWindows = null)
        {
            if (shape.Vocabulary != corpus.Vocabulary.Length)
                throw new ArgumentException($"the model's vocabulary of {shape.Vocabulary} does not match the corpus's {corpus.Vocabulary.Length} characters");
            int available = (corpus.Train.Length - 1) / shape.Context;
            _testWindows = Math.Min(EvaluationWindows, (corpus.Test.Length - 1) / shape.Context);
            if (available < 1 || _testWindows < 1) throw new ArgumentException($"the corpus is too short for windows of {shape.Context} characters");
            _corpus = corpus;
            _shape = shape;
            TrainingExampleCount = Math.Min(available, trainingWindows ?? available);
        }

        /// <summary>The demo's default transformer on <paramref name="corpus"/>.</summary>
        public static LanguageModeling Default(TextCorpus corpus, int? trainingWindows = null) =>
            new LanguageModeling(corpus, Transformer.DefaultShape(corpus.Vocabulary.Length), trainingWindows);

        public string Name => ModelTasks.Transformer;
        public string Description => $"character-level transformer ({_shape.Description}) on {_corpus.Source}";
        public int TrainingExampleCount { get; }
        public TransformerShape Shape => _shape;

        /// <summary>Test windows scored per evaluation.</summary>
        public int TestWindowCount => _testWindows;

        public IModel Create(ulong seed, int maxBatch) => new Bound(this, new Transformer(_shape, maxBatch, seed), maxBatch);

        private sealed class Bound : IModel
        {
            private readonly LanguageModeling _task;
            private readonly Transformer _network;
            private readonly int _maxBatch;
            private readonly int[] _inputs;
            private readonly int[] _targets;
            private readonly float[] _scratch;

            public Bound(LanguageModeling task, Transformer network, int maxBatch)
            {
                _task = task;
                _network = network;
                _maxBatch = maxBatch;
                _inputs = new int[maxBatch * task._shape.Context];
                _targets = new int[_inputs.Length];
                _scratch = new float[task._shape.Vocabulary];
            }

            public IReadOnlyList<Parameter> Parameters => _network.Parameters;

            public float TrainBatch(ReadOnlySpan<int> examples)
            {
                for (int b = 0; b < examples.Length; b++) Gather(_task._corpus.Train, examples[b], b);
                return _network.ForwardBackward(_inputs, _targets, examples.Length);
            }

            public (double Loss, double Accuracy) Evaluate()
            {
                int windows = _task._testWindows, context = _task._shape.Context, vocabulary = _task._shape.Vocabulary;
                double loss = 0;
                long correct = 0;
                for (int start = 0; start < windows; start += _maxBatch)
                {
                    int batch = Math.Min(_maxBatch, windows - start);
                    for (int b = 0; b < batch; b++) Gather(_task._corpus.Test, start + b, b);
                    var logits = _network.Forward(_inputs, batch);
                    for (int r = 0; r < batch * context; r++)
                    {
                        var row = logits.Slice(r * vocabulary, vocabulary);
                        loss += CrossEntropy.Loss(row, _targets[r], _scratch);
                        if (CrossEntropy.ArgMax(row) == _targets[r]) correct++;
                    }
                }

                long predicted = (long)windows * context;
                return (loss / predicted, (double)correct / predicted);
            }

            // Window w of the text into batch slot b: its characters as inputs, the next characters as targets.
            private void Gather(int[] text, int window, int slot)
            {
                int context = _task._shape.Context;
                text.AsSpan(window * context, context).CopyTo(_inputs.AsSpan(slot * context, context));
                text.AsSpan(window * context + 1, context).CopyTo(_targets.AsSpan(slot * context, context));
            }
        }
    }
}
