namespace Fused.Demo.Console
{
    /// <summary>Byte counts for people: decimal units (1 GB = 10⁹ bytes), as the seeds count them.</summary>
    public static class Bytes
    {
        public static string Format(double bytes)
        {
            string[] units = { "B", "KB", "MB", "GB", "TB", "PB" };
            int unit = 0;
            while (bytes >= 1000 && unit < units.Length - 1)
            {
                bytes /= 1000;
                unit++;
            }

            return unit == 0 ? $"{bytes:F0} {units[unit]}" : $"{bytes:0.##} {units[unit]}";
        }
    }
}
