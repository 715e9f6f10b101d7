namespace Fused.Demo.Report
{
    public static class HtmlReport
    {
        public static string Build(ReportInput input) => "<html></html>";
    }
}
