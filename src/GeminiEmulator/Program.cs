using GenerationWorker.GeminiEmulator;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddGeminiEmulator(EmulatorOptions.FromConfiguration(builder.Configuration));
builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
var app = builder.Build();
app.MapGeminiEmulator();
app.Run();
