using System.Net;
using Askr.Tests.Support;

namespace Askr.Tests.Worker;

/// <summary>Symbolic links in the document root: followed by default (nginx's), refused outside the root on request.</summary>
public sealed class StaticSymlinkTests
{
    [Fact]
    public async Task A_link_out_of_the_document_root_is_served_by_default_and_refused_with_static_follow_symlinks_no()
    {
        var id = Guid.NewGuid().ToString("N");
        var secret = Path.Combine(Path.GetTempPath(), $"askr-outside-{id}.txt");
        var outside = Path.Combine(AskrServer.PhpDir, "public", $"outside-{id}.txt");
        var inside = Path.Combine(AskrServer.PhpDir, "public", $"inside-{id}.html");
        try
        {
            File.WriteAllText(secret, "outside the document root\n");
            File.CreateSymbolicLink(outside, secret);
            File.CreateSymbolicLink(inside, Path.Combine(AskrServer.PhpDir, "public", "page.html"));

            await using (var server = await AskrServer.StartAsync("router.php", workers: 1))
            {
                Assert.Equal("outside the document root\n", await server.Client.GetStringAsync($"/outside-{id}.txt"));
            }

            await using (var strict = await AskrServer.StartAsync("router.php", 1, "--static-follow-symlinks", "no"))
            {
                // Not a static file: the request goes to PHP (router.php's default answer names the path).
                var refused = await strict.Client.GetAsync($"/outside-{id}.txt");
                var body = await refused.Content.ReadAsStringAsync();
                Assert.DoesNotContain("outside the document root", body);
                Assert.Contains($"outside-{id}.txt", body);
                // A link that stays inside the root is still served.
                var kept = await strict.Client.GetAsync($"/inside-{id}.html");
                Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
                Assert.Equal(await File.ReadAllTextAsync(Path.Combine(AskrServer.PhpDir, "public", "page.html")), await kept.Content.ReadAsStringAsync());
            }
        }
        finally
        {
            File.Delete(outside);
            File.Delete(inside);
            File.Delete(secret);
        }
    }

    [Fact]
    public async Task A_bad_static_follow_symlinks_value_is_refused()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => AskrServer.StartAsync("router.php", 1, "--static-follow-symlinks", "maybe"));
        Assert.Contains("--static-follow-symlinks must be yes or no", error.Message);
    }
}
