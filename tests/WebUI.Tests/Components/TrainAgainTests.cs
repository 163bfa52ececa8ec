using System.Net;
using System.Net.Http.Json;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;
using TLoRA.Gateway.Api;
using TLoRA.WebUI.Gateway;
using TLoRA.WebUI.Pages;
using TLoRA.WebUI.Tests.State;

namespace TLoRA.WebUI.Tests.Components;

/// <summary>The new-training page against a gateway that answers from memory: it starts from the service's defaults,
/// and "train again" (<c>/train?from=job</c>) fills in every setting and the job's concept image.</summary>
public sealed class TrainAgainTests : IAsyncLifetime
{
    private const string Id = "gpu-1.train-a";
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];
    private static readonly ModelDto Model = new("sdxl-tiny", "StableDiffusionXLPipeline", 64, true, ["a {0}"], 16);
    private static readonly TrainDefaultsDto Defaults = new(
        new TrainSettingsDto(Methods.TLoRA, 8, 4, 1, "last", 300, 50, 0, 1e-4, 0, ["a {0}"], 1, 20, 5, "sks", ""), 1000, 4, 50, 8, 20, 4096, 64, 1024);
    private static readonly TrainSettingsDto Settings = new(Methods.VanillaTLoRA, 6, 2, 3, "middle", 77, 11, 9, 2e-4, 128, ["a {0} at sea"], 2, 15, 6, "zwx", "cat");

    private readonly BunitContext ctx = new();

    public TrainAgainTests()
    {
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(new WebUiOptions()));
        ctx.Services.AddSingleton(new GatewayClient(new HttpClient(new FakeGateway()) { BaseAddress = new Uri("http://gateway.test") }, SignedOutCredentials.Create()));
        ctx.SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo("Server", isInteractive: true)); // the circuit, as in the browser
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await ctx.DisposeAsync();

    [Fact]
    public void Train_again_fills_every_setting_and_the_concept_image()
    {
        var nav = ctx.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        nav.NavigateTo($"/train?from={Uri.EscapeDataString(Id)}");
        var page = ctx.Render<NewTraining>();
        page.WaitForAssertion(() => Assert.Contains($"data:image/png;base64,{Convert.ToBase64String(Png)}", page.Markup, StringComparison.Ordinal));
        Assert.Equal(Settings.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture), page.Find("#steps").GetAttribute("value"));
        Assert.Equal(Settings.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture), page.Find("#rank").GetAttribute("value"));
        Assert.Equal(Settings.CheckpointInterval.ToString(System.Globalization.CultureInfo.InvariantCulture), page.Find("#checkpointInterval").GetAttribute("value"));
    }

    [Fact]
    public void A_new_form_starts_from_the_services_defaults()
    {
        var page = ctx.Render<NewTraining>();
        page.WaitForAssertion(() => Assert.Equal(Defaults.Defaults.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            page.Find("#steps").GetAttribute("value")));
        Assert.Equal(Defaults.Defaults.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture), page.Find("#rank").GetAttribute("value"));
    }

    /// <summary>The page is prerendered on the server before its circuit starts: a click on "Start training" then does
    /// nothing, so the button is disabled until the page is interactive (a browser test's click waits for that too).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Start_training_is_enabled_only_once_the_page_is_interactive(bool interactive)
    {
        ctx.SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo(interactive ? "Server" : "Static", interactive));
        var page = ctx.Render<NewTraining>();
        page.WaitForAssertion(() => Assert.Equal(Defaults.Defaults.Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            page.Find("#steps").GetAttribute("value")));
        Assert.Equal(!interactive, page.Find("#start-training").HasAttribute("disabled"));
    }

    private sealed class FakeGateway : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            HttpResponseMessage Json<T>(T value) => new(HttpStatusCode.OK) { Content = JsonContent.Create(value, options: GatewayClient.Json) };
            return Task.FromResult(path switch
            {
                "/api/models" => Json(new[] { Model }),
                "/api/train/defaults" => Json(Defaults),
                $"/api/jobs/{Id}" => Json(new JobDto(Id, "train", JobStates.Completed, 0, Events.T0, null, null, 9, 77, 77, Model.ModelId, null, null,
                    "zwx", "cat", Methods.VanillaTLoRA, "gpu-1", Settings)),
                $"/api/jobs/{Id}/image" => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Png) },
                _ => new HttpResponseMessage(HttpStatusCode.NotFound),
            });
        }
    }
}
