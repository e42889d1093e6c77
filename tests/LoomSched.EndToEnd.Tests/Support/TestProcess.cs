using System.Runtime.CompilerServices;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>
/// The test process measures arrival times on thread-pool threads while other tests flood NATS from it. On two
/// cores the pool starts with two workers and adds one about every half second when they are all busy, so an
/// arrival could be stamped half a second late although the daemon sent it on time (seen in the control-flood
/// test: fires on time in the daemon's log, arrivals late in bursts once a second). The daemon raises its own
/// minimum for the same reason.
/// </summary>
internal static class TestProcess
{
    [ModuleInitializer]
    internal static void RaiseThreadPoolMinimum() => ThreadPool.SetMinThreads(32, 32);
}
