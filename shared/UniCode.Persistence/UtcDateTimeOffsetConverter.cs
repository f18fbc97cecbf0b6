using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace UniCode.Persistence;

/// <summary>
/// Npgsql writes DateTimeOffset to timestamptz only with offset 0 and throws otherwise; converting
/// on the way in lets callers pass local times. Reads come back in UTC, the same instant.
/// </summary>
public sealed class UtcDateTimeOffsetConverter()
    : ValueConverter<DateTimeOffset, DateTimeOffset>(v => v.ToUniversalTime(), v => v.ToUniversalTime());
