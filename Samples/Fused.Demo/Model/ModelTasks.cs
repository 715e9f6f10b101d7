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
