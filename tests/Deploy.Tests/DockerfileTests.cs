using System.Text.RegularExpressions;
using TLoRA.Deploy.Tests.Support;
using static TLoRA.Deploy.Tests.Support.Manifests;

namespace TLoRA.Deploy.Tests;

/// <summary>The Dockerfiles and the chart agree: each container's command is its image's entrypoint, the user the
/// chart runs as is the image's user, and the image is built by the publish command CI runs (.ci/publish). No Docker
/// engine runs here, so an image build itself is not proven (see README, "Deploy on Kubernetes").</summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string, string, string> Deployables() => new()
    {
        { "src/GpuService/Dockerfile", "StatefulSet", "gpu-service" },
        { "src/Gateway/Dockerfile", "Deployment", "gateway" },
        { "src/WebUI/Dockerfile", "Deployment", "webui" },
    };

    [Theory]
    [MemberData(nameof(Deployables))]
    public async Task The_chart_runs_each_image_as_its_dockerfile_builds_it(string dockerfile, string kind, string component)
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, dockerfile));
        var m = await Helm.RenderAsync();
        var workload = m.One(kind, component);
        var container = Container(workload);

        var entrypoint = Entrypoint().Match(text);
        Assert.True(entrypoint.Success, $"{dockerfile} has no exec-form ENTRYPOINT");
        var command = Strings(container["command"]);
        Assert.Equal(entrypoint.Groups[1].Value.Split(',').Select(s => s.Trim().Trim('"')), command);

        var user = User().Match(text);
        Assert.True(user.Success, $"{dockerfile} sets no numeric USER");
        Assert.Equal(int.Parse(user.Groups[1].Value), (int)container["securityContext"]!["runAsUser"]!);
        Assert.NotEqual(0, int.Parse(user.Groups[1].Value));

        // multi-stage from the .NET SDK, published by the command CI runs
        Assert.Matches(@"FROM mcr\.microsoft\.com/dotnet/sdk:\S+ AS build", text);
        Assert.Contains("bash .ci/publish ", text);
        Assert.True(File.Exists(Path.Combine(Repo.Root, ".ci", "publish")));
    }

    [Fact]
    public void The_gpu_image_builds_the_cuda_backend_on_an_nvidia_cuda_base_and_documents_the_cpu_variant()
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, "src/GpuService/Dockerfile"));
        Assert.Matches(@"ARG TORCH_BACKEND=cuda", text);
        Assert.Matches(@"ARG RUNTIME_BASE=nvidia/cuda:\S+-runtime-", text);
        Assert.Contains("--build-arg TORCH_BACKEND=cpu", text);
        // the backend switch the Dockerfile passes is the one the engine's project reads
        var engine = File.ReadAllText(Path.Combine(Repo.Root, "src/Engine/Engine.csproj"));
        Assert.Contains("'$(TorchBackend)' == 'cuda'", engine);
        Assert.Contains("-p:TorchBackend=", File.ReadAllText(Path.Combine(Repo.Root, ".ci", "publish")));
    }

    [GeneratedRegex(@"^ENTRYPOINT \[(.+)\]\s*$", RegexOptions.Multiline)]
    private static partial Regex Entrypoint();

    [GeneratedRegex(@"^USER (\d+)(:\d+)?\s*$", RegexOptions.Multiline)]
    private static partial Regex User();
}
