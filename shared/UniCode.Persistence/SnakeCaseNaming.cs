using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace UniCode.Persistence;

/// <summary>
/// Gives every column, key, foreign key and index a snake_case name, so hand-written SQL and
/// analysts never need quoted identifiers. Names set explicitly in the entity configurations
/// (table names, xmin, named unique keys) are left alone.
/// </summary>
public static class SnakeCaseNaming
{
    /// <summary>"ContentHash" → "content_hash", "ParentSha256" → "parent_sha256", "HTTPCode" → "http_code".</summary>
    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var prevLowerOrDigit = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                var acronymEnd = i > 0 && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (prevLowerOrDigit || acronymEnd) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>Call at the end of OnModelCreating, after every entity is configured.</summary>
    public static void Apply(ModelBuilder modelBuilder)
    {
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            var table = entity.GetTableName()
                ?? throw new InvalidOperationException($"entity {entity.Name} has no table name: call ToTable in its configuration");
            foreach (var property in entity.GetProperties())
            {
                if (property.FindAnnotation(RelationalAnnotationNames.ColumnName) is null)
                    property.SetColumnName(ToSnakeCase(property.Name));
            }
            foreach (var key in entity.GetKeys())
            {
                if (key.FindAnnotation(RelationalAnnotationNames.Name) is not null) continue;
                key.SetName(key.IsPrimaryKey() ? $"pk_{table}" : $"ak_{table}_{Columns(key.Properties)}");
            }
            foreach (var fk in entity.GetForeignKeys())
            {
                if (fk.FindAnnotation(RelationalAnnotationNames.Name) is not null) continue;
                var principal = fk.PrincipalEntityType.GetTableName();
                fk.SetConstraintName($"fk_{table}_{principal}_{Columns(fk.Properties)}");
            }
            foreach (var index in entity.GetIndexes())
            {
                if (index.FindAnnotation(RelationalAnnotationNames.Name) is not null) continue;
                index.SetDatabaseName($"{(index.IsUnique ? "ux" : "ix")}_{table}_{Columns(index.Properties)}");
            }
        }
    }

    private static string Columns(IEnumerable<IReadOnlyProperty> properties) =>
        string.Join("_", properties.Select(p => p.GetColumnName()));
}
