using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text.Json;

namespace GenerationWorker.Grains.Gemini;

/// <summary>What a generateContent 200 body says, as far as the service reads it.</summary>
/// <param name="HasCandidate">True when <c>candidates[0]</c> is present (an object).</param>
/// <param name="Image">The image of <c>candidates[0]</c> (the last non-thought image, else the last image), owned by
/// the caller; null when there is none.</param>
/// <param name="Text">The non-thought text parts of <c>candidates[0]</c> without an image, concatenated, or null.</param>
/// <param name="FinishReason"><c>candidates[0].finishReason</c>, or null.</param>
/// <param name="BlockReason"><c>promptFeedback.blockReason</c>, or null.</param>
/// <param name="Usage"><c>usageMetadata</c>'s token counts, or null when the answer has none.</param>
internal sealed record GenerateContentSummary(
    bool HasCandidate, GeneratedImage? Image, string? Text, string? FinishReason, string? BlockReason, GeminiUsage? Usage = null);

/// <summary>
/// Reads a generateContent 200 body from the response stream in one pass over pooled buffers, decoding each
/// <c>inlineData.data</c> base64 string in chunks into an <see cref="ImageSpool"/>: neither the base64 text nor the
/// decoded image is ever whole in memory.
/// </summary>
/// <remarks>
/// <para><see cref="Utf8JsonReader"/> needs a whole token in its buffer, and an image's base64 string is ~27 MB for a
/// 4K image. So the reader stops at the <c>data</c> property name of a <c>candidates[].content.parts[].inlineData</c>
/// object, a small scanner consumes the string itself (unescaping and decoding as bytes arrive), and the JSON reader
/// resumes on an empty string <c>""</c> written over the last two bytes of the consumed string, its state unchanged.</para>
/// <para>Everything the JSON reader reads is copied, so the copy is the body with each such string replaced by a handle
/// (the base64 of the spool's index; empty when the string decoded to nothing or its candidate is not the first). That
/// small copy is deserialized into the wire records by the source-generated <see cref="GeminiJsonContext"/>, so a body
/// is accepted or rejected exactly as <c>JsonSerializer</c> would: the known members must have their declared types,
/// a repeated member replaces the earlier one, unknown members are skipped, and anything else, including a body cut
/// short, is a <see cref="JsonException"/>. The base64 itself is checked by the scanner, in every candidate.</para>
/// </remarks>
internal sealed class GenerateContentReader : IDisposable
{
    private const int InitialBufferBytes = 64 * 1024;
    private const int StageBytes = 64 * 1024;
    private const int CopyBytes = 4 * 1024;

    /// <summary>The value of <see cref="_pathDepth"/> inside the candidates array.</summary>
    private const int InCandidates = 2;

    /// <summary>Room kept before the bytes of a base64 string, for the <c>""</c> the JSON reader resumes on.</summary>
    private const int Headroom = 2;

    /// <summary>The containers from the root down to an inlineData object: their kind and, for a member, its name.</summary>
    private static readonly (JsonTokenType Token, byte[]? Name)[] InlineDataPath =
    [
        (JsonTokenType.StartObject, null),
        (JsonTokenType.StartArray, "candidates"u8.ToArray()),
        (JsonTokenType.StartObject, null),
        (JsonTokenType.StartObject, "content"u8.ToArray()),
        (JsonTokenType.StartArray, "parts"u8.ToArray()),
        (JsonTokenType.StartObject, null),
        (JsonTokenType.StartObject, "inlineData"u8.ToArray()),
    ];

    private readonly Stream _stream;
    private readonly string _directory;
    private readonly List<ImageSpool> _spools = [];
    private byte[] _buffer;
    private byte[] _copy;
    private int _copyLength;
    private byte[] _stage;
    private byte[] _decoded;
    private int _start;
    private int _end;
    private bool _eof;
    private bool _bomChecked;
    private JsonReaderState _state;
    private Mode _mode;

    /// <summary>How many containers of <see cref="InlineDataPath"/> the JSON reader is inside.</summary>
    private int _pathDepth;
    private bool _pathNameMatched;
    private int _candidateCount;
    private bool _inFirstCandidate;

    /// <summary>Bytes of the resumed JSON reader's input that are the stand-in <c>""</c>, not copied.</summary>
    private int _standIn;
    private int _stageCount;
    private ImageSpool? _dataSpool;

    private GenerateContentReader(Stream stream, string directory)
    {
        _stream = stream;
        _directory = directory;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
        _copy = ArrayPool<byte>.Shared.Rent(CopyBytes);
        _stage = ArrayPool<byte>.Shared.Rent(StageBytes);
        _decoded = ArrayPool<byte>.Shared.Rent(StageBytes / 4 * 3);
        _state = new JsonReaderState(new JsonReaderOptions());
    }

