using TLoRA.Gateway.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using TLoRA.WebUI.Backend;
using TLoRA.WebUI.Components;
using TLoRA.WebUI.Pages;
using TLoRA.WebUI.State;

namespace TLoRA.Gateway.WebUI;

/// <summary>
/// The live regions of the UI's pages, rendered on their own: the browser's ui.js fetches one after hub events
/// for the job (or for any job, on the jobs list) and swaps it in, so every page is rendered by the same components.
/// </summary>
public static class UiFragments
{
    public static void MapUiFragments(this WebApplication app)
    {
        var ui = app.MapGroup("/ui/fragments").ExcludeFromDescription().RequireAuthorization(Scopes.Read);
        ui.MapGet("/jobs", async (IJobBackend backend) =>
        {
            var (jobs, problem) = await Jobs.LoadAsync(backend).ConfigureAwait(false);
            return new RazorComponentResult<JobsTable>(new { Jobs = jobs, Problem = problem });
        });
        ui.MapGet("/jobs/{id}", async Task<IResult> (string id, JobHistory history, CancellationToken ct) =>
        {
            try
            {
                var timeline = await history.LoadAsync(id, ct).ConfigureAwait(false);
                return new RazorComponentResult<JobLive>(new { Timeline = timeline });
            }
            catch (BackendException e)
            {
                return TypedResults.Problem(e.Message, statusCode: e.Status, title: e.Title);
            }
        });
    }
}
