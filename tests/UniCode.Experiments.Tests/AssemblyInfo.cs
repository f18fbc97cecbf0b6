// libtorch's default generator and thread pool are process-wide, so test classes must not run in parallel.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
