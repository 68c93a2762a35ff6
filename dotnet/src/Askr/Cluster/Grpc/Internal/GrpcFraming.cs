using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Askr.Cluster.Grpc.Internal;

/// <summary>What <see cref="GrpcFraming.TryReadMessage"/> found at the start of the buffer.</summary>
internal enum FrameStatus
{
    /// <summary>A whole message; the buffer was advanced past it.</summary>
    Message,
    /// <summary>Not yet: fewer bytes than the prefix or its declared length.</summary>
    Incomplete,
    /// <summary>Compressed flag 1: no <c>grpc-encoding</c> is negotiated here, so it cannot be decoded.</summary>
    Compressed,
    /// <summary>The compressed flag is neither 0 nor 1.</summary>
    BadFlag,
    /// <summary>The declared length exceeds the limit (judged from the prefix alone).</summary>
    TooLarge,
}

/// <summary>
/// Length-prefixed messages (PROTOCOL-HTTP2.md, "Length-Prefixed-Message"): a compressed flag
/// byte, a 4-byte big-endian length, then that many bytes of protobuf.
/// </summary>
internal static class GrpcFraming
{
    public const int PrefixBytes = 5;

    /// <summary>Reads one message off the front of <paramref name="buffer"/>; never throws on short input.</summary>
    /// <param name="message">The protobuf bytes, a slice of the buffer (valid until the reader advances).</param>
    /// <param name="length">The declared length, when the prefix was complete.</param>
    public static FrameStatus TryReadMessage(ref ReadOnlySequence<byte> buffer, int maxMessageBytes, out ReadOnlySequence<byte> message, out long length)
    {
        message = default;
        length = 0;
        if (buffer.Length < PrefixBytes) return FrameStatus.Incomplete;
        Span<byte> prefix = stackalloc byte[PrefixBytes];
        buffer.Slice(0, PrefixBytes).CopyTo(prefix);
        length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (prefix[0] > 1) return FrameStatus.BadFlag;
        if (prefix[0] == 1) return FrameStatus.Compressed;
        if (length > maxMessageBytes) return FrameStatus.TooLarge;
        if (buffer.Length - PrefixBytes < length) return FrameStatus.Incomplete;
        message = buffer.Slice(PrefixBytes, length);
        buffer = buffer.Slice(message.End);
        return FrameStatus.Message;
    }

    /// <summary>Appends <paramref name="message"/> with its prefix.</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message)
    {
        var size = message.CalculateSize();
        var prefix = writer.GetSpan(PrefixBytes);
        prefix[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(prefix[1..], (uint)size);
        writer.Advance(PrefixBytes);
        if (size > 0) message.WriteTo(writer);
    }

    /// <summary>The message with its prefix, in one array (a request body).</summary>
    public static byte[] Frame(IMessage message)
    {
        var size = message.CalculateSize();
        var bytes = new byte[PrefixBytes + size];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)size);
        message.WriteTo(bytes.AsSpan(PrefixBytes));
        return bytes;
    }

    /// <summary>
    /// Reads the next message from <paramref name="reader"/>; null at a clean end of stream.
    /// Malformed input throws <see cref="GrpcCallException"/>: Internal for framing and protobuf
    /// that does not parse (as grpc-core and Grpc.AspNetCore answer), Unimplemented for a
    /// compressed message, ResourceExhausted over the size limit.
    /// </summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, int maxMessageBytes, CancellationToken cancellationToken)
        where T : class, IMessage<T>, new()
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var status = TryReadMessage(ref buffer, maxMessageBytes, out var payload, out var length);
            if (status == FrameStatus.Message)
            {
                T? message = null;
                Exception? error = null;
                try { message = Messages<T>.Parser.ParseFrom(payload); }
                catch (Exception e) { error = e; }
                reader.AdvanceTo(buffer.Start);
                return message ?? throw new GrpcCallException(GrpcStatusCode.Internal, $"Failed to parse {typeof(T).Name}: {error!.Message}", error);
            }
            if (status == FrameStatus.Incomplete && !result.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            reader.AdvanceTo(buffer.Start);
            if (status == FrameStatus.Incomplete && buffer.IsEmpty) return null;
            throw status switch
            {
                FrameStatus.Compressed => new GrpcCallException(GrpcStatusCode.Unimplemented, "Compressed message received but no grpc-encoding is supported (identity only)"),
                FrameStatus.TooLarge => new GrpcCallException(GrpcStatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {maxMessageBytes})"),
                FrameStatus.BadFlag => new GrpcCallException(GrpcStatusCode.Internal, "Invalid compressed flag in message prefix"),
                _ => new GrpcCallException(GrpcStatusCode.Internal, $"Incomplete message: the stream ended inside a message ({buffer.Length} bytes pending)"),
            };
        }
    }

    /// <summary>Throws Internal unless the stream ends here (a unary request or response has exactly one message).</summary>
    public static async ValueTask ExpectEndAsync(PipeReader reader, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var pending = result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (pending > 0) throw new GrpcCallException(GrpcStatusCode.Internal, $"Additional data after the {what} message");
            if (result.IsCompleted) return;
        }
    }
}

/// <summary>One protobuf parser per message type.</summary>
internal static class Messages<T> where T : class, IMessage<T>, new()
{
    public static readonly MessageParser<T> Parser = new(static () => new T());
}
