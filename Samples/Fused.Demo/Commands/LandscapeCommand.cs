using System.CommandLine;

namespace Fused.Demo.Commands
{
    public static class LandscapeCommand
    {
        public static Command Create() => new Command("landscape", "todo");
    }
}
