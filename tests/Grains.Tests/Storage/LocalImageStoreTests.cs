using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Storage;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>The local directory store on the real file system, in a fresh temporary directory per test.</summary>
public sealed class LocalImageStoreTests : IDisposable
{
    private readonly string _sandbox = Path.Combine(Path.GetTempPath(), "local-store-" + Guid.NewGuid().ToString("N"));
    private readonly RecordingLogger<LocalImageStore> _logger = new();

    public LocalImageStoreTests() => Directory.CreateDirectory(_sandbox);

    private string Root => Path.Combine(_sandbox, "storage");

    public void Dispose() => Directory.Delete(_sandbox, recursive: true);

    [Fact]
    public async Task PutAsync_WritesTheBytesUnderTheKeyAndReturnsThePublicUrl()
    {
        var store = CreateStore();
        var png = TestImages.GeminiPng;
        var key = TestKeys.For("client_1", "job_1", 0, "image/png");

        var url = await store.PutAsync(key, png, "image/png");

        Assert.Equal("http://127.0.0.1:8080/files/clients/client_1/generations/job_1/assets/asset_0.png", url);
        Assert.Equal(png, await File.ReadAllBytesAsync(Path.Combine(Root, "clients", "client_1", "generations", "job_1", "assets", "asset_0.png")));
        Assert.Equal(url, store.PublicUrl(key));
    }

    [Fact]
    public async Task PutAsync_FromAnImageInATemporaryFile_CopiesItWhole()
    {
        var bytes = new byte[(2 << 20) + 3];
        new Random(9).NextBytes(bytes);
        var spool = new ImageSpool(_sandbox);
        spool.Write(bytes);
        using var image = spool.Complete("image/png");
        Assert.True(image.IsFileBacked);
        var store = CreateStore();

        await using (var content = image.OpenRead())
        {
            await store.PutAsync("generations/c/file/0.png", content, "image/png");
        }

        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(Root, "generations", "c", "file", "0.png")));
        image.Dispose();
        Assert.Empty(Directory.GetFiles(_sandbox));
    }

    [Fact]
    public async Task PutAsync_SameKeyAgain_ReplacesTheFileAndLeavesNoTemporaryFiles()
    {
        var store = CreateStore();
        var key = "generations/c/j/0.png";

        await store.PutAsync(key, new byte[] { 1, 2, 3, 4, 5 }, "image/png");
        await store.PutAsync(key, new byte[] { 9, 8 }, "image/png");

        var folder = Path.Combine(Root, "generations", "c", "j");
        Assert.Equal([9, 8], await File.ReadAllBytesAsync(Path.Combine(folder, "0.png")));
        Assert.Equal(["0.png"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task PutAsync_WhileAReaderReads_ReaderSeesOnlyWholeFiles()
    {
        var store = CreateStore();
        var key = "generations/c/j/0.png";
        var path = Path.Combine(Root, "generations", "c", "j", "0.png");
        var small = Enumerable.Repeat((byte)0xAA, 300_000).ToArray();
        var large = Enumerable.Repeat((byte)0xBB, 900_000).ToArray();
        await store.PutAsync(key, small, "image/png");

        using var writing = new CancellationTokenSource();
        var reads = 0;
        var torn = new List<string>();
        var reader = Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                var seen = await File.ReadAllBytesAsync(path);
                reads++;
                if (!(seen.Length == small.Length && seen.All(b => b == 0xAA)) && !(seen.Length == large.Length && seen.All(b => b == 0xBB)))
                {
                    torn.Add($"{seen.Length} bytes");
                }
            }
        });

        for (var i = 0; i < 60; i++)
        {
            await store.PutAsync(key, i % 2 == 0 ? large : small, "image/png");
        }

        await writing.CancelAsync();
        await reader;
        Assert.Empty(torn);
        Assert.True(reads > 0);
        Assert.Equal(small, await File.ReadAllBytesAsync(path));
    }

    [Theory]
    [InlineData("../escape.png")]
    [InlineData("generations/../../escape.png")]
    [InlineData("/tmp/escape.png")]
    [InlineData("generations//x.png")]
    [InlineData("generations/./x.png")]
    [InlineData(".hidden.png")]
    [InlineData("generations\\..\\..\\escape.png")]
    [InlineData("generations/x\0.png")]
    [InlineData("")]
    public async Task PutAsync_KeyOutsideTheDirectory_IsRefusedAndWritesNothing(string key)
    {
        var store = CreateStore();

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(key, new byte[] { 1 }, "image/png"));

        Assert.Empty(Directory.GetFileSystemEntries(_sandbox, "*", SearchOption.AllDirectories));
        Assert.False(File.Exists("/tmp/escape.png"));
    }

    [Theory]
    [InlineData("generations/c/j/0.png", true)]
    [InlineData("generations/%2E%2E/j/0.png", true)]
    [InlineData("..", false)]
    [InlineData("a/../../b", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("a/.tmp", false)]
    public void ResolvePath_KeepsKeysInsideTheRoot(string key, bool inside)
    {
        var path = LocalImageStore.ResolvePath(Root, key);

        if (inside)
        {
            Assert.Equal(Path.Combine(Root, key), path);
        }
        else
        {
            Assert.Null(path);
        }
    }

    [Fact]
    public async Task PutAsync_DirectoryCannotBeCreated_FailsAsWriteFailed()
    {
        await File.WriteAllTextAsync(Root, "a file where the directory should be");
        var store = CreateStore();

        var error = await Assert.ThrowsAsync<ImageStoreException>(() => store.PutAsync("generations/c/j/0.png", new byte[] { 1 }, "image/png"));

        Assert.Equal(ImageStoreFailure.WriteFailed, error.Failure);
        Assert.Equal("generations/c/j/0.png", error.Key);
        Assert.Contains("generations/c/j/0.png", _logger.AllText);
    }

    private LocalImageStore CreateStore() =>
        new(new StorageOptions { Kind = StorageKind.Local, LocalDirectory = Root, PublicUrl = "http://127.0.0.1:8080/files/" }, _logger);
}
