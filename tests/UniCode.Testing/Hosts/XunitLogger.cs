using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace UniCode.Testing;

/// <summary>Host logs into the test's output (shown when a test fails), with their scopes.</summary>
public sealed class XunitLoggerProvider(ITestOutputHelper output) : ILoggerProvider, ISupportExternalScope
{
    private readonly DateTime _start = DateTime.UtcNow;
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() { }

    private void Write(string line)
    {
        try { output.WriteLine(line); }
        catch (InvalidOperationException) { }   // the test has ended; late background logs are dropped
    }

    private sealed class Logger(XunitLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<string>();
            provider._scopes.ForEachScope((scope, list) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                    list.Add(string.Join(",", pairs.Select(p => $"{p.Key}={p.Value}")));
            }, scopes);
            provider.Write($"{(DateTime.UtcNow - provider._start).TotalSeconds,7:F3} {logLevel,-11} {category.Split('.').Last()}: {formatter(state, exception)}" +
                           (scopes.Count > 0 ? $" [{string.Join("; ", scopes)}]" : "") + (exception is null ? "" : $"\n{exception}"));
        }
    }
}
