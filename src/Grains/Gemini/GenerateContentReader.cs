using System.Buffers;
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
/// 4K image. So the reader stops at the <c>data</c> property name of an <c>inlineData</c> object, a small scanner
/// consumes the string itself (unescaping and decoding as bytes arrive), and the JSON reader resumes on an empty string
/// <c>""</c> written over the last two bytes of the consumed string, its state unchanged.</para>
/// <para>It accepts and rejects what <c>JsonSerializer</c> did with the former <c>GenerateContentResponse</c> records:
/// the known members must have their declared types (strings, bool, objects, arrays, or null), a repeated member replaces
/// the earlier one, unknown members are skipped, and anything else, including a body cut short, is a
/// <see cref="JsonException"/>.</para>
/// </remarks>
internal sealed class GenerateContentReader : IDisposable
{
    private const int InitialBufferBytes = 64 * 1024;
    private const int StageBytes = 64 * 1024;

    /// <summary>Room kept before the bytes of a base64 string, for the <c>""</c> the JSON reader resumes on.</summary>
    private const int Headroom = 2;

    private readonly Stream _stream;
    private readonly string _directory;
    private readonly Stack<Frame> _frames = new();
    private readonly List<ImageSpool> _spools = [];
    private byte[] _buffer;
    private byte[] _stage;
    private byte[] _decoded;
    private int _start;
    private int _end;
    private bool _eof;
    private bool _bomChecked;
    private JsonReaderState _state;
    private Mode _mode;

    private Member _member;
    private bool _rootDone;
    private int _candidateCount;
    private bool _hasCandidate;
    private bool _collecting;
    private string? _finishReason;
    private string? _blockReason;
    private GeminiUsage? _usage;
    private string? _text;
    private PartState? _part;
    private ImagePart? _lastImage;
    private ImagePart? _lastFinalImage;

    private int _stageCount;
    private ImageSpool? _dataSpool;

    private GenerateContentReader(Stream stream, string directory)
    {
        _stream = stream;
        _directory = directory;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
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

    private enum Frame
    {
        Response,
        Candidates,
        Candidate,
        Content,
        Parts,
        Part,
        InlineData,
        PromptFeedback,
        UsageMetadata,
        Skip,
    }

    private enum Member
    {
        Other,
        Candidates,
        PromptFeedback,
        Content,
        FinishReason,
        Parts,
        Role,
        Text,
        Thought,
        ThoughtSignature,
        InlineData,
        MimeType,
        Data,
        BlockReason,
        UsageMetadata,
        PromptTokenCount,
        CandidatesTokenCount,
        TotalTokenCount,
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
        return await reader.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var spool in _spools)
        {
            spool.Dispose();
        }

        ArrayPool<byte>.Shared.Return(_buffer);
        ArrayPool<byte>.Shared.Return(_stage);
        ArrayPool<byte>.Shared.Return(_decoded);
    }

    private async Task<GenerateContentSummary> RunAsync(CancellationToken cancellationToken)
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
                        return Summary();
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
                        // null (no data) or a value of the wrong type: the JSON reader decides.
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

    /// <summary>Reads JSON tokens until the buffer runs out, the body ends, or an <c>inlineData.data</c> value begins.</summary>
    private void ReadJson()
    {
        var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, _state);
        try
        {
            while (_mode == Mode.Json && reader.Read())
            {
                OnToken(ref reader);
            }
        }
        catch (InvalidOperationException exception)
        {
            // A string that is not valid UTF-8, read where a string is expected.
            throw new JsonException(exception.Message, exception);
        }

