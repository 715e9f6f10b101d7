using System;
using System.Collections.Generic;

namespace Fused.Demo.Model
{
    /// <summary>A network from flattened images to class logits (the MLP and the CNN).</summary>
    public interface IImageClassifier
    {
        IReadOnlyList<Parameter> Parameters { get; }
        int InputSize { get; }
        int ClassCount { get; }

        /// <summary>Logits [batch, classes] for row-major inputs [batch, InputSize] (valid until the next call).</summary>
        ReadOnlySpan<float> Forward(ReadOnlySpan<float> inputs, int batch);

        /// <summary>Fills every gradient with that of the mean cross-entropy on the batch and returns the loss.</summary>
        float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<byte> labels, int batch);
    }
}
