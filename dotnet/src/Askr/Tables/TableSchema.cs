using System.Text.Json;
using System.Text.Json.Nodes;

namespace Askr.Tables;

/// <summary>Column types, numbered as Swoole\Table's TYPE_INT, TYPE_FLOAT and TYPE_STRING.</summary>
public enum ColumnType : byte
{
    Int = 1,
    Float = 2,
    String = 3,
}

/// <summary>
/// One fixed-width column. Its bytes inside a row's column area, at <see cref="Offset"/>:
/// <list type="bullet">
/// <item>int: the value (int64);</item>
/// <item>float: the value (double);</item>
/// <item>string: its length in bytes (int32), then <see cref="Size"/> bytes, padded to 8.</item>
/// </list>
/// What merging across nodes needs per column (the clock of its last set, this node's counter
/// share) is kept beside the column area, in the row's column metadata (SharedTable).
/// </summary>
public sealed record ColumnSchema(string Name, ColumnType Type, int Size)
{
    public int Offset { get; internal set; }

    /// <summary>Bytes this column takes in a row.</summary>
    public int Width => Type == ColumnType.String ? Align8(4 + Size) : 8;

    internal static int Align8(int n) => (n + 7) & ~7;
}

/// <summary>
/// A table's shape, as Octane declares it in config/octane.php:
/// <c>'name:rows' => ['column' => 'string:size' | 'int' | 'float']</c>.
/// </summary>
public sealed class TableSchema
{
    /// <summary>Longest key in bytes: Swoole\Table's limit (SW_TABLE_KEY_SIZE 64, minus the terminator).</summary>
    public const int MaxKeyBytes = 63;
    /// <summary>Most columns a table may have (a row's set of written columns is a 64-bit mask).</summary>
    public const int MaxColumns = 64;
    /// <summary>Largest string column, in bytes.</summary>
    public const int MaxStringSize = 1024 * 1024;
    /// <summary>Name of the octane cache table (columns value, expiration), as Octane's Swoole server names it.</summary>
    public const string CacheTableName = "octane_cache";

