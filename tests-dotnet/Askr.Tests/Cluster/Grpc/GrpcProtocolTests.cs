using System.Buffers;
using Askr.Cluster.Grpc.Internal;
using Askr.Cluster.Wire;

namespace Askr.Tests.Cluster.Grpc;

/// <summary>The pieces of PROTOCOL-HTTP2.md on their own: grpc-timeout, grpc-message, message framing.</summary>
public sealed class GrpcProtocolTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("1500u", 15_000L)]
    [InlineData("1n", 1L)]
    [InlineData("1000n", 10L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Grpc_timeout_parses_every_unit(string value, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(value, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    [InlineData("1.5S")]
    public void Grpc_timeout_rejects_malformed_values(string value) => Assert.False(GrpcTimeout.TryParse(value, out _));

    [Theory]
    [InlineData(250.0, "250m")]
    [InlineData(0.3, "1m")]
    [InlineData(99_999_999.0, "99999999m")]
    [InlineData(100_000_000.0, "100000S")]
    public void Grpc_timeout_formats_in_at_most_eight_digits_rounding_up(double milliseconds, string expected) =>
        Assert.Equal(expected, GrpcTimeout.Format(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100%", "100%25")]
    [InlineData("refusé", "refus%C3%A9")]
    [InlineData("line\nbreak", "line%0Abreak")]
    public void Grpc_message_percent_encodes_and_decodes(string text, string encoded)
    {
        Assert.Equal(encoded, GrpcMessageText.Encode(text));
        Assert.Equal(text, GrpcMessageText.Decode(encoded));
    }

    [Fact]
    public void Grpc_message_decoding_keeps_invalid_escapes()
    {
        Assert.Equal("50%", GrpcMessageText.Decode("50%"));
        Assert.Equal("%zz", GrpcMessageText.Decode("%zz"));
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("text/plain", false)]
    [InlineData(null, false)]
    public void Content_type_is_grpc_with_the_proto_codec_only(string? value, bool expected) => Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(value));

    [Fact]
    public void Framing_reads_a_message_fed_byte_by_byte_only_once_it_is_whole()
    {
        var ping = new PingMessage { From = 3, Sequence = 300 };
        var bytes = GrpcFraming.Frame(ping).Concat(GrpcFraming.Frame(new PingMessage { Sequence = 1 })).ToArray();
        var first = bytes.Length - 5 - new PingMessage { Sequence = 1 }.CalculateSize();
        for (var n = 0; n < first; n++)
        {
            var partial = new ReadOnlySequence<byte>(bytes, 0, n);
            Assert.Equal(FrameStatus.Incomplete, GrpcFraming.TryReadMessage(ref partial, 1024, out _, out _));
            Assert.Equal(n, partial.Length); // not consumed
        }
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(FrameStatus.Message, GrpcFraming.TryReadMessage(ref buffer, 1024, out var message, out var length));
        Assert.Equal(ping.CalculateSize(), length);
        Assert.Equal(ping, PingMessage.Parser.ParseFrom(message));
        Assert.Equal(FrameStatus.Message, GrpcFraming.TryReadMessage(ref buffer, 1024, out message, out _));
        Assert.Equal(1UL, PingMessage.Parser.ParseFrom(message).Sequence);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Framing_judges_oversized_and_compressed_messages_from_the_prefix_alone()
    {
        var big = new ReadOnlySequence<byte>(new byte[] { 0, 0, 1, 0, 0 });
        Assert.Equal(FrameStatus.TooLarge, GrpcFraming.TryReadMessage(ref big, 1024, out _, out var length));
        Assert.Equal(65536, length);
        var compressed = new ReadOnlySequence<byte>(new byte[] { 1, 0, 0, 0, 1 });
        Assert.Equal(FrameStatus.Compressed, GrpcFraming.TryReadMessage(ref compressed, 1024, out _, out _));
        var badFlag = new ReadOnlySequence<byte>(new byte[] { 2, 0, 0, 0, 1 });
        Assert.Equal(FrameStatus.BadFlag, GrpcFraming.TryReadMessage(ref badFlag, 1024, out _, out _));
    }
}
