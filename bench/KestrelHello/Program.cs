// Bare Kestrel hello-world, the reference askr's HTTP path is compared with.
// Usage: KestrelHello [port]   (binds 127.0.0.1 only; default port 5080)
// Kept as small as the framework allows: slim builder, no logging, one terminal delegate.

using System.Net;

var port = args.Length > 0 ? int.Parse(args[0]) : 5080;

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, port));

var app = builder.Build();

app.Run(static context =>
{
    context.Response.ContentType = "text/plain";
    return context.Response.WriteAsync("Hello, World!");
});

app.Run();
