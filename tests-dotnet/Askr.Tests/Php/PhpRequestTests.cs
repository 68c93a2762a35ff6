using Askr.Php;
using Microsoft.AspNetCore.Http;

namespace Askr.Tests.Php;

public sealed class PhpRequestTests
{
    [Fact]
    public void The_description_stays_readable_after_kestrel_recycled_the_context()
    {
        // The PHP thread logs a request after answering it (a fatal error's 500, the watchdog's
        // 504); by then Kestrel may have written the answer and recycled the HttpContext.
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/fatal";
        var request = new PhpRequest(context, null, 0);
        Assert.True(request.TryFail(500, "Internal Server Error"));
        context.Uninitialize();
        Assert.Equal("GET /fatal", request.Description);
    }
}
