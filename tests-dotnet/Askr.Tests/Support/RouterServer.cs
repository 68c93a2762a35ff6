namespace Askr.Tests.Support;

/// <summary>One askr serve with the test router (php/router.php), shared by the tests of a class.</summary>
public sealed class RouterServer : IAsyncLifetime
{
    public AskrServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await AskrServer.StartAsync("router.php", workers: 1);
    public async Task DisposeAsync() => await Server.DisposeAsync();
}
