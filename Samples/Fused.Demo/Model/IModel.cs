using System;
using System.Collections.Generic;

namespace Fused.Demo.Model
{
    /// <summary>
    /// A freshly initialised network bound to its training and test data: all the one training loop
    /// (<see cref="Training.Trainer"/>) needs of an MLP, a CNN or a transformer.
    /// </summary>
    public interface IModel
    {
        /// <summary>Every trainable tensor; the optimizer updates them in place from their gradients.</summary>
        IReadOnlyList<Parameter> Parameters { get; }

        /// <summary>
        /// Forward and backward on the training examples numbered <paramref name="examples"/>: fills every
        /// <see cref="Parameter.Gradient"/> with the gradient of the mean loss and returns that loss.
        /// </summary>
        float TrainBatch(ReadOnlySpan<int> examples);

        /// <summary>Mean loss and accuracy on the test data (accuracy: of the class, or of the next character).</summary>
        (double Loss, double Accuracy) Evaluate();
    }

    /// <summary>A model choice of `fused train --model`: its data and how to build a fresh network for each run.</summary>
    public interface IModelTask
    {
        /// <summary>The --model name: mlp, cnn or transformer.</summary>
        string Name { get; }

        /// <summary>One line for the run header and the report, e.g. "MLP 784→256→128→10, ReLU, on Fashion-MNIST".</summary>
        string Description { get; }

        /// <summary>Training examples in one epoch (images, or text windows).</summary>
        int TrainingExampleCount { get; }

        /// <summary>A network initialised from <paramref name="seed"/>, taking batches of up to <paramref name="maxBatch"/> examples.</summary>
        IModel Create(ulong seed, int maxBatch);
    }
}
