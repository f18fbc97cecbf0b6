namespace UniCode.Jobs;

/// <summary>
/// Runs a job's compute synchronously on a thread of its own. TorchSharp's dispose scopes are
/// thread-static: a training loop must run start to end on one thread and never await inside a scope,
/// and a thread-pool thread blocked for hours would starve the bus. The caller awaits the returned task.
/// </summary>
public static class JobThread
{
    /// <summary>Starts <paramref name="work"/> on a new background thread named <paramref name="name"/>; the task ends with its result or exception.</summary>
    public static Task<T> Run<T>(string name, Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (OperationCanceledException e)
            {
                done.SetException(e);   // not SetCanceled: the caller needs to see which token fired
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
