using System.Reflection;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.TestSupport;

/// <summary>
/// Reads an assembly's <c>[LoggerMessage]</c> methods and its <c>LogEventBlocks</c> table (one constant per class that
/// logs: the first id of its block of 100), and says what breaks the scheme.
/// </summary>
public static class LogEventIds
{
    /// <summary>The size of a class's block of event ids.</summary>
    public const int BlockSize = 100;

    /// <summary>One source-generated log method: its class, its name and its event id.</summary>
    public sealed record LogMethod(string Class, string Method, int EventId);

    /// <summary>Every method of <paramref name="assembly"/> that carries <see cref="LoggerMessageAttribute"/>.</summary>
    public static IReadOnlyList<LogMethod> Methods(Assembly assembly) =>
    [
        .. from type in assembly.GetTypes()
           from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
           let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
           where attribute is not null
           select new LogMethod(type.Name, method.Name, attribute.EventId),
    ];

    /// <summary>The constants of a <c>LogEventBlocks</c> class: class name to the first id of its block.</summary>
    public static IReadOnlyDictionary<string, int> Blocks(Type blocks) =>
        blocks.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(field => field.IsLiteral && field.FieldType == typeof(int))
            .ToDictionary(field => field.Name, field => (int)field.GetRawConstantValue()!, StringComparer.Ordinal);

    /// <summary>
    /// What breaks the scheme, one line each: an id used by two methods, a class without a block, an id outside its
    /// class's block, a block not on a multiple of <see cref="BlockSize"/>, two classes with the same block.
    /// </summary>
    public static IReadOnlyList<string> Problems(IReadOnlyList<LogMethod> methods, IReadOnlyDictionary<string, int> blocks)
    {
        var problems = new List<string>();
        foreach (var shared in methods.GroupBy(m => m.EventId).Where(g => g.Count() > 1))
        {
            problems.Add($"event id {shared.Key} is used by {string.Join(", ", shared.Select(m => m.Class + "." + m.Method))}");
        }

        foreach (var method in methods)
        {
            if (!blocks.TryGetValue(method.Class, out var first))
            {
                problems.Add($"{method.Class}.{method.Method} (event id {method.EventId}): {method.Class} has no block in LogEventBlocks");
            }
            else if (method.EventId < first || method.EventId >= first + BlockSize)
            {
                problems.Add($"{method.Class}.{method.Method}: event id {method.EventId} is outside its block {first}-{first + BlockSize - 1}");
            }
        }

        foreach (var (name, first) in blocks.Where(b => b.Value % BlockSize != 0))
        {
            problems.Add($"the block of {name} starts at {first}, not at a multiple of {BlockSize}");
        }

        foreach (var shared in blocks.GroupBy(b => b.Value).Where(g => g.Count() > 1))
        {
            problems.Add($"block {shared.Key} is given to {string.Join(", ", shared.Select(b => b.Key))}");
        }

        return problems;
    }
}
