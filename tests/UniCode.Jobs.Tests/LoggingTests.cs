using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UniCode.Persistence;

namespace UniCode.Jobs.Tests;

/// <summary>The job services' logging (trainer, fine-tuning, evaluation): EF Core quiet, as in every other service (issue 10, item 5).</summary>
public sealed class LoggingTests
{
    [Fact]
    public void Job_services_never_log_sql_commands_and_log_ef_core_only_from_warning_up()
    {
        using var provider = new ServiceCollection().AddLogging(l => l.AddJobServiceJsonConsole()).BuildServiceProvider();
        var loggers = provider.GetRequiredService<ILoggerFactory>();

        var commands = loggers.CreateLogger(DatabaseLogging.CommandCategory);
        Assert.All(Enum.GetValues<LogLevel>(), level => Assert.False(commands.IsEnabled(level), $"SQL command lines at {level}"));
        var efCore = loggers.CreateLogger("Microsoft.EntityFrameworkCore.Infrastructure");
        Assert.False(efCore.IsEnabled(LogLevel.Information));
        Assert.True(efCore.IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("UniCode.Jobs.JobExecutor").IsEnabled(LogLevel.Information));
    }
}
