using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Askr.Php;
using Askr.WebSockets.Pusher;

namespace Askr.WebSockets;

/// <summary>
/// The PHP thread's side of <c>Ephpm\Octane\broadcast()</c> (native/shim/broadcast.c): publishes
/// a server event to the Pusher subscribers of this worker and, through the supervisor, of the
/// node's other workers. Catches everything and returns a code; never calls into the Zend engine.
/// </summary>
internal static unsafe class BroadcastNatives
{
    public static void Register(ShimInterop.Callbacks* callbacks) => callbacks->Broadcast = &OnBroadcast;

    [UnmanagedCallersOnly]
    private static int OnBroadcast(ShimInterop.Str* channels, long count, ShimInterop.Str* eventName, ShimInterop.Str* data, ShimInterop.Str* except)
    {
        try
        {
            if (PhpThread.Current.Pusher is not { } server || server.Apps.All.Count == 0) return ShimInterop.BroadcastNoApp;
            var names = new List<string>((int)count);
            for (var i = 0; i < count; i++)
            {
                var name = Read(channels[i]);
                if (!PusherServer.IsValidChannelName(name)) return ShimInterop.BroadcastInvalidChannel;
                names.Add(name);
            }
            server.Publish(new PusherEvent(server.Apps.All[0].Id, names, Read(*eventName), JsonSerializer.Serialize(Read(*data)),
                except->Ptr is null ? null : Read(*except)));
            return ShimInterop.BroadcastOk;
        }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    private static string Read(ShimInterop.Str s) => s.Ptr is null ? "" : Encoding.UTF8.GetString(s.Ptr, (int)s.Len);
}
