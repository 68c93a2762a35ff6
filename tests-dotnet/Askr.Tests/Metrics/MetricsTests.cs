using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Askr.Tests.Support;

namespace Askr.Tests.Metrics;

/// <summary>GET /metrics on the admin endpoint, scraped and parsed as Prometheus would.</summary>
public sealed partial class MetricsTests
{
    /// <summary>Prometheus text exposition format 0.0.4: one sample per line, "name{labels} value".</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var m = Sample().Match(line);
            Assert.True(m.Success, $"not a sample line: {line}");
            samples[m.Groups[1].Value] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")]
    private static partial Regex Sample();

    [Fact]
    public async Task Metrics_count_requests_by_status_class_with_a_consistent_histogram_and_report_workers_and_tables()
    {
        var respPort = AskrServer.FreePort();
        await using var server = await AskrServer.StartAsync("router.php", 2, "--tables", Path.Combine(AskrServer.PhpDir, "tables.json"), "--resp-port", respPort.ToString());
        using (var resp = new System.Net.Sockets.TcpClient())
        {
            await resp.ConnectAsync("127.0.0.1", respPort);
            var stream = resp.GetStream();
            await stream.WriteAsync("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"u8.ToArray());
            var pongs = new byte[21];
            await stream.ReadExactlyAsync(pongs);
            Assert.Equal("+PONG\r\n+PONG\r\n+PONG\r\n", System.Text.Encoding.ASCII.GetString(pongs));
        }
        for (var i = 0; i < 6; i++) Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/echo")).StatusCode);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.InternalServerError, (await server.Client.GetAsync("/fatal")).StatusCode);

        using var anonymous = new HttpClient { BaseAddress = server.Admin.BaseAddress };
        Dictionary<string, double> samples = [];
        string contentType = "";
        // Workers report once a second: poll until their reports are in.
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            var response = await anonymous.GetAsync("/metrics");
            contentType = response.Content.Headers.ContentType?.ToString() ?? "";
            samples = Parse(await response.Content.ReadAsStringAsync());
            return samples.GetValueOrDefault("askr_http_requests_total{code=\"2xx\"}") >= 6
                && samples.GetValueOrDefault("askr_http_requests_total{code=\"5xx\"}") >= 2
                && samples.Keys.Count(k => k.StartsWith("askr_worker_resident_memory_bytes")) == 2
                && samples.Keys.Count(k => k.StartsWith("askr_worker_pss_bytes")) == 2
                && samples.Keys.Count(k => k.StartsWith("askr_http_requests_in_flight")) == 2; // both workers reported
        }, TimeSpan.FromSeconds(15)), string.Join('\n', samples.Select(s => $"{s.Key} {s.Value}")));

        Assert.StartsWith("text/plain; version=0.0.4", contentType);
        foreach (var code in new[] { "2xx", "5xx" })
        {
            var count = samples[$"askr_http_request_duration_seconds_count{{code=\"{code}\"}}"];
            Assert.Equal(samples[$"askr_http_requests_total{{code=\"{code}\"}}"], count);
            Assert.Equal(count, samples[$"askr_http_request_duration_seconds_bucket{{code=\"{code}\",le=\"+Inf\"}}"]);
            var buckets = samples.Where(s => s.Key.StartsWith($"askr_http_request_duration_seconds_bucket{{code=\"{code}\"")).Select(s => s.Value).ToList();
            Assert.Equal(buckets.OrderBy(v => v), buckets); // cumulative
            Assert.InRange(samples[$"askr_http_request_duration_seconds_sum{{code=\"{code}\"}}"], 1e-6, count * 30);
        }
        Assert.Equal(0, samples["askr_http_requests_total{code=\"4xx\"}"]);
        Assert.Equal(2, samples["askr_workers{kind=\"http\",state=\"ready\"}"]);
        Assert.Equal(0, samples["askr_worker_restarts_total"]);
        Assert.True(samples["askr_worker_resident_memory_bytes{kind=\"http\",slot=\"0\"}"] > 1024 * 1024);
        // PSS: each worker's and the supervisor's, > 0 and at most its RSS (both from one smaps_rollup reading).
        var pssSum = 0.0;
        foreach (var slot in new[] { "0", "1" })
        {
            var rss = samples[$"askr_worker_resident_memory_bytes{{kind=\"http\",slot=\"{slot}\"}}"];
            var pss = samples[$"askr_worker_pss_bytes{{kind=\"http\",slot=\"{slot}\"}}"];
            Assert.InRange(pss, 1024 * 1024, rss);
            pssSum += pss;
        }
        Assert.InRange(samples["askr_supervisor_pss_bytes"], 1024 * 1024, samples["askr_supervisor_resident_memory_bytes"]);
        Assert.Equal(pssSum + samples["askr_supervisor_pss_bytes"], samples["askr_node_pss_bytes"]);
        Assert.Equal(2, samples["askr_table_capacity_rows{table=\"tiny\"}"]);
        Assert.Equal(0, samples["askr_table_rows{table=\"tiny\"}"]);
        Assert.Contains(samples.Keys, k => k.StartsWith("askr_php_memory_bytes{slot="));
        Assert.Equal(3, samples["askr_resp_commands_total{command=\"ping\"}"]);
        Assert.Equal(0, samples["askr_http_requests_in_flight{slot=\"0\"}"] + samples["askr_http_requests_in_flight{slot=\"1\"}"]);
    }
}
