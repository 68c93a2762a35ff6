using Askr.Worker;

namespace Askr.Tests.Worker;

public sealed class DocumentRootFileProviderTests
{
    [Theory]
    [InlineData("/index.php", true)]
    [InlineData("/admin/INDEX.PHP", true)]
    [InlineData("/.env", true)]
    [InlineData("/.git/config", true)]
    [InlineData("/assets/.hidden/app.js", true)]
    [InlineData("/assets/app.js", false)]
    [InlineData("/favicon.ico", false)]
    [InlineData("/php.txt", false)]
    public void Php_sources_and_dot_paths_are_hidden(string path, bool hidden)
    {
        Assert.Equal(hidden, DocumentRootFileProvider.IsHidden(path));
    }
}