    public TableSchema(string name, int rows, IReadOnlyList<ColumnSchema> columns)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 64) throw new ArgumentException($"table name \"{name}\" must have 1 to 64 characters");
        if (rows < 1 || rows > 64 * 1024 * 1024) throw new ArgumentException($"table {name}: rows must be 1 to 67108864, not {rows}");
        if (columns.Count > MaxColumns) throw new ArgumentException($"table {name}: at most {MaxColumns} columns");
        Name = name;
        Rows = rows;
        Columns = columns;
        var offset = 0;
        Offsets = new int[columns.Count];
        StringSizes = new int[columns.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            var c = columns[i];
            if (c.Type == ColumnType.String && (c.Size < 1 || c.Size > MaxStringSize))
                throw new ArgumentException($"table {name}: string column {c.Name} needs a size of 1 to {MaxStringSize} bytes");
            c.Offset = offset;
            Offsets[i] = offset;
            StringSizes[i] = c.Type == ColumnType.String ? c.Size : 0;
            offset += c.Width;
        }
        ColumnBytes = offset;
    }

    public string Name { get; }
    /// <summary>Capacity in rows; a full table refuses new keys.</summary>
    public int Rows { get; }
    public IReadOnlyList<ColumnSchema> Columns { get; }
    /// <summary>Bytes of all columns of one row.</summary>
    public int ColumnBytes { get; }
    /// <summary>Each column's <see cref="ColumnSchema.Offset"/>, by index (for hot paths: no interface calls).</summary>
    internal int[] Offsets { get; }
    /// <summary>Each column's size if it is a string column, else 0, by index.</summary>
    internal int[] StringSizes { get; }

    public int ColumnIndex(string name)
    {
        for (var i = 0; i < Columns.Count; i++) if (Columns[i].Name == name) return i;
        return -1;
    }

    /// <summary>The cache table of Octane's octane cache store: value (string, octane.cache.bytes) and expiration (int).</summary>
    public static TableSchema Cache(int rows, int bytes) =>
        new(CacheTableName, rows, [new ColumnSchema("value", ColumnType.String, bytes), new ColumnSchema("expiration", ColumnType.Int, 0)]);

    /// <summary>
    /// Reads the tables JSON that the driver writes from config/octane.php:
    /// <c>{"tables": {"name:rows": {"col": "string:100", "n": "int"}}, "cache": {"rows": 1000, "bytes": 10000}}</c>.
    /// </summary>
    /// <exception cref="FormatException">with what is wrong and where.</exception>
    public static List<TableSchema> ParseConfig(string json)
    {
        var result = new List<TableSchema>();
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new FormatException($"tables config is not JSON: {e.Message}"); }
        if (root is not JsonObject obj) throw new FormatException("tables config must be a JSON object");
        // A key we do not know is a mistake, not something to skip: {"users:100": {...}} without
        // the "tables" wrapper would otherwise start a server with no table at all.
        foreach (var (key, _) in obj)
        {
            if (key is not ("tables" or "cache"))
                throw new FormatException($"tables config: unknown key \"{key}\" (the keys are \"tables\" and \"cache\"; a table is declared inside \"tables\": {{\"tables\": {{\"users:100\": {{\"name\": \"string:64\"}}}}}})");
        }
        if (obj["tables"] is { } tablesNode && tablesNode is not JsonObject)
            throw new FormatException("tables config: \"tables\" must be an object of 'name:rows' => columns");
        if (obj["cache"] is { } cacheNode && cacheNode is not JsonObject)
            throw new FormatException("tables config: \"cache\" must be an object {\"rows\": n, \"bytes\": n}");
        if (obj["tables"] is JsonObject tables)
        {
            foreach (var (declaration, columnsNode) in tables)
            {
                var parts = declaration.Split(':');
                if (parts.Length != 2 || !int.TryParse(parts[1], out var rows))
                    throw new FormatException($"table \"{declaration}\": declare it as 'name:rows', e.g. 'example:1000'");
                if (columnsNode is not JsonObject columns) throw new FormatException($"table \"{declaration}\": columns must be an object");
                var list = new List<ColumnSchema>();
                foreach (var (column, typeNode) in columns)
                {
                    var spec = typeNode is JsonValue v && v.TryGetValue<string>(out var text) ? text : typeNode?.ToJsonString() ?? "null";
                    list.Add(ParseColumn(parts[0], column, spec));
                }
                try { result.Add(new TableSchema(parts[0], rows, list)); }
                catch (ArgumentException e) { throw new FormatException(e.Message); }
            }
        }
        if (obj["cache"] is JsonObject cache)
        {
            foreach (var (key, _) in cache)
            {
                if (key is not ("rows" or "bytes")) throw new FormatException($"tables config: unknown key \"{key}\" in \"cache\" (the keys are \"rows\" and \"bytes\")");
            }
            int rows, bytes;
            try
            {
                rows = cache["rows"]?.GetValue<int>() ?? 1000;
                bytes = cache["bytes"]?.GetValue<int>() ?? 10000;
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw new FormatException("tables config: \"cache\" rows and bytes must be whole numbers");
            }
            try { result.Add(Cache(rows, bytes)); }
            catch (ArgumentException e) { throw new FormatException(e.Message); }
        }
        var duplicate = result.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new FormatException($"table \"{duplicate.Key}\" is declared twice");
        return result;
    }

    private static ColumnSchema ParseColumn(string table, string column, string spec)
    {
        var p = spec.Split(':');
        switch (p[0])
        {
            case "int": return new ColumnSchema(column, ColumnType.Int, 8);
            case "float": return new ColumnSchema(column, ColumnType.Float, 8);
            case "string" when p.Length == 2 && int.TryParse(p[1], out var size) && size > 0:
                return new ColumnSchema(column, ColumnType.String, size);
            default:
                throw new FormatException($"table {table}, column {column}: type \"{spec}\" is not 'int', 'float' or 'string:size'");
        }
    }

    internal JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["rows"] = Rows,
        ["columns"] = new JsonArray(Columns.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["type"] = (int)c.Type, ["size"] = c.Size }).ToArray()),
    };

    internal static TableSchema FromJson(JsonObject o) => new(
        o["name"]!.GetValue<string>(),
        o["rows"]!.GetValue<int>(),
        o["columns"]!.AsArray().Select(c => new ColumnSchema(c!["name"]!.GetValue<string>(), (ColumnType)c["type"]!.GetValue<int>(), c["size"]!.GetValue<int>())).ToList());
}