    private enum Mode
    {
        Json,
        DataValue,
        Data,
    }

    /// <summary>Reads the whole body of <paramref name="stream"/>.</summary>
    /// <param name="stream">The response body; read to its end, not disposed.</param>
    /// <param name="directory">Where images larger than <see cref="ImageSpool.MemoryLimitBytes"/> are spooled.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The summary; its image, if any, belongs to the caller. Every other spooled image is already deleted.</returns>
    /// <exception cref="JsonException">The body is not a generateContent response (malformed, cut short, wrong types).</exception>
    public static async Task<GenerateContentSummary> ReadAsync(Stream stream, string directory, CancellationToken cancellationToken)
    {
        using var reader = new GenerateContentReader(stream, directory);
        await reader.ScanAsync(cancellationToken).ConfigureAwait(false);
        var response = JsonSerializer.Deserialize(reader._copy.AsSpan(0, reader._copyLength), GeminiJsonContext.Default.GenerateContentResponse)
            ?? throw new JsonException("The body is not a JSON object.");
        return reader.Summarize(response);
    }

    public void Dispose()
    {
        foreach (var spool in _spools)
        {
            spool.Dispose();
        }

        ArrayPool<byte>.Shared.Return(_buffer);
        ArrayPool<byte>.Shared.Return(_copy);
        ArrayPool<byte>.Shared.Return(_stage);
        ArrayPool<byte>.Shared.Return(_decoded);
    }

