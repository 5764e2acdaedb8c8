using System.Collections.Concurrent;
using System.Text.Json.Serialization;

namespace GenerationWorker.GeminiEmulator;

/// <summary>How an emulated Veo operation ends.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VideoEnd>))]
public enum VideoEnd
{
    /// <summary>Done with a response holding the generated samples.</summary>
    Video,

    /// <summary>Done with an <c>error</c> (directive <c>video-fail[=STATUS]</c>).</summary>
    Failed,

    /// <summary>Done with a response without samples, filtered by safety (directive <c>video-filtered</c>).</summary>
    Filtered,
}

/// <summary>One Veo long-running operation: what started it, when it is done and how it ends.</summary>
internal sealed class VideoOperation
{
    /// <summary>The google.rpc canonical codes the <c>video-fail=STATUS</c> directive takes.</summary>
    public static readonly IReadOnlyDictionary<string, int> RpcCodes = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["INVALID_ARGUMENT"] = 3,
        ["DEADLINE_EXCEEDED"] = 4,
        ["PERMISSION_DENIED"] = 7,
        ["RESOURCE_EXHAUSTED"] = 8,
        ["FAILED_PRECONDITION"] = 9,
        ["INTERNAL"] = 13,
        ["UNAVAILABLE"] = 14,
    };

    private readonly ConcurrentDictionary<string, int> _downloadAttempts = new(StringComparer.Ordinal);

    /// <summary>Creates an operation.</summary>
    public VideoOperation(string id, VideoRequest request, DateTimeOffset createdAt, TimeSpan generationTime, PromptDirectives directives)
    {
        Id = id;
        Request = request;
        Name = $"models/{request.Model}/operations/{id}";
        CreatedAt = createdAt;
        DoneAt = createdAt + generationTime;
        End = directives.VideoEnd ?? VideoEnd.Video;
        ErrorStatus = directives.VideoErrorStatus ?? "INTERNAL";
        DownloadFailures = directives.DownloadFailures ?? 0;
        FileIds = [.. Enumerable.Range(0, request.SampleCount).Select(i => $"{id}{(char)('a' + i)}")];
    }

    /// <summary>The operation id (the last segment of <see cref="Name"/>).</summary>
    public string Id { get; }

    /// <summary><c>models/{model}/operations/{id}</c>.</summary>
    public string Name { get; }

    /// <summary>The validated start request.</summary>
    public VideoRequest Request { get; }

    /// <summary>When the start was accepted.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>From when polls answer <c>done: true</c>.</summary>
    public DateTimeOffset DoneAt { get; }

    /// <summary>How it ends.</summary>
    public VideoEnd End { get; }

    /// <summary>The canonical status of the error when <see cref="End"/> is <see cref="VideoEnd.Failed"/>.</summary>
    public string ErrorStatus { get; }

    /// <summary>How many downloads of each file answer 503 first.</summary>
    public int DownloadFailures { get; }

    /// <summary>The ids of the generated files, one per sample.</summary>
    public IReadOnlyList<string> FileIds { get; }

    /// <summary>Counts a download attempt of <paramref name="fileId"/>; true when it must answer 503.</summary>
    public bool NextDownloadFails(string fileId) =>
        DownloadFailures > 0 && _downloadAttempts.AddOrUpdate(fileId, 1, (_, n) => n + 1) <= DownloadFailures;
}

/// <summary>The operations and generated files of one emulator. They outlive <c>POST /_emulator/reset</c>, as
/// operations outlive a client's restart at Google.</summary>
internal sealed class VideoOperations
{
    private readonly ConcurrentDictionary<string, VideoOperation> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (VideoOperation Operation, int Sample)> _files = new(StringComparer.Ordinal);

    /// <summary>Creates and keeps an operation.</summary>
    public VideoOperation Create(VideoRequest request, DateTimeOffset now, TimeSpan generationTime, PromptDirectives directives)
    {
        while (true)
        {
            var operation = new VideoOperation(NewId(), request, now, generationTime, directives);
            if (_byName.TryAdd(operation.Name, operation))
            {
                for (var i = 0; i < operation.FileIds.Count; i++)
                {
                    _files[operation.FileIds[i]] = (operation, i);
                }

                return operation;
            }
        }
    }

    /// <summary>The operation named <paramref name="name"/> (<c>models/{model}/operations/{id}</c>).</summary>
    public VideoOperation? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The operation and sample index of a generated file.</summary>
    public (VideoOperation Operation, int Sample)? FindFile(string fileId) =>
        _files.TryGetValue(fileId, out var file) ? file : null;

    private static string NewId()
    {
        Span<char> id = stackalloc char[12];
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        id[0] = alphabet[Random.Shared.Next(26)];
        for (var i = 1; i < id.Length; i++)
        {
            id[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        }

        return new string(id);
    }
}
