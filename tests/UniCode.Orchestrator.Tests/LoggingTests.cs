using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UniCode.Persistence;

namespace UniCode.Orchestrator.Tests;

/// <summary>The orchestrator's logging, the JSON console every service shares (ServiceHost adds it with the ServiceDefaults): EF Core quiet (issue 10, item 5).</summary>
public sealed class LoggingTests
{
    [Fact]
    public void The_orchestrator_never_logs_sql_commands_and_logs_ef_core_only_from_warning_up()
    {
        using var provider = new ServiceCollection().AddLogging(l => UniCode.Hosting.ServiceDefaults.AddUniCodeJsonConsole(l)).BuildServiceProvider();
        var loggers = provider.GetRequiredService<ILoggerFactory>();

        var commands = loggers.CreateLogger(DatabaseLogging.CommandCategory);
        Assert.All(Enum.GetValues<LogLevel>(), level => Assert.False(commands.IsEnabled(level), $"SQL command lines at {level}"));
        var efCore = loggers.CreateLogger("Microsoft.EntityFrameworkCore.Infrastructure");
        Assert.False(efCore.IsEnabled(LogLevel.Information));
        Assert.True(efCore.IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("UniCode.Orchestrator.Chains.ChainEngine").IsEnabled(LogLevel.Information));
    }
}
