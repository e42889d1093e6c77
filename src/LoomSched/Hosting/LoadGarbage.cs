namespace LoomSched.Daemon.Hosting;

/// <summary>
/// Loading a config builds and drops several times what it keeps (the YAML tree, the parser's garbage): left alone,
/// the heap stays at that peak. One compacting collection, before anything fires, hands it back.
/// </summary>
internal static class LoadGarbage
{
    // A small config's garbage is not worth it: the collection also gives back the pages that the next allocations
    // would otherwise reuse, and faulting them in again is a start-up's dearest step on some virtual machines.
    private const long WorthCollecting = 2L << 20;

    public static void Release()
    {
        if (GC.GetTotalMemory(forceFullCollection: false) > WorthCollecting)
        {
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }
}
