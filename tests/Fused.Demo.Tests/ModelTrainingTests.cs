using System;
using System.IO;
using System.Linq;
using Fused.Demo.Data;
using Fused.Demo.Model;
using Fused.Demo.Optimizers;
using Fused.Demo.Training;
using Fused.Runtime.Execution;
using Xunit;
using Xunit.Abstractions;

namespace Fused.Demo.Tests
{
    /// <summary>
    /// `fused train --model cnn|transformer`: the text corpus, short real training runs through the one training loop,
    /// the Muon routing on the transformer, and the CLI's errors. Under CI=true Fashion-MNIST and the fortunes text must
    /// be installed (build.sh installs both); elsewhere a missing dataset skips.
    /// </summary>
    [Collection(CliCollection.Name)]
    public sealed class ModelTrainingTests
    {
        private readonly ITestOutputHelper _output;

        public ModelTrainingTests(ITestOutputHelper output) => _output = output;

        private static bool Ci => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

        private TextCorpus? CorpusOrSkip()
        {
            if (TextCorpus.Locate() is not null) return TextCorpus.Load();
            if (Ci) Assert.Fail($"CI=true but the text corpus is not installed. {TextCorpus.InstallHint}");
            _output.WriteLine($"SKIPPED: text corpus not installed. {TextCorpus.InstallHint}");
            return null;
        }

        [Fact]
        public void Corpus_keeps_every_byte_and_sends_every_tenth_4_KB_block_to_the_test_text()
        {
            var rng = new SplitMix64(9);
            // 100,003 bytes over a sparse alphabet: an odd length with a short last block.
            byte[] alphabet = "ab\n zQ%~".Select(c => (byte)c).ToArray();
            var text = Enumerable.Range(0, 100_003).Select(_ => alphabet[rng.NextInt(alphabet.Length)]).ToArray();
            var corpus = TextCorpus.FromBytes("random", text);

            Assert.Equal(alphabet.OrderBy(b => b).ToArray(), corpus.Vocabulary);
            Assert.Equal(text.Length, corpus.Train.Length + corpus.Test.Length);
            // Blocks 9, 19 (bytes 36,864.. and 77,824..) are test text; block 24 (the short tail) is training text.
            var expectedTest = text.Skip(9 * 4096).Take(4096).Concat(text.Skip(19 * 4096).Take(4096)).ToArray();
            Assert.Equal(expectedTest, corpus.Test.Select(id => corpus.Vocabulary[id]).ToArray());
            Assert.Equal(text.Skip(24 * 4096).ToArray(), corpus.Train.Skip(corpus.Train.Length - (text.Length - 24 * 4096)).Select(id => corpus.Vocabulary[id]).ToArray());
        }

        [Fact]
        public void Too_little_text_is_a_clear_error()
        {
            var e = Assert.Throws<InvalidDataException>(() => TextCorpus.FromBytes("tiny.txt", new byte[1000]));
            Assert.Contains("tiny.txt", e.Message);
            Assert.Contains("1,000 bytes", e.Message);
        }

        [Fact]
        public void Transformer_learns_more_than_character_frequencies_in_200_steps()
        {
            if (CorpusOrSkip() is not { } corpus) return;
            using var pool = new WorkerPool(2);
            var task = LanguageModeling.Default(corpus, trainingWindows: 6400);
            var trainer = new Trainer(task, new TrainingOptions { Model = ModelTasks.Transformer, Epochs = 1, BatchSize = 32, Seed = 1, EvaluationsPerEpoch = 1 }, pool);
            var result = trainer.Run(OptimizerRegistry.Named("AdamW"));
            // The floor a model without context reaches: the entropy of the test text's own character frequencies (nats).
            double unigram = corpus.Test.GroupBy(t => t).Sum(g => { double p = (double)g.Count() / corpus.Test.Length; return -p * Math.Log(p); });
            _output.WriteLine($"test loss {result.TestLoss:F3} nats/char vs unigram entropy {unigram:F3}; next-char accuracy {result.TestAccuracy:P1}; {result.Steps} steps");
            Assert.Equal("transformer", result.Model);
            Assert.Equal(200, result.Steps);
            Assert.False(result.Diverged);
            Assert.True(result.TestLoss < unigram - 0.2, $"test loss {result.TestLoss:F3} is not below the unigram entropy {unigram:F3}");
        }

        [Fact]
        public void Cnn_one_epoch_on_2000_images_is_far_better_than_chance()
        {
            if (FashionMnist.Locate() is null)
            {
                if (Ci) Assert.Fail($"CI=true but Fashion-MNIST is not installed. {FashionMnist.InstallHint}");
                _output.WriteLine("SKIPPED: Fashion-MNIST not installed.");
                return;
            }

            var (train, test) = FashionMnist.Load();
            using var pool = new WorkerPool(2);
            var trainer = new Trainer(train.Take(2000), test.Take(2000), new TrainingOptions { Model = ModelTasks.Cnn, Epochs = 1, BatchSize = 64, Seed = 3 }, pool);
            var result = trainer.Run(OptimizerRegistry.Named("Muon+AdamW"));
            _output.WriteLine($"CNN, Muon+AdamW: test accuracy {result.TestAccuracy:P2} after {result.Steps} steps");
            Assert.Equal("cnn", result.Model);
            Assert.True(result.TestAccuracy > 0.60, $"the CNN reached only {result.TestAccuracy:P2} (chance is 10%)");
        }

        [Fact]
        public void Muon_takes_only_the_transformers_hidden_matrices()
        {
            var model = new Transformer(Transformer.DefaultShape(100), 1, 1);
            using var pool = new WorkerPool(1, pinThreads: false);
            using var muon = OptimizerRegistry.Named("Muon+AdamW").Create(new OptimizerContext(model.Parameters, 10, pool));
            // Muon keeps one momentum float per element; AdamW two moments. Hidden: per layer qkv (3d·d), out (d·d), up and down (4d·d each).
            long d = 64, hidden = 2 * 12 * d * d;
            Assert.Equal(4 * hidden + Catalog.AdamW.Layout.StateBytesPerParameter * (model.ParameterCount - hidden), muon.StateBytes);
            Assert.DoesNotContain("embed.tokens", muon.Description.Split("AdamW")[0]);
        }

        [Theory]
        [InlineData("--model", "rnn")]
        [InlineData("--model", "")]
        public void An_unknown_model_is_one_line_and_usage(params string[] args)
        {
            var error = new StringWriter();
            int code = Program.Run(new[] { "train" }.Concat(args).ToArray(), error);
            Assert.Equal(Program.UsageError, code);
            Assert.DoesNotContain("   at ", error.ToString());
            Assert.Contains("usage: fused", error.ToString());
        }

        [Fact]
        public void A_missing_text_corpus_says_how_to_install_it_and_the_command_exits_1()
        {
            var e = Assert.Throws<FileNotFoundException>(() => TextCorpus.Load("/nonexistent/fortunes"));
            Assert.Contains("/nonexistent/fortunes", e.Message);
            Assert.Contains("apt-get install fortunes", e.Message);
            var error = new StringWriter();
            Assert.Equal(Program.RuntimeFailure, Program.Run(new[] { "train", "--model", "transformer", "--data", "/nonexistent/fortunes" }, error));
            Assert.DoesNotContain("   at ", error.ToString());
        }
    }
}
