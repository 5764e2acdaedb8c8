namespace GenerationWorker.Silo.Configuration;

/// <summary>How log lines are written to stdout.</summary>
public enum LogFormat
{
    /// <summary>One readable line per entry, for a person at a terminal.</summary>
    Text,

    /// <summary>One JSON object per line (timestamp, level, category, message, state fields, scopes), for a log collector.</summary>
    Json,
}
