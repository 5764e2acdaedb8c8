using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace GenerationWorker.Silo.Operators;

/// <summary>
/// Renders the operator page as one self-contained HTML document that reloads itself every few seconds (no script, no
/// build chain). Every text that comes from a tenant or a silo (client ids, job ids, types, models, errors, silo names)
/// is HTML-encoded.
/// </summary>
public static class JobsPageHtml
{
    /// <summary>How often the page reloads itself, in seconds.</summary>
    public const int RefreshSeconds = 5;

    private const string Style = """
        body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1d2329}h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.6rem}
        table{border-collapse:collapse}th,td{border:1px solid #cfd6dc;padding:.25rem .6rem;text-align:left;vertical-align:top}
        th{background:#eef2f5}td.n{text-align:right;font-variant-numeric:tabular-nums}.paused{color:#a4000f;font-weight:600}
        .muted{color:#6b7680}td.error{max-width:48rem;white-space:pre-wrap;word-break:break-word}
        """;

    /// <summary>The page for <paramref name="page"/>.</summary>
    public static string Render(JobsPage page)
    {
        var jobs = page.Jobs;
        var counts = jobs.Counts;
        var html = new StringBuilder(8192);
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta http-equiv=\"refresh\" content=\"").Append(RefreshSeconds).Append("\">")
            .Append("<title>Generation jobs</title><style>").Append(Style).Append("</style></head><body>")
            .Append("<h1>Generation jobs</h1><p class=\"muted\">As of ").Append(Time(counts.Now))
            .Append(" (database clock), refreshed every ").Append(RefreshSeconds)
            .Append(" s. <a href=\"/dashboard/\">Orleans Dashboard</a></p>");

        html.Append("<h2>Jobs</h2><table id=\"counts\"><tr><th>pending</th><th>due now</th><th>scheduled later</th>")
            .Append("<th>processing</th><th>failed in the last hour</th><th>completed in the last minute</th></tr><tr>")
            .Append(Number("pending", counts.Pending)).Append(Number("pending-due", counts.PendingDue))
            .Append(Number("pending-later", counts.PendingLater)).Append(Number("processing", counts.Processing))
            .Append(Number("failed-last-hour", counts.FailedLastHour)).Append(Number("completed-last-minute", counts.CompletedLastMinute))
            .Append("</tr></table>");

        html.Append("<h2>Gemini budget</h2><table id=\"budgets\"><tr><th>budget</th><th>limit</th><th>window</th><th>in use</th>")
            .Append("<th>sent in window</th><th>free</th><th>paused</th><th>used today</th></tr>");
        foreach (var budget in page.Budgets)
        {
            html.Append("<tr data-budget=\"").Append(Encode(budget.Scope)).Append("\"><td>").Append(Encode(budget.Scope)).Append("</td>");
            if (budget.Limit <= 0)
            {
                html.Append("<td colspan=\"5\">none (MAX_JOBS_PER_MINUTE=0)</td>");
            }
            else
            {
                html.Append(Number("limit", budget.Limit)).Append("<td>").Append(budget.Window.TotalSeconds.ToString(CultureInfo.InvariantCulture)).Append(" s</td>")
                    .Append(Number("in-use", budget.InUse)).Append(Number("sent", budget.SentInWindow))
                    .Append(Number("free", Math.Max(0, budget.Limit - budget.InUse)));
            }

            html.Append(budget.PausedUntil is { } until
                    ? $"<td class=\"paused\" data-figure=\"paused\">paused until {Time(until)}: {Encode(budget.PausedWhy ?? "")}; {counts.PendingDue.ToString(CultureInfo.InvariantCulture)} due jobs wait for it</td>"
                    : "<td data-figure=\"paused\">no</td>")
                .Append(budget.UsedToday is { } today ? Number("used-today", today) : "<td class=\"muted\">not tracked</td>")
                .Append("</tr>");
        }

        html.Append("</table>");

        html.Append("<h2>Clients' shares of the last window</h2><table id=\"shares\"><tr><th>client</th><th>requests</th><th>share</th></tr>");
        foreach (var client in page.Clients)
        {
            html.Append("<tr data-client=\"").Append(Encode(client.Client)).Append("\"><td>").Append(Encode(client.Client)).Append("</td>")
                .Append(Number("requests", client.Requests))
                .Append("<td>").Append((client.Share * 100).ToString("0.#", CultureInfo.InvariantCulture)).Append(" %</td></tr>");
        }

        html.Append("</table>");

        html.Append("<h2>In flight by silo</h2><table id=\"silos\"><tr><th>silo</th><th>name</th><th>in flight</th><th>claiming</th></tr>");
        foreach (var silo in page.Silos)
        {
            html.Append("<tr><td>").Append(Encode(silo.Silo)).Append("</td><td>").Append(Encode(silo.Name)).Append("</td>")
                .Append(Number("in-flight", silo.InFlight)).Append("<td>")
                .Append(silo.Claiming ? "yes" : "no" + (silo.StoppedReason is { } why ? ": " + Encode(why) : ""))
                .Append("</td></tr>");
        }

        html.Append("</table>");

        Groups(html, "by-priority", "By priority", "priority", jobs.ByPriority);
        Groups(html, "by-client", "By client (top 20)", "client", jobs.ByClient);
        Groups(html, "by-model", "By model (top 20; a claim routes a job to its model)", "model", jobs.ByModel);

        html.Append("<h2>Failed in the last hour (latest 20)</h2><table id=\"failures\"><tr><th>failed at</th><th>job</th>")
            .Append("<th>client</th><th>type</th><th>model</th><th>attempts</th><th>error</th></tr>");
        foreach (var failed in jobs.RecentFailures)
        {
            html.Append("<tr><td>").Append(Time(failed.FailedAt)).Append("</td><td>").Append(Encode(failed.Id))
                .Append("</td><td>").Append(Encode(failed.ClientId)).Append("</td><td>").Append(Encode(failed.Type))
                .Append("</td><td>").Append(Encode(failed.Model ?? "")).Append("</td>").Append(Number("attempts", failed.Attempts))
                .Append("<td class=\"error\">").Append(Encode(failed.Error ?? "")).Append("</td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }

    private static void Groups(StringBuilder html, string id, string title, string column, IReadOnlyList<JobGroup> groups)
    {
        html.Append("<h2>").Append(title).Append("</h2><table id=\"").Append(id).Append("\"><tr><th>").Append(column)
            .Append("</th><th>pending</th><th>processing</th></tr>");
        foreach (var group in groups)
        {
            html.Append("<tr><td>").Append(group.Key is null ? "<span class=\"muted\">not routed yet</span>" : Encode(group.Key))
                .Append("</td>").Append(Number("pending", group.Pending)).Append(Number("processing", group.Processing)).Append("</tr>");
        }

        html.Append("</table>");
    }

    private static string Number(string figure, long value) =>
        $"<td class=\"n\" data-figure=\"{figure}\">{value.ToString(CultureInfo.InvariantCulture)}</td>";

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Encode(string text) => HtmlEncoder.Default.Encode(text);
}
