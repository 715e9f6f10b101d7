using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Optimizers;
using Fused.Demo.Training;
using Spectre.Console;

namespace Fused.Demo.Console
{
    /// <summary>One run of the comparison: a model's trainer (which fixes the seed), an optimizer, and the labels it reports under.</summary>
    public sealed record TrainingJob(string Model, ulong Seed, Trainer Trainer, OptimizerRecipe Recipe)
    {
        public string Label => $"{Recipe.Name} · seed {Seed}";

        /// <summary>Trains, and labels the result with the model and the seed.</summary>
        public RunResult Run(Action<TrainingProgress>? progress) => Trainer.Run(Recipe, progress) with { Model = Model, Seed = Seed };
    }

    /// <summary>
    /// Live progress: one bar per run with epoch, running loss and last test accuracy. When the console is not
    /// interactive (redirected, CI) Spectre draws nothing live, so a line per epoch is printed instead. The loss
    /// shown here is the running (exponential moving) average of the batch losses, labelled so: the results table's
    /// train loss is the mean of the last tenth of an epoch's batches, a different figure.
    /// </summary>
    public static class TrainingProgressView
    {
        public static IReadOnlyList<RunResult> Run(IReadOnlyList<TrainingJob> jobs)
        {
            var results = new List<RunResult>();
            int width = jobs.Max(j => j.Label.Length);
            if (!AnsiConsole.Profile.Capabilities.Interactive)
            {
                foreach (var job in jobs)
                {
                    int lastEpoch = 0;
                    results.Add(job.Run(p =>
                    {
                        bool epochDone = p.Step == p.TotalSteps || p.Step % job.Trainer.StepsPerEpoch == 0;
                        if (!epochDone || p.Epoch == lastEpoch) return;
                        lastEpoch = p.Epoch;
                        System.Console.WriteLine($"{job.Label.PadRight(width)}  epoch {p.Epoch}/{p.Epochs}  step {p.Step,6}/{p.TotalSteps}  running loss {p.RunningLoss:F4}  test acc {Percent(p.LastTestAccuracy)}");
                    }));
                }

                return results;
            }

            AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var tasks = jobs.Select(j => context.AddTask(Describe(j.Label, width, 0, 0, double.NaN, null), autoStart: false, maxValue: j.Trainer.TotalSteps)).ToArray();
                    for (int i = 0; i < jobs.Count; i++)
                    {
                        var job = jobs[i];
                        var task = tasks[i];
                        task.StartTask();
                        long lastShown = 0;
                        var result = job.Run(p =>
                        {
                            // Redrawing every step would cost more than a small step; a few times per epoch is plenty.
                            if (p.Step - lastShown < 8 && p.Step != p.TotalSteps) return;
                            lastShown = p.Step;
                            task.Value = p.Step;
                            task.Description = Describe(job.Label, width, p.Epoch, p.Epochs, p.RunningLoss, p.LastTestAccuracy);
                        });
                        long perEpoch = job.Trainer.StepsPerEpoch;
                        task.Value = task.MaxValue;
                        task.Description = Describe(job.Label, width, (int)Math.Ceiling((double)result.Steps / perEpoch), (int)(job.Trainer.TotalSteps / perEpoch),
                            result.Diverged ? double.NaN : result.FinalTrainLoss, result.TestAccuracy, "train loss");
                        task.StopTask();
                        results.Add(result);
                    }
                });
            return results;
        }

        // While training: the running loss; when done: the table's train loss (the last tenth of the batches), so the figures match.
        private static string Describe(string label, int width, int epoch, int epochs, double loss, double? accuracy, string lossName = "running loss")
        {
            string lossText = double.IsNaN(loss) ? "  —   " : loss.ToString("F4");
            return $"[bold]{Markup.Escape(label.PadRight(width))}[/] epoch {epoch}/{epochs}  {lossName} {lossText}  acc {Percent(accuracy)}";
        }

        private static string Percent(double? accuracy) => accuracy is double a && !double.IsNaN(a) ? $"{a:P2}" : "  —  ";
    }
}
