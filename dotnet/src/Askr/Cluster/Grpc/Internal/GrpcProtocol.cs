namespace Askr.Cluster.Grpc.Internal;

/// <summary>Names and values of the gRPC over HTTP/2 protocol (grpc/doc/PROTOCOL-HTTP2.md).</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string AuthorizationHeader = "authorization";
    public const string UserAgent = "grpc-askr/1.0";

    /// <summary>Default largest message accepted, as in grpc-core and Grpc.Net: 4 MiB.</summary>
    public const int DefaultMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>
    /// True for <c>application/grpc</c> and <c>application/grpc+proto</c>, with or without
    /// parameters (<c>; charset=...</c>); the other <c>+codec</c> forms are not spoken here.
    /// </summary>
    public static bool IsGrpcContentType(string? value)
    {
        if (value is null || !value.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = value.AsSpan(ContentType.Length);
        if (rest.StartsWith("+proto", StringComparison.OrdinalIgnoreCase)) rest = rest[6..];
        return rest.IsEmpty || rest[0] == ';';
    }
}
