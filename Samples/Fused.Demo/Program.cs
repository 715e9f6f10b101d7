System.Console.WriteLine("fused demo: not yet");