    /// <summary>Reads the body to its end, spooling the images and copying the rest.</summary>
    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            switch (_mode)
            {
                case Mode.Json:
                    if (!_bomChecked && !SkipByteOrderMark())
                    {
                        await FillAsync(0, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    ReadJson();
                    if (_mode != Mode.Json)
                    {
                        continue;
                    }

                    if (_eof)
                    {
                        return;
                    }

                    await FillAsync(0, cancellationToken).ConfigureAwait(false);
                    break;
                case Mode.DataValue:
                    while (_start < _end && _buffer[_start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                    {
                        _start++;
                    }

                    if (_start == _end)
                    {
                        await FillOrFailAsync(0, cancellationToken).ConfigureAwait(false);
                    }
                    else if (_buffer[_start] == (byte)'"')
                    {
                        _start++;
                        BeginData();
                    }
                    else
                    {
                        // null (no data) or a value of the wrong type: the deserializer decides.
                        _mode = Mode.Json;
                    }

                    break;
                case Mode.Data:
                    if (!ScanData())
                    {
                        await FillOrFailAsync(Headroom, cancellationToken).ConfigureAwait(false);
                    }

                    break;
            }
        }
    }

    /// <summary>Skips a UTF-8 byte order mark at the start, as JsonSerializer does; false when more bytes are needed.</summary>
    private bool SkipByteOrderMark()
    {
        if (_end - _start < 3 && !_eof)
        {
            return false;
        }

        if (_buffer.AsSpan(_start, _end - _start).StartsWith("\uFEFF"u8))
        {
            _start += 3;
        }

        _bomChecked = true;
        return true;
    }

    private async Task FillOrFailAsync(int headroom, CancellationToken cancellationToken)
    {
        if (_eof)
        {
            throw new JsonException("The body ends inside an inlineData.data string.");
        }

        await FillAsync(headroom, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves the unconsumed bytes to <paramref name="headroom"/>, grows the buffer when they fill it, reads more.</summary>
    private async Task FillAsync(int headroom, CancellationToken cancellationToken)
    {
        var unconsumed = _end - _start;
        if (_start != headroom)
        {
            if (headroom + unconsumed > _buffer.Length)
            {
                Grow(headroom + unconsumed);
            }

            _buffer.AsSpan(_start, unconsumed).CopyTo(_buffer.AsSpan(headroom));
            _start = headroom;
            _end = headroom + unconsumed;
        }

        if (_end == _buffer.Length)
        {
            // One token (a long string outside inlineData.data) is larger than the buffer.
            Grow(_buffer.Length * 2);
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    private void Grow(int atLeast)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(atLeast, _buffer.Length * 2));
        _buffer.AsSpan(0, _end).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    /// <summary>
    /// Reads and copies JSON tokens until the buffer runs out, the body ends, or an <c>inlineData.data</c> string begins.
    /// </summary>
    private void ReadJson()
    {
        var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, _state);
        while (_mode == Mode.Json && reader.Read())
        {
            FollowPath(ref reader);
        }

        var consumed = (int)reader.BytesConsumed;
        var standIn = Math.Min(_standIn, consumed);
        _buffer.AsSpan(_start + standIn, consumed - standIn).CopyTo(Copy(consumed - standIn));
        _standIn -= standIn;
        _start += consumed;
        _state = reader.CurrentState;
    }

    /// <summary>The next <paramref name="length"/> bytes of the copy, to be written.</summary>
    private Span<byte> Copy(int length)
    {
        if (_copyLength + length > _copy.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_copyLength + length, _copy.Length * 2));
            _copy.AsSpan(0, _copyLength).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_copy);
            _copy = larger;
        }

        _copyLength += length;
        return _copy.AsSpan(_copyLength - length, length);
    }

    /// <summary>Tracks whether the reader is inside an inlineData object of a part, and stops at its <c>data</c>.</summary>
    private void FollowPath(ref Utf8JsonReader reader)
    {
        if (reader.CurrentDepth != _pathDepth && reader.TokenType is not (JsonTokenType.EndObject or JsonTokenType.EndArray))
        {
            return;
        }

        switch (reader.TokenType)
        {
            case JsonTokenType.EndObject or JsonTokenType.EndArray:
                if (reader.CurrentDepth == _pathDepth - 1)
                {
                    _pathDepth--;
                }

                break;
            case JsonTokenType.PropertyName when _pathDepth == InlineDataPath.Length:
                if (reader.ValueTextEquals("data"u8))
                {
                    _mode = Mode.DataValue;
                }

                break;
            case JsonTokenType.PropertyName:
                _pathNameMatched = reader.ValueTextEquals(InlineDataPath[_pathDepth].Name);
                break;
            default:
                if (_pathDepth == InlineDataPath.Length)
                {
                    break;
                }

                var (token, name) = InlineDataPath[_pathDepth];
                var entered = reader.TokenType == token && (name is null || _pathNameMatched);
                if (_pathDepth == InCandidates)
                {
                    // An element of the candidates array: only the first one's images are kept.
                    _inFirstCandidate = _candidateCount++ == 0 && entered;
                }

                if (entered && ++_pathDepth == InCandidates)
                {
                    _candidateCount = 0;
                }

                break;
        }
    }

    /// <summary>The rule of the former FromResponse: the last image of candidates[0] wins, a non-thought one first.</summary>
    private GenerateContentSummary Summarize(GenerateContentResponse response)
    {
        var usage = Usage(response.UsageMetadata);
        var blockReason = response.PromptFeedback?.BlockReason;
        if (response.Candidates is not [{ } candidate, ..])
        {
            return new GenerateContentSummary(false, null, null, null, blockReason, usage);
        }

        Part? lastImage = null;
        Part? lastFinalImage = null;
        string? text = null;
        foreach (var part in candidate.Content?.Parts ?? [])
        {
            // A null part is skipped (the code before the streaming reader failed on it with a NullReferenceException).
            if (part is null)
            {
                continue;
            }

            if (part.InlineData?.Data is { Length: > 0 })
            {
                lastImage = part;

                // Gemini 3 models stream interim "thought" images before the final one.
                if (part.Thought != true)
                {
                    lastFinalImage = part;
                }
            }
            else if (part.Text is { Length: > 0 } && part.Thought != true)
            {
                text += part.Text;
            }
        }

        var image = (lastFinalImage ?? lastImage) is { InlineData: { Data: { } handle } blob }
            ? _spools[BinaryPrimitives.ReadInt32LittleEndian(handle)].Complete(blob.MimeType ?? "application/octet-stream")
            : null;
        return new GenerateContentSummary(true, image, text, candidate.FinishReason, blockReason, usage);
    }

    private static GeminiUsage? Usage(UsageMetadata? usage)
    {
        if (usage is null)
        {
            return null;
        }

        if (usage.PromptTokenCount < 0 || usage.CandidatesTokenCount < 0 || usage.TotalTokenCount < 0)
        {
            throw NotAResponse("A usageMetadata token count is not a non-negative integer.");
        }

        return new GeminiUsage(usage.PromptTokenCount, usage.CandidatesTokenCount, usage.TotalTokenCount);
    }

    private void BeginData()
    {
        _mode = Mode.Data;
        _stageCount = 0;
        _dataSpool = null;
        if (_inFirstCandidate)
        {
            _dataSpool = new ImageSpool(_directory);
            _spools.Add(_dataSpool);
        }
    }

    /// <summary>Copies the handle of the string just decoded: its spool's index as base64, or empty.</summary>
    private void EndData()
    {
        var handle = Copy(10);
        handle[0] = (byte)'"';
        var length = 1;
        if (_dataSpool is { Length: > 0 })
        {
            Span<byte> index = stackalloc byte[sizeof(int)];
            BinaryPrimitives.WriteInt32LittleEndian(index, _spools.Count - 1);
            Base64.EncodeToUtf8(index, handle[1..], out _, out var written);
            length += written;
        }

        handle[length++] = (byte)'"';
        _copyLength -= handle.Length - length;
        _dataSpool = null;
    }

    /// <summary>
    /// Consumes the base64 string from <see cref="_start"/>: unescapes, decodes into the spool. True when the closing quote
    /// was reached (the JSON reader then resumes on <c>""</c>); false when more bytes are needed.
    /// </summary>
    private bool ScanData()
    {
        while (_start < _end)
        {
            var rest = _buffer.AsSpan(_start, _end - _start);
            var stop = rest.IndexOfAny((byte)'"', (byte)'\\');
            var run = stop < 0 ? rest : rest[..stop];
            if (run.IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0)
            {
                throw NotAResponse("inlineData.data contains a control character.");
            }

            Stage(run);
            _start += run.Length;
            if (stop < 0)
            {
                return false;
            }

            if (rest[stop] == (byte)'"')
            {
                Decode(isFinalBlock: true);
                EndData();

                // Resume the JSON reader on an empty string ending at the closing quote; the byte before it was consumed.
                _buffer[_start - 1] = (byte)'"';
                _start--;
                _standIn = 2;
                _mode = Mode.Json;
                return true;
            }

            var escape = rest[stop..];
            if (escape.Length < 2 || (escape[1] == (byte)'u' && escape.Length < 6))
            {
                return false;
            }

            Stage([Unescape(escape, out var length)]);
            _start += length;
        }

        return false;
    }

    /// <summary>The byte a JSON escape stands for; any non-ASCII character becomes 0xFF, which base64 rejects.</summary>
    private static byte Unescape(ReadOnlySpan<byte> escape, out int length)
    {
        length = 2;
        switch (escape[1])
        {
            case (byte)'"' or (byte)'\\' or (byte)'/':
                return escape[1];
            case (byte)'b':
                return (byte)'\b';
            case (byte)'f':
                return (byte)'\f';
            case (byte)'n':
                return (byte)'\n';
            case (byte)'r':
                return (byte)'\r';
            case (byte)'t':
                return (byte)'\t';
            case (byte)'u':
                length = 6;
                var value = 0;
                foreach (var digit in escape[2..6])
                {
                    var nibble = digit switch
                    {
                        >= (byte)'0' and <= (byte)'9' => digit - '0',
                        >= (byte)'a' and <= (byte)'f' => digit - 'a' + 10,
                        >= (byte)'A' and <= (byte)'F' => digit - 'A' + 10,
                        _ => throw NotAResponse("inlineData.data has an invalid \\u escape."),
                    };
                    value = (value << 4) | nibble;
                }

                return value < 0x80 ? (byte)value : (byte)0xFF;
            default:
                throw NotAResponse("inlineData.data has an invalid escape.");
        }
    }

    /// <summary>Appends base64 text to the stage, decoding whenever it fills.</summary>
    private void Stage(ReadOnlySpan<byte> text)
    {
        while (!text.IsEmpty)
        {
            var count = Math.Min(text.Length, _stage.Length - _stageCount);
            text[..count].CopyTo(_stage.AsSpan(_stageCount));
            _stageCount += count;
            text = text[count..];
            if (_stageCount == _stage.Length)
            {
                Decode(isFinalBlock: false);
            }
        }
    }

    /// <summary>
    /// Decodes the staged base64 text into the spool and keeps what could not be decoded yet. Before the end of the
    /// string the last four characters are held back: only the final block may carry padding.
    /// </summary>
    private void Decode(bool isFinalBlock)
    {
        var input = _stage.AsSpan(0, isFinalBlock ? _stageCount : Math.Max(0, _stageCount - 4));
        var status = Base64.DecodeFromUtf8(input, _decoded, out var consumed, out var written, isFinalBlock);
        if (status == OperationStatus.InvalidData || (isFinalBlock && (status != OperationStatus.Done || consumed != input.Length)))
        {
            throw NotAResponse("inlineData.data is not valid base64.");
        }

        _dataSpool?.Write(_decoded.AsSpan(0, written));
        _stage.AsSpan(consumed, _stageCount - consumed).CopyTo(_stage);
        _stageCount -= consumed;
        if (!isFinalBlock && _stageCount == _stage.Length)
        {
            throw NotAResponse("inlineData.data is not valid base64.");
        }
    }

    private static JsonException NotAResponse(string message) => new(message);
}