        _start += (int)reader.BytesConsumed;
        _state = reader.CurrentState;
    }

    private void OnToken(ref Utf8JsonReader reader)
    {
        var token = reader.TokenType;
        if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
        {
            End(_frames.Pop());
            return;
        }

        if (_frames.Count == 0)
        {
            if (token != JsonTokenType.StartObject)
            {
                throw NotAResponse("The body is not a JSON object.");
            }

            _frames.Push(Frame.Response);
            return;
        }

        var frame = _frames.Peek();
        if (token == JsonTokenType.PropertyName)
        {
            _member = frame == Frame.Skip ? Member.Other : MemberOf(frame, ref reader);
            if (_member == Member.Data)
            {
                _mode = Mode.DataValue;
            }

            return;
        }

        switch (frame)
        {
            case Frame.Skip:
                SkipValue(token);
                break;
            case Frame.Response:
                OnResponseMember(token);
                break;
            case Frame.Candidates:
                OnCandidate(token);
                break;
            case Frame.Candidate:
                OnCandidateMember(token, ref reader);
                break;
            case Frame.Content:
                OnContentMember(token);
                break;
            case Frame.Parts:
                OnPart(token);
                break;
            case Frame.Part:
                OnPartMember(token, ref reader);
                break;
            case Frame.InlineData:
                OnInlineDataMember(token, ref reader);
                break;
            case Frame.PromptFeedback:
                if (_member == Member.BlockReason)
                {
                    _blockReason = String(token, ref reader);
                }
                else
                {
                    SkipValue(token);
                }

                break;
            case Frame.UsageMetadata:
                OnUsageMember(token, ref reader);
                break;
        }
    }

    private void OnUsageMember(JsonTokenType token, ref Utf8JsonReader reader)
    {
        if (_member is not (Member.PromptTokenCount or Member.CandidatesTokenCount or Member.TotalTokenCount))
        {
            SkipValue(token);
            return;
        }

        int? count = token switch
        {
            JsonTokenType.Number when reader.TryGetInt32(out var value) && value >= 0 => value,
            JsonTokenType.Null => null,
            _ => throw NotAResponse("A usageMetadata token count is not a non-negative integer."),
        };
        var usage = _usage ?? new GeminiUsage(null, null, null);
        _usage = _member switch
        {
            Member.PromptTokenCount => usage with { PromptTokens = count },
            Member.CandidatesTokenCount => usage with { CandidatesTokens = count },
            _ => usage with { TotalTokens = count },
        };
    }

    private void OnResponseMember(JsonTokenType token)
    {
        switch (_member)
        {
            case Member.Candidates:
                // A repeated member replaces the earlier one.
                _candidateCount = 0;
                _hasCandidate = false;
                _finishReason = null;
                ResetParts();
                if (token == JsonTokenType.StartArray)
                {
                    _frames.Push(Frame.Candidates);
                }
                else if (token != JsonTokenType.Null)
                {
                    throw NotAResponse("candidates is not an array.");
                }

                break;
            case Member.PromptFeedback:
                _blockReason = null;
                if (token == JsonTokenType.StartObject)
                {
                    _frames.Push(Frame.PromptFeedback);
                }
                else if (token != JsonTokenType.Null)
                {
                    throw NotAResponse("promptFeedback is not an object.");
                }

                break;
            case Member.UsageMetadata:
                // A repeated member replaces the earlier one.
                _usage = token == JsonTokenType.StartObject ? new GeminiUsage(null, null, null) : null;
                Push(token, JsonTokenType.StartObject, Frame.UsageMetadata, "usageMetadata");
                break;
            default:
                SkipValue(token);
                break;
        }
    }

    private void OnCandidate(JsonTokenType token)
    {
        var index = _candidateCount++;
        if (token == JsonTokenType.StartObject)
        {
            _collecting = index == 0;
            _hasCandidate |= index == 0;
            _frames.Push(Frame.Candidate);
        }
        else if (token != JsonTokenType.Null)
        {
            throw NotAResponse("A candidate is not an object.");
        }
    }

    private void OnCandidateMember(JsonTokenType token, ref Utf8JsonReader reader)
    {
        switch (_member)
        {
            case Member.Content:
                if (_collecting)
                {
                    ResetParts();
                }

                Push(token, JsonTokenType.StartObject, Frame.Content, "content");
                break;
            case Member.FinishReason:
                var reason = String(token, ref reader);
                if (_collecting)
                {
                    _finishReason = reason;
                }

                break;
            default:
                SkipValue(token);
                break;
        }
    }

    private void OnContentMember(JsonTokenType token)
    {
        switch (_member)
        {
            case Member.Parts:
                if (_collecting)
                {
                    ResetParts();
                }

                Push(token, JsonTokenType.StartArray, Frame.Parts, "parts");
                break;
            case Member.Role:
                RequireString(token);
                break;
            default:
                SkipValue(token);
                break;
        }
    }

    private void OnPart(JsonTokenType token)
    {
        if (token == JsonTokenType.StartObject)
        {
            _part = new PartState();
            _frames.Push(Frame.Part);
        }
        else if (token != JsonTokenType.Null)
        {
            // A null part is skipped (the former code failed on it with a NullReferenceException).
            throw NotAResponse("A part is not an object.");
        }
    }

    private void OnPartMember(JsonTokenType token, ref Utf8JsonReader reader)
    {
        var part = _part!;
        switch (_member)
        {
            case Member.Text:
                part.Text = String(token, ref reader);
                break;
            case Member.Thought:
                part.Thought = token switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    JsonTokenType.Null => null,
                    _ => throw NotAResponse("thought is not a boolean."),
                };
                break;
            case Member.ThoughtSignature:
                RequireString(token);
                break;
            case Member.InlineData:
                part.ReplaceBlob(token == JsonTokenType.StartObject ? new BlobState() : null);
                Push(token, JsonTokenType.StartObject, Frame.InlineData, "inlineData");
                break;
            default:
                SkipValue(token);
                break;
        }
    }

    private void OnInlineDataMember(JsonTokenType token, ref Utf8JsonReader reader)
    {
        switch (_member)
        {
            case Member.MimeType:
                _part!.Blob!.MimeType = String(token, ref reader);
                break;
            case Member.Data when token == JsonTokenType.String:
                // The "" written over the end of the string the data scanner consumed: the data is recorded already.
                break;
            case Member.Data when token == JsonTokenType.Null:
                _part!.Blob!.ReplaceData(null);
                break;
            case Member.Data:
                throw NotAResponse("inlineData.data is not a string.");
            default:
                SkipValue(token);
                break;
        }
    }

    private void End(Frame frame)
    {
        if (frame == Frame.Part)
        {
            var part = _part!;
            _part = null;
            if (_collecting)
            {
                ApplyPart(part);
            }
            else
            {
                part.ReplaceBlob(null);
            }
        }
        else if (frame == Frame.Response)
        {
            _rootDone = true;
        }
    }

    /// <summary>The rule of the former FromResponse, applied part by part: the last image wins, a non-thought one first.</summary>
    private void ApplyPart(PartState part)
    {
        if (part.Blob?.Data is { Length: > 0 } data)
        {
            var image = new ImagePart(data, part.Blob.MimeType);
            var (previous, previousFinal) = (_lastImage, _lastFinalImage);
            _lastImage = image;

            // Gemini 3 models stream interim "thought" images before the final one.
            if (part.Thought != true)
            {
                _lastFinalImage = image;
            }

            Drop(previous);
            Drop(previousFinal);
            return;
        }

        part.ReplaceBlob(null);
        if (part.Text is { Length: > 0 } && part.Thought != true)
        {
            _text += part.Text;
        }
    }

    private void Drop(ImagePart? image)
    {
        if (image is not null && !ReferenceEquals(image, _lastImage) && !ReferenceEquals(image, _lastFinalImage))
        {
            image.Spool.Dispose();
        }
    }

    private void ResetParts()
    {
        _lastImage?.Spool.Dispose();
        _lastFinalImage?.Spool.Dispose();
        (_lastImage, _lastFinalImage, _text) = (null, null, null);
    }

    private GenerateContentSummary Summary()
    {
        if (!_rootDone)
        {
            throw NotAResponse("The body ends before the response object does.");
        }

        var winner = _lastFinalImage ?? _lastImage;
        var image = winner?.Spool.Complete(winner.MimeType ?? "application/octet-stream");
        return new GenerateContentSummary(_hasCandidate, image, _text, _finishReason, _blockReason, _usage);
    }

    private void BeginData()
    {
        _mode = Mode.Data;
        _stageCount = 0;
        _dataSpool = null;
        if (_collecting && _part?.Blob is not null)
        {
            _dataSpool = new ImageSpool(_directory);
            _spools.Add(_dataSpool);
        }
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
                if (_dataSpool is { } spool)
                {
                    _part!.Blob!.ReplaceData(spool);
                    _dataSpool = null;
                }

                // Resume the JSON reader on an empty string ending at the closing quote; the byte before it was consumed.
                _buffer[_start - 1] = (byte)'"';
                _start--;
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

    private void Push(JsonTokenType token, JsonTokenType expected, Frame frame, string name)
    {
        if (token == expected)
        {
            _frames.Push(frame);
        }
        else if (token != JsonTokenType.Null)
        {
            throw NotAResponse(name + " has the wrong type.");
        }
    }

    private void SkipValue(JsonTokenType token)
    {
        if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            _frames.Push(Frame.Skip);
        }
    }

    /// <summary>Checks that a member declared as a string is one (or null) without reading it.</summary>
    private static void RequireString(JsonTokenType token)
    {
        if (token is not (JsonTokenType.String or JsonTokenType.Null))
        {
            throw NotAResponse("A member declared as a string is not one.");
        }
    }

    private static string? String(JsonTokenType token, ref Utf8JsonReader reader)
    {
        RequireString(token);
        return token == JsonTokenType.Null ? null : reader.GetString();
    }

    private static Member MemberOf(Frame frame, ref Utf8JsonReader reader) => frame switch
    {
        Frame.Response when reader.ValueTextEquals("candidates"u8) => Member.Candidates,
        Frame.Response when reader.ValueTextEquals("promptFeedback"u8) => Member.PromptFeedback,
        Frame.Response when reader.ValueTextEquals("usageMetadata"u8) => Member.UsageMetadata,
        Frame.UsageMetadata when reader.ValueTextEquals("promptTokenCount"u8) => Member.PromptTokenCount,
        Frame.UsageMetadata when reader.ValueTextEquals("candidatesTokenCount"u8) => Member.CandidatesTokenCount,
        Frame.UsageMetadata when reader.ValueTextEquals("totalTokenCount"u8) => Member.TotalTokenCount,
        Frame.Candidate when reader.ValueTextEquals("content"u8) => Member.Content,
        Frame.Candidate when reader.ValueTextEquals("finishReason"u8) => Member.FinishReason,
        Frame.Content when reader.ValueTextEquals("parts"u8) => Member.Parts,
        Frame.Content when reader.ValueTextEquals("role"u8) => Member.Role,
        Frame.Part when reader.ValueTextEquals("text"u8) => Member.Text,
        Frame.Part when reader.ValueTextEquals("thought"u8) => Member.Thought,
        Frame.Part when reader.ValueTextEquals("thoughtSignature"u8) => Member.ThoughtSignature,
        Frame.Part when reader.ValueTextEquals("inlineData"u8) => Member.InlineData,
        Frame.InlineData when reader.ValueTextEquals("mimeType"u8) => Member.MimeType,
        Frame.InlineData when reader.ValueTextEquals("data"u8) => Member.Data,
        Frame.PromptFeedback when reader.ValueTextEquals("blockReason"u8) => Member.BlockReason,
        _ => Member.Other,
    };

    private static JsonException NotAResponse(string message) => new(message);

    /// <summary>An image part of candidates[0] that may still win.</summary>
    private sealed record ImagePart(ImageSpool Spool, string? MimeType);

    /// <summary>The members of one part read so far.</summary>
    private sealed class PartState
    {
        public string? Text { get; set; }

        public bool? Thought { get; set; }

        public BlobState? Blob { get; private set; }

        public void ReplaceBlob(BlobState? blob)
        {
            Blob?.ReplaceData(null);
            Blob = blob;
        }
    }

    /// <summary>The members of one inlineData object read so far; its data spool is owned until the part ends.</summary>
    private sealed class BlobState
    {
        public string? MimeType { get; set; }

        public ImageSpool? Data { get; private set; }

        public void ReplaceData(ImageSpool? data)
        {
            Data?.Dispose();
            Data = data;
        }
    }
}
