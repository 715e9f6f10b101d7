using System;
using System.Collections.Generic;
using Fused.Demo.Data;
using Fused.Demo.Training;

namespace Fused.Demo.Model
{
    /// <summary>The models `fused train --model` offers, by name.</summary>
    public static class ModelTasks
    {
        public const string Mlp = "mlp";
        public const string Cnn = "cnn";
        public const string Transformer = "transformer";

        public static IReadOnlyList<string> Names { get; } = new[] { Mlp, Cnn, Transformer };

        /// <summary>
        /// Settings for options the user did not type, chosen so each optimizer's run costs well under a minute of one
        /// core: the MLP the default epochs of batch 128 on all 60,000 images; the CNN (about 9× the MLP's work per image) one
        /// epoch; the transformer one pass over 16,384 windows (1 M characters, about 45 % of the training text) in 512
        /// steps of 32 sequences, so every batch is new text.
        /// </summary>
        public static (int Epochs, int BatchSize, int? Subset) DefaultsFor(string model) => model switch
        {
            Transformer => (1, 32, 16_384),
            Cnn => (1, 128, null),
            _ => (new TrainingOptions().Epochs, 128, null),
        };

        /// <summary>
        /// True for the language model: judged by test loss (nats per character, lower wins) and titled by its text task;
        /// the image models by test accuracy.
        /// </summary>
        public static bool IsLanguageModel(string model) => model == Transformer;

        /// <summary>True for the models that train on Fashion-MNIST (the others bring their own data).</summary>
        public static bool UsesImages(string model) => model is Mlp or Cnn;

        /// <summary>The image model named by <paramref name="options"/>.Model on these datasets.</summary>
        public static IModelTask ForImages(TrainingOptions options, Dataset train, Dataset test) => options.Model switch
        {
            Mlp => ImageClassification.Mlp(train, test, options.LayerSizes),
            Cnn => ImageClassification.Cnn(train, test),
            _ => throw new ArgumentException($"--model {options.Model} does not train on images"),
        };
    }
}
