using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Demo.Optimizers;
using Fused.Demo.Training;
using Spectre.Console;

namespace Fused.Demo.Console
{
    /// <summary>
    /// Live progress: one bar per optimizer with epoch, running loss and last test accuracy. When the
    /// console is not interactive (redirected, CI) Spectre draws nothing live, so a line per epoch is printed instead.
    /// </summary>
    public static class TrainingProgressView
    {
        public static IReadOnlyList<RunResult> Run(Trainer trainer, IReadOnlyList<OptimizerRecipe> recipes)
        {
            var results = new List<RunResult>();
            if (!AnsiConsole.Profile.Capabilities.Interactive)
            {
                foreach (var recipe in recipes)
                {
                    int lastEpoch = 0;
                    var result = trainer.Run(recipe, p =>
                    {
                        bool epochDone = p.Step == p.TotalSteps || p.Step % trainer.StepsPerEpoch == 0;
                        if (!epochDone || p.Epoch == lastEpoch) return;
                        lastEpoch = p.Epoch;
                        System.Console.WriteLine($"{p.Optimizer,-14} epoch {p.Epoch}/{p.Epochs}  step {p.Step,6}/{p.TotalSteps}  loss {p.RunningLoss:F4}  test acc {Percent(p.LastTestAccuracy)}");
                    });
                    results.Add(result);
                }

                return results;
            }

            AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var tasks = recipes.Select(r => context.AddTask(Describe(r.Name, 0, 0, double.NaN, null), autoStart: false, maxValue: trainer.TotalSteps)).ToArray();
                    for (int i = 0; i < recipes.Count; i++)
                    {
                        var task = tasks[i];
                        task.StartTask();
                        long lastShown = 0;
                        var result = trainer.Run(recipes[i], p =>
                        {
                            // Redrawing every step would cost more than a small step; a few times per epoch is plenty.
                            if (p.Step - lastShown < 8 && p.Step != p.TotalSteps) return;
                            lastShown = p.Step;
                            task.Value = p.Step;
                            task.Description = Describe(p.Optimizer, p.Epoch, p.Epochs, p.RunningLoss, p.LastTestAccuracy);
                        });
                        task.Value = task.MaxValue;
                        task.Description = Describe(result.Optimizer, result.Diverged ? 0 : trainer.TotalSteps > 0 ? (int)Math.Ceiling((double)result.Steps / trainer.StepsPerEpoch) : 0,
                            (int)(trainer.TotalSteps / trainer.StepsPerEpoch), result.FinalTrainLoss, result.TestAccuracy);
                        task.StopTask();
                        results.Add(result);
                    }
                });
            return results;
        }

        private static string Describe(string name, int epoch, int epochs, double loss, double? accuracy)
        {
            string lossText = double.IsNaN(loss) ? "  —   " : loss.ToString("F4");
            return $"[bold]{Markup.Escape(name),-12}[/] epoch {epoch}/{epochs}  loss {lossText}  acc {Percent(accuracy)}";
        }

        private static string Percent(double? accuracy) => accuracy is double a && !double.IsNaN(a) ? $"{a:P1}" : "  —  ";
    }
}
